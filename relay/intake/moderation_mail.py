"""A moderator's reply to a notice: check the token and the sender, apply the answer, confirm it.

RCPT: only a well-formed token under the relay's secret is accepted; any
other ``mod-`` address gets the same reply as an unknown alias, before the
store is asked anything. DATA: the sender (envelope and From) must be an
active moderator who passes sender authentication, or the message is
refused at SMTP time, so a stranger never gets an answer by email (no
backscatter). A known moderator always gets one: the confirmation, or why
nothing was done (the token is unknown, someone else's, already used or
expired). The token must be unused and unexpired and issued to that very
moderator. Answers that change or record something use the token up;
``help`` and replies that are not understood leave it usable. Every reply
is stored as a message of kind ``moderation`` and every outcome is recorded.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from relay import model, notices
from relay.addresses import normalise
from relay.clock import as_utc
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.recipients import TokenRecipient
from relay.intake.sender import auth_refusal
from relay.moderation import actions
from relay.moderation.commands import ModerationCommand, parse_moderation_reply
from relay.moderation.notice import NoticePlanner, message_text
from relay.moderation.tokens import check_token, moderation_local_part, parse_moderation_local_part, token_hash
from relay.outbound.message_ids import new_message_id
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import messages, moderation
from relay.store.tables import Message, ModerationToken, Participant

_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_OUTCOME_WORDS = {"done": "done", "noop": "nothing to do", "refused": "refused"}
# Answers that leave the token usable: nothing was changed or recorded on the message.
_KEEPS_TOKEN = frozenset({"help", "unknown"})


class ModerationRoute:
    gathers: frozenset[str] = frozenset()

    def __init__(self, ctx: IntakeContext, planner: NoticePlanner) -> None:
        self.ctx = ctx
        self.planner = planner

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        token = parse_moderation_local_part(target.local)
        if token is None or not check_token(self.ctx.secret, token):
            return replies.UNKNOWN_RECIPIENT
        if txn.recipients:
            return replies.SEPARATE_MESSAGE  # one answer to one notice per message
        txn.recipients.append(TokenRecipient(token))
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        ctx = self.ctx
        auth = await ctx.sender_check.verify(raw, txn.mail_from, txn.peer, txn.helo)
        refusal = auth_refusal(auth, strict=True)  # an answer changes things: only a proven sender
        if refusal is not None:
            return refusal
        command = parse_moderation_reply(inspection)
        answer = _Answer(self, txn, raw, inspection, command, ctx.clock.now())
        reply = await ctx.writer.submit(answer)
        ctx.wake_outbound()
        return reply


class _Answer:
    """The one transaction for a moderator's reply (runs on the writer thread)."""

    def __init__(self, route: ModerationRoute, txn: Transaction, raw: bytes, inspection: model.Inspection,
                 command: ModerationCommand, now: datetime) -> None:
        self.route, self.txn, self.raw, self.inspection, self.command, self.now = route, txn, raw, inspection, command, now
        first = txn.recipients[0]
        assert isinstance(first, TokenRecipient)
        self.token = first.token
        self.address = f"{moderation_local_part(self.token)}@{route.ctx.domain}"

    def __call__(self, session: Session) -> Reply:
        row = moderation.get_token(session, token_hash(self.token))
        moderator = self._moderator(session, row)
        if moderator is None:
            if row is not None:
                self._record(session, row.message_id, None, self.txn.mail_from, "refused", "answer from someone who is not its moderator")
            return replies.NOT_A_MODERATOR
        reference = self._store_reply(session, moderator)
        problem = self._token_problem(row, moderator)
        if problem:
            self._record(session, row.message_id if row else None, moderator.id, moderator.email, "refused", problem)
            self._confirm(session, moderator, row.message_id if row else None, "answer not applied", problem)
            return replies.accepted(reference)
        verb, argument = self.command.verb, self.command.argument
        if verb not in _KEEPS_TOKEN and not moderation.use_token(session, row.token_hash, self.now):
            problem = "This reply address was used a moment ago; your answer was not applied."
            self._confirm(session, moderator, row.message_id, "answer not applied", problem)
            return replies.accepted(reference)
        result = actions.apply(session, self._desk(), message_id=row.message_id, verb=verb, argument=argument,
                               actor_id=moderator.id, actor=moderator.email, via="email")
        reply_to = self.address if verb in _KEEPS_TOKEN else self.route.planner.issue_token(session, row.message_id, moderator.id, self.now)
        title = f"M{row.message_id}: {verb} - {_OUTCOME_WORDS[result.outcome]}"
        self._confirm(session, moderator, row.message_id, title, result.text, reply_to)
        return replies.accepted(reference)

    def _moderator(self, session: Session, row: ModerationToken | None) -> Participant | None:
        """The active moderator who sent this (envelope and From agree), preferring the token's own."""
        sender = normalise(self.txn.mail_from)
        if not sender or normalise(self.inspection.from_address) != sender:
            return None
        candidates = moderation.moderators_by_email(session, sender)
        if row is not None:
            for person in candidates:
                if person.id == row.moderator_id:
                    return person
            message = session.get(Message, row.message_id)
            for person in candidates:
                if message is not None and person.program_id == message.program_id:
                    return person
        return candidates[0] if candidates else None

    def _token_problem(self, row: ModerationToken | None, moderator: Participant) -> str:
        if row is None:
            return "This reply address is not one the relay issued (or it was removed); nothing was done."
        if row.moderator_id != moderator.id:
            return (f"This reply address belongs to a notice sent to another moderator, so your answer to "
                    f"M{row.message_id} was not applied. Answer from your own notice.")
        if row.used_at is not None:
            return (f"This reply address was already used at {as_utc(row.used_at):%Y-%m-%d %H:%M} UTC; each one works "
                    f"once, so this answer to M{row.message_id} was not applied. Reply to the latest confirmation instead.")
        if as_utc(row.expires_at) <= self.now:
            return (f"This reply address expired at {as_utc(row.expires_at):%Y-%m-%d %H:%M} UTC, so your answer to "
                    f"M{row.message_id} was not applied. Ask a coordinator to act with relayctl mod.")
        return ""

    def _store_reply(self, session: Session, moderator: Participant) -> str:
        message_id = messages.insert_message(
            session,
            program_id=moderator.program_id,
            kind="moderation",
            sender_id=moderator.id,
            envelope_from=self.txn.mail_from,
            envelope_rcpts=self.txn.rcpt_addresses,
            peer=self.txn.peer,
            helo=self.txn.helo[:255],
            received_at=self.now,
            original_message_id=self.inspection.message_id[:998],
            in_reply_to=self.inspection.in_reply_to,
            references=self.inspection.references,
            subject=self.inspection.subject,
            body_text=message_text(self.inspection)[:100_000],
            raw=self.raw,
            status="stored",
            verdict="deliver",
        )
        return f"M{message_id}"

    def _record(self, session: Session, message_id: int | None, actor_id: int | None, actor: str, outcome: str, why: str) -> None:
        verb = self.command.verb if self.command.verb in actions.VERBS else "unknown"
        moderation.record_action(session, message_id=message_id, actor_id=actor_id, actor=actor, action=verb,
                                 argument=f"{self.command.argument}\n[{why}]".strip(), via="email", at=self.now,
                                 outcome=outcome)

    def _desk(self) -> actions.Desk:
        ctx = self.route.ctx
        return actions.Desk(env=self.route.planner.env, domain=ctx.domain, now=self.now,
                            new_message_id=lambda: new_message_id(ctx.domain, ctx.token()), lifetime=ctx.lifetime)

    def _confirm(self, session: Session, moderator: Participant, message_id: int | None, title: str, text: str,
                 reply_to: str = "") -> None:
        ctx = self.route.ctx
        in_reply_to = self.inspection.message_id if _MESSAGE_ID.fullmatch(self.inspection.message_id or "") else ""
        notices.notify(
            session, self.route.planner.env, "moderation_answer",
            {"moderator": moderator.handle, "title": title, "text": text, "message_id": message_id, "reply_to": reply_to},
            person=moderator, kind="confirmation", domain=ctx.domain, now=self.now,
            masked_id=new_message_id(ctx.domain, ctx.token()), message_id=message_id,
            from_name="mentor-relay moderation", reply_to=reply_to, in_reply_to=in_reply_to,
        )
