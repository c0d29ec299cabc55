"""Guardians' copies: with ``guardian_copy = full`` a masked copy of every message to or from their child,
with ``summary`` a weekly note of counts and dates, no content.

A full copy is a delivery of kind ``guardian`` on the ordinary queue,
masked exactly as the child's own copy is (the mentor appears only by
handle and alias), rendered when the message is stored and held with it
when it is held, so it is released, redacted or purged with the message.
Copies go only to a guardian whose consent is given, or to any guardian
when the program does not ask for consent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import func
from sqlmodel import Session, select

from relay import model, notices
from relay.outbound.jobs import mask_context
from relay.outbound.rewrite import build_masked_copy
from relay.safeguarding import store as safe_store
from relay.safeguarding.consent import GuardianAddress
from relay.safeguarding.settings import safeguarding
from relay.store import jobs
from relay.store.tables import Delivery, Guardian, Job, Message, Pairing, Participant, Program

COPY_KIND = "guardian"
SUMMARY_JOB = "guardian-summary"


def receives(guardian: Guardian | None, settings) -> bool:
    """Whether this guardian gets copies or summaries at all (pure)."""
    if guardian is None or guardian.consent == "refused":
        return False
    return guardian.consent == "given" or settings.guardian_consent == "off"


def guardian_copy(session: Session, message: Message, guardian: Guardian, child: Participant, masked_id: str,
                  domain: str, raw: bytes | None = None) -> bytes:
    """The child's masked copy, addressed to the guardian."""
    view = Delivery(recipient_id=child.id, rcpt_email=child.email, masked_message_id=masked_id,
                    created_at=message.received_at, next_attempt_at=message.received_at, expires_at=message.received_at)
    mask = mask_context(session, message, view, domain)
    mask = dataclasses.replace(mask, recipient_email=guardian.email, recipient_handle=f"{child.handle}'s family",
                               extra_headers=mask.extra_headers + (("X-Mentor-Relay-Copy", "guardian"),))
    return build_masked_copy(message.raw if raw is None else raw, mask)


@dataclass
class GuardianCopies:
    """After-store step: queue the full copy for the child's guardian, held when the message is held."""

    domain: str
    new_message_id: Callable[[], str]
    lifetime: timedelta = timedelta(days=5)

    def apply(self, session: Session, stored: model.StoredMessage, guardian: Guardian) -> None:
        settings = safeguarding(session.get(Program, stored.program_id))
        if settings.guardian_copy != "full" or not receives(guardian, settings):
            return
        message = session.get(Message, stored.id)
        child = session.get(Participant, guardian.participant_id)
        masked_id = self.new_message_id()
        content = guardian_copy(session, message, guardian, child, masked_id, self.domain)
        notices.enqueue(session, content=content, rcpt_email=guardian.email, recipient_id=None, kind=COPY_KIND,
                        masked_message_id=masked_id, now=stored.received_at, lifetime=self.lifetime,
                        message_id=stored.id, null_sender=True, status="held" if message.status == "held" else "queued")


def week_start(now: datetime) -> datetime:
    """Monday 08:00 UTC of ``now``'s week (pure)."""
    monday = (now - timedelta(days=now.weekday())).date()
    return datetime.combine(monday, time(8), tzinfo=timezone.utc)


def plan_summaries(session: Session, now: datetime) -> list[jobs.Planned]:
    """Planner: one weekly summary per guardian in a program with ``guardian_copy = summary``."""
    due, planned = week_start(now), []
    for guardian, child, program in session.exec(
        select(Guardian, Participant, Program).where(Guardian.participant_id == Participant.id,
                                                     Participant.program_id == Program.id, Participant.status == "active")
    ):
        settings = safeguarding(program)
        if settings.guardian_copy == "summary" and receives(guardian, settings):
            planned.append(jobs.Planned(f"{SUMMARY_JOB}:{guardian.id}:{due.date()}", SUMMARY_JOB, due,
                                        {"guardian_id": guardian.id, "until": due.isoformat()}))
    return planned


@dataclass
class SummaryHandler:
    """The week's counts and dates for one guardian; nothing is sent for a quiet week."""

    env: Any
    domain: str
    new_message_id: Callable[[], str]

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        values = jobs.payload(job)
        guardian = session.get(Guardian, values.get("guardian_id"))
        if guardian is None:
            return
        child = session.get(Participant, guardian.participant_id)
        until = datetime.fromisoformat(values["until"])
        since = until - timedelta(days=7)
        pairings = select(Pairing.id).where(Pairing.mentee_id == child.id)
        rows = session.exec(
            select(Message.sender_id, func.date(Message.received_at)).where(
                Message.pairing_id.in_(pairings), Message.kind == "participant",
                Message.received_at >= since, Message.received_at < until)
        ).all()
        if not rows:
            return
        sent = sum(1 for sender, _ in rows if sender == child.id)
        days = sorted({str(day) for _, day in rows})
        context = {"child": child.handle, "sent": sent, "received": len(rows) - sent, "days": days,
                   "since": f"{since:%Y-%m-%d}", "until": f"{until - timedelta(days=1):%Y-%m-%d}"}
        notices.notify(session, self.env, "guardian_summary", context, person=GuardianAddress(guardian, child),
                       kind=COPY_KIND, domain=self.domain, now=now, masked_id=self.new_message_id())


def redacted_copies(session: Session, message: Message, raw: bytes, domain: str) -> None:
    """Redaction reaches the guardian's held copy too."""
    held = session.exec(select(Delivery).where(Delivery.message_id == message.id, Delivery.kind == COPY_KIND,
                                               Delivery.status == "held")).all()
    pairing = session.get(Pairing, message.pairing_id) if message.pairing_id else None
    guardian = safe_store.guardian_of(session, pairing.mentee_id) if pairing else None
    if guardian is None:
        return
    child = session.get(Participant, pairing.mentee_id)
    for delivery in held:
        delivery.content = guardian_copy(session, message, guardian, child, delivery.masked_message_id, domain, raw)
        session.add(delivery)




@dataclass
class GuardianSteps:
    """One after-store step for both: a single guardian lookup per message (most mentees have none)."""

    hold: Any  # relay.safeguarding.consent.ConsentHold
    copies: GuardianCopies

    def __call__(self, session: Session, stored: model.StoredMessage) -> None:
        if stored.verdict.action is model.Action.REJECT or stored.pairing_id is None:
            return
        guardian = safe_store.guardian_of_pairing(session, stored.pairing_id)
        if guardian is None:
            return
        self.hold.apply(session, stored, guardian)  # first: a copy of a held message is held with it
        self.copies.apply(session, stored, guardian)
