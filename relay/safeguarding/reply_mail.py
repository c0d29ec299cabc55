"""Answers to safeguarding reply addresses (``safe-<token>``): a coordinator's ``ack``, a guardian's ``yes``/``no``.

RCPT: only a token signed under the relay's secret is accepted; anything
else gets the same answer as an unknown alias. DATA: the sender must pass
sender authentication, and the envelope sender and From must both be the
person the address was sent to, or the answer is refused at SMTP time, so
nobody else is ever answered by mail. Each answer is stored as a message of
kind ``safeguarding`` and carried out in the same transaction.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session

from relay.addresses import normalise
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.recipients import TokenRecipient
from relay.intake.sender import auth_refusal
from relay.model import Inspection
from relay.moderation.commands import new_text
from relay.moderation.notice import message_text
from relay.safeguarding import reply_tokens
from relay.safeguarding import store as safe_store
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import messages

_FIRST_WORDS = re.compile(r"^\W*([A-Za-z]+(?:\s+[A-Za-z]+)?)")

# purpose -> handler(session, answer, token_row) -> Reply; each purpose's module registers its own.
Handler = Callable[[Session, "Answer", Any], Reply]


def first_words(text: str) -> str:
    """The first one or two words of the first non-empty line, lowercased: 'ack', 'yes', 'i agree'."""
    for line in text.strip().split("\n"):
        if line.strip():
            match = _FIRST_WORDS.match(line.strip())
            return " ".join(match[1].lower().split()) if match else ""
    return ""


class SafeguardingRoute:
    gathers: frozenset[str] = frozenset()

    def __init__(self, ctx: IntakeContext, handlers: dict[str, Handler]) -> None:
        self.ctx = ctx
        self.handlers = dict(handlers)  # purpose (urgent | consent) -> what an answer does

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        token = reply_tokens.parse_local_part(target.local)
        if token is None or not reply_tokens.check_token(self.ctx.secret, token):
            return replies.UNKNOWN_RECIPIENT
        if txn.recipients:
            return replies.SEPARATE_MESSAGE
        txn.recipients.append(TokenRecipient(token))
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes, inspection: Inspection) -> Reply:
        ctx = self.ctx
        auth = await ctx.sender_check.verify(raw, txn.mail_from, txn.peer, txn.helo)
        refusal = auth_refusal(auth, strict=True)  # an answer changes things: only a proven sender
        if refusal is not None:
            return refusal
        text = new_text(inspection)
        if normalise(inspection.from_address) != normalise(txn.mail_from):
            return replies.NOT_ADDRESSEE
        answer = Answer(self, txn, raw, inspection, first_words(text), ctx.clock.now())
        reply = await ctx.writer.submit(answer)
        ctx.wake_outbound()
        return reply


class Answer:
    """The one transaction for an answer to a safeguarding reply address (runs on the writer thread)."""

    def __init__(self, route: SafeguardingRoute, txn: Transaction, raw: bytes, inspection, words: str, now: datetime):
        self.route, self.txn, self.raw, self.inspection, self.words, self.now = route, txn, raw, inspection, words, now
        first = txn.recipients[0]
        assert isinstance(first, TokenRecipient)
        self.token = first.token
        self.sender = normalise(txn.mail_from)

    def __call__(self, session: Session) -> Reply:
        row = safe_store.get_token(session, reply_tokens.token_hash(self.token))
        handler = self.route.handlers.get(row.purpose) if row is not None else None
        if handler is None:
            return replies.NOT_ADDRESSEE
        return handler(session, self, row)

    def store(self, session: Session, program_id: int | None, sender_id: int | None) -> str:
        """Keep the answer itself, as every message is kept; returns its reference."""
        message_id = messages.insert_message(
            session, program_id=program_id, kind="safeguarding", sender_id=sender_id,
            envelope_from=self.txn.mail_from, envelope_rcpts=self.txn.rcpt_addresses, peer=self.txn.peer,
            helo=self.txn.helo[:255], received_at=self.now, original_message_id=self.inspection.message_id[:998],
            in_reply_to=self.inspection.in_reply_to, references=self.inspection.references,
            subject=self.inspection.subject, body_text=message_text(self.inspection)[:100_000], raw=self.raw,
            status="stored", verdict="deliver",
        )
        return f"M{message_id}"
