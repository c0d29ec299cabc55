"""Mail to a bounce address (VERP): delivery reports, out-of-office replies and read receipts.

RCPT: the address must carry a valid, unexpired HMAC tag for a delivery
that exists; anything else gets exactly the reply an unknown alias gets,
so bounce addresses cannot be probed or forged. DATA: the message is
stored (kind ``bounce``) with an event linking it to its delivery, in one
committed transaction before the 250. A report that the copy failed marks
it failed and tells its sender privately; an out-of-office reply becomes a
short note written by the relay to the other participant (at most one per
pairing every few days), never the reply itself; read receipts are only
stored. Nothing here ever answers the machine that wrote to us.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.recipients import BounceRecipient
from relay import model
from relay.addresses import parse_bounce_local_part
from relay.notices import notify
from relay.outbound.failure import plan_failure_notice
from relay.outbound.message_ids import new_message_id
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import messages, queue
from relay.store.tables import Delivery, Message, Participant

NOTE_KIND = "autoreply-note"
NOTE_EVERY = timedelta(days=3)  # one "they are away" note per pairing and direction
MAX_AGE_DAYS = 30  # a bounce address older than this is refused like an unknown one
ROLE_WORDS = {"mentor": "your mentor's", "mentee": "your mentee's"}


@dataclass(frozen=True)
class Report:
    """What the returned message is, decided before the store is touched."""

    kind: str  # dsn | autoreply | mdn | message
    action: str = ""  # a DSN's action: failed, delayed, delivered, relayed, expanded
    status: str = ""  # a DSN's status code, e.g. 5.1.1
    subject: str = ""
    message_id: str = ""


def read_report(inspection: model.Inspection) -> Report:
    """Pure: what the returned message is and, for a DSN, its first recipient's action and status."""
    action, status = inspection.dsn
    return Report(inspection.auto_kind or "message", action, status, inspection.subject[:500], inspection.message_id[:998])


class BounceRoute:
    gathers: frozenset[str] = frozenset()

    def __init__(self, ctx: IntakeContext, templates: Any) -> None:
        self.ctx = ctx
        self.templates = templates

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        today = int(self.ctx.clock.now().timestamp() // 86400)
        delivery_id = parse_bounce_local_part(self.ctx.secret, target.local, today, MAX_AGE_DAYS)
        if delivery_id is None:
            return replies.UNKNOWN_RECIPIENT
        if await self.ctx.db.run(lambda s: queue.get_delivery(s, delivery_id)) is None:
            return replies.UNKNOWN_RECIPIENT
        if BounceRecipient(delivery_id) not in txn.recipients:
            txn.recipients.append(BounceRecipient(delivery_id))
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        report = read_report(inspection)
        now = self.ctx.clock.now()
        message_id, queued = await self.ctx.writer.submit(lambda s: self._store(s, txn, raw, report, now))
        if queued:
            self.ctx.wake_outbound()
        return replies.accepted(f"M{message_id}")

    def _store(self, session: Session, txn: Transaction, raw: bytes, report: Report, now: datetime) -> tuple[int, int]:
        """The one transaction: the message, one event per delivery, and any notice it calls for."""
        first = session.get(Delivery, _delivery_ids(txn)[0])
        original = session.get(Message, first.message_id) if first and first.message_id else None
        message_id = messages.insert_message(
            session,
            program_id=original.program_id if original else None,
            kind="bounce",
            envelope_from=txn.mail_from,
            envelope_rcpts=txn.rcpt_addresses,
            peer=txn.peer,
            helo=txn.helo[:255],
            received_at=now,
            original_message_id=report.message_id,
            subject=report.subject,
            raw=raw,
            status="stored",
        )
        queued = 0
        for delivery_id in _delivery_ids(txn):
            detail = f"{report.action} {report.status}".strip() if report.kind == "dsn" else report.kind
            queue.add_inbound_event(
                session, delivery_id=delivery_id, message_id=message_id, kind=report.kind[:16], at=now, detail=detail
            )
            queued += self._act(session, delivery_id, report, now) is not None
        return message_id, queued

    def _act(self, session: Session, delivery_id: int, report: Report, now: datetime) -> int | None:
        ctx = self.ctx
        common = dict(domain=ctx.domain, now=now, token=ctx.token, lifetime=ctx.notice_lifetime)
        if report.kind == "dsn" and report.action == "failed":
            reason = f"delivery status notification: failed {report.status}".strip()
            if queue.fail_by_report(session, delivery_id, now, reason):
                return plan_failure_notice(session, self.templates, delivery_id, **common)
        if report.kind == "autoreply":
            return plan_away_note(session, self.templates, delivery_id, **common)
        return None  # delayed or delivered reports, read receipts, anything else: stored only


def _delivery_ids(txn: Transaction) -> list[int]:
    return [r.delivery_id for r in txn.recipients if isinstance(r, BounceRecipient)]


def plan_away_note(
    session: Session, env: Any, delivery_id: int, *, domain: str, now: datetime, token, lifetime: timedelta
) -> int | None:
    """Tell the sender of a forwarded copy that its recipient's mailbox says they are away.

    Written by the relay from handles and the sender's own subject: nothing
    of the auto-reply (which may carry a real name, employer or phone
    number) is passed on.
    """
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.kind != "forward" or delivery.message_id is None:
        return None
    message = session.get(Message, delivery.message_id)
    sender = session.get(Participant, message.sender_id) if message and message.sender_id else None
    away = session.get(Participant, delivery.recipient_id) if delivery.recipient_id else None
    if sender is None or away is None or sender.status != "active":
        return None
    if queue.recent_delivery_of_kind(session, NOTE_KIND, sender.id, message.pairing_id, now - NOTE_EVERY):
        return None
    context = {
        "handle": sender.handle,
        "other": away.handle,
        "whose": ROLE_WORDS.get(away.role, f"{away.handle}'s"),
        "subject": message.subject.strip() or "(no subject)",
    }
    return notify(
        session, env, "autoreply_note", context, person=sender, kind=NOTE_KIND, domain=domain, now=now,
        masked_id=new_message_id(domain, token()), lifetime=lifetime, message_id=message.id, null_sender=True,
        in_reply_to=message.original_message_id,
    )
