"""Reassurance: a mentee whose message passed its first reminder window unanswered hears that it is not forgotten.

In the same transaction as the mentor's first "your mentee is waiting"
reminder, the mentee gets one short, kind note: the mentor has the message
and has been reminded. Once per waiting message (a done job with a unique
key marks it); never when the mentor is marked away (the away note already
said so), nor when the pairing has closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session, select

from relay import notices
from relay.clock import as_utc
from relay.store import care, jobs
from relay.store.tables import Job, Message, Pairing, Participant, Reminder

JOB_KIND = "reassurance"


def job_key(message_id: int) -> str:
    return f"{JOB_KIND}:{message_id}"


def first_reminder_to_mentor(session: Session, message_id: int, now: datetime) -> Reminder | None:
    """The first reminder just sent to the mentor about their mentee's message, if that is what happened."""
    return session.exec(
        select(Reminder).where(
            Reminder.message_id == message_id, Reminder.level == 1, Reminder.sent_at == now,
            Reminder.message_id == Message.id, Message.pairing_id == Pairing.id,
            Message.sender_id == Pairing.mentee_id, Reminder.recipient_id == Pairing.mentor_id)
    ).first()


def away(mentor: Participant, now: datetime) -> bool:
    return mentor.away_until is not None and as_utc(mentor.away_until) > now


@dataclass
class AfterReminder:
    """The reminder job's handler, then, in the same transaction, the mentee's note when it was the first reminder."""

    reminder: Callable[[Session, Job, datetime], None]
    env: Any
    domain: str
    new_message_id: Callable[[], str]

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        self.reminder(session, job, now)
        message_id = jobs.payload(job).get("message_id")
        if message_id is None or first_reminder_to_mentor(session, int(message_id), now) is None:
            return
        if jobs.record_job(session, job_key(int(message_id)), JOB_KIND, now, {"message_id": int(message_id)}):
            self.reassure(session, int(message_id), now)

    def reassure(self, session: Session, message_id: int, now: datetime) -> None:
        message = session.get(Message, message_id)
        pairing = session.get(Pairing, message.pairing_id) if message and message.pairing_id else None
        if pairing is None or pairing.status not in care.OPEN:
            return
        mentor, mentee = session.get(Participant, pairing.mentor_id), session.get(Participant, pairing.mentee_id)
        if away(mentor, now) or mentee.status != "active" or self._answered(session, pairing, message):
            return
        notices.notify(session, self.env, "reassurance",
                       {"person": mentee.handle, "mentor": mentor.handle, "subject": message.subject or "(no subject)"},
                       person=mentee, kind="notice", domain=self.domain, now=now, masked_id=self.new_message_id(),
                       message_id=message.id)

    @staticmethod
    def _answered(session: Session, pairing: Pairing, message: Message) -> bool:
        return session.exec(select(Message.id).where(
            Message.pairing_id == pairing.id, Message.sender_id == pairing.mentor_id,
            Message.received_at > message.received_at)).first() is not None
