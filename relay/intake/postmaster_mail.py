"""Mail to postmaster@ (and the bare ``<postmaster>``): accepted from anyone, read by staff.

RFC 5321 4.5.1 requires the address, and the people who write to it (a
remote mail administrator reporting abuse, a parent who cannot reach
anyone) are by nature not enrolled. The message is stored as it came
(kind ``postmaster``) and each coordinator of the program gets a notice
written by the relay, carrying a short plain-text excerpt. Nothing goes
back to the sender, so no coordinator's address is ever shown to them.
A flood to postmaster is still stored, but past ``notices_per_hour`` the
coordinators are not paged again until the hour has passed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from relay import model
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.parse import html_to_text
from relay.intake.recipients import AddressRecipient
from relay.intake.throttle import WindowCounter
from relay.notices import notify
from relay.outbound.message_ids import new_message_id
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import directory, messages
from relay.store.tables import Program

NOTICE_KIND = "postmaster-notice"
EXCERPT_CHARS = 4000


class PostmasterRoute:
    gathers: frozenset[str] = frozenset()

    def __init__(self, ctx: IntakeContext, templates: Any, program: str = "default", notices_per_hour: int = 20) -> None:
        self.ctx = ctx
        self.templates = templates
        self.program = program
        self.paged = WindowCounter(notices_per_hour)

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        txn.recipients.append(AddressRecipient(target.address))
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        ctx = self.ctx
        now = ctx.clock.now()
        notify = not self.paged.exceeded("postmaster", now)
        if notify:
            self.paged.hit("postmaster", now)
        store = _Store(self, txn, raw, inspection, now, notify)
        message_id = await ctx.writer.submit(store)
        ctx.wake_outbound()
        return replies.postmaster_accepted(f"M{message_id}")


def excerpt(inspection: model.Inspection) -> str:
    """A bounded plain-text view for staff: the first text part, else the HTML as text."""
    if inspection.texts:
        text = inspection.texts[0]
    elif inspection.htmls:
        text = html_to_text(inspection.htmls[0])
    else:
        text = ""
    text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
    return text[:EXCERPT_CHARS] + ("\n[…]" if len(text) > EXCERPT_CHARS else "")


class _Store:
    """One transaction: the message as received, and a notice per coordinator."""

    def __init__(self, route: PostmasterRoute, txn, raw: bytes, inspection, now: datetime, notify: bool) -> None:
        self.route, self.txn, self.raw, self.inspection, self.now, self.notify = route, txn, raw, inspection, now, notify

    def __call__(self, session: Session) -> int:
        route, txn, inspection = self.route, self.txn, self.inspection
        program = session.exec(select(Program).where(Program.name == route.program)).first()
        message_id = messages.insert_message(
            session,
            program_id=program.id if program else None,
            kind="postmaster",
            envelope_from=txn.mail_from[:320],
            envelope_rcpts=txn.rcpt_addresses,
            peer=txn.peer[:100],
            helo=txn.helo[:255],
            received_at=self.now,
            original_message_id=inspection.message_id[:998],
            subject=inspection.subject,
            body_text=excerpt(inspection),
            raw=self.raw,
            status="stored",
            verdict=model.Action.HOLD.value,
        )
        if program is not None and self.notify:
            for coordinator in directory.staff(session, program.id, model.Role.COORDINATOR):
                self._notice(session, coordinator, message_id)
        return message_id

    def _notice(self, session: Session, coordinator, message_id: int) -> None:
        ctx = self.route.ctx
        notify(
            session,
            self.route.templates,
            "postmaster_notice",
            {
                "handle": coordinator.handle,
                "reference": f"M{message_id}",
                "envelope_from": one_line(self.txn.mail_from) or "<> (the null sender)",
                "from_header": one_line(self.inspection.from_address) or "(none)",
                "peer": one_line(self.txn.peer),
                "subject": one_line(self.inspection.subject) or "(no subject)",
                "excerpt": excerpt(self.inspection),
                "problems": list(self.inspection.problems),
            },
            person=coordinator,
            kind=NOTICE_KIND,
            domain=ctx.domain,
            now=self.now,
            masked_id=new_message_id(ctx.domain, ctx.token()),
            message_id=message_id,
        )


def one_line(text: str, limit: int = 200) -> str:
    """A header-safe, bounded single line from text an outsider wrote."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]
