"""A mentee's question to a circle must not go unanswered: watch it, and remind the mentors once.

At intake (inside the accepting transaction) a circle message from a
non-mentor that asks the mentors something plans one job at the end of the
program's response window. The job reminds every active mentor of the
circle, unless one of them has written to the circle since; a Reminder row
per mentor makes the reminder exactly-once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from relay import model
from relay.circles.questions import asks_mentors
from relay.circles.reading import masked_reading
from relay.intake.parse import html_to_text
from relay.notices import notify
from relay.scheduler.reminders import after_quiet, is_quiet
from relay.outbound.message_ids import new_message_id
from relay.store import circles, jobs
from relay.store.tables import Circle, Job, Message, Participant, Program, Reminder

JOB_KIND = "circle-question"
TEMPLATE = "circle_question_reminder"
LEVEL = 1


def job_key(message_id: int) -> str:
    return f"{JOB_KIND}:{message_id}"


def watch_questions(session: Session, stored: model.StoredMessage) -> None:
    """After-store hook: plan the reminder clock for a question to the circle's mentors."""
    if stored.circle_id is None or stored.sender.role is model.Role.MENTOR:
        return
    if stored.verdict.action is model.Action.REJECT:
        return
    inspection = stored.inspection
    text = "\n".join(inspection.texts) or "\n".join(html_to_text(h) for h in inspection.htmls)
    if not asks_mentors(text):
        return
    program = session.get(Program, stored.program_id)
    due = stored.received_at + timedelta(hours=program.response_window_hours if program else 48)
    jobs.ensure_job(session, job_key(stored.id), JOB_KIND, due, {"message_id": stored.id})


class ReminderHandler:
    """Runs one question job inside the scheduler's transaction."""

    def __init__(self, env, domain: str) -> None:
        self.env, self.domain = env, domain

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        message = session.get(Message, jobs.payload(job).get("message_id"))
        # A message still held (or refused) never reached the mentors: nothing to remind of.
        if message is None or message.circle_id is None or message.status in ("held", "rejected", "cancelled"):
            return
        circle = session.get(Circle, message.circle_id)
        mentors = circles.mentors(session, circle.id)
        if circle.status != "active" or circles.mentor_wrote_since(session, circle.id, [m.id for m in mentors], message.received_at):
            return
        asker = session.get(Participant, message.sender_id)
        program = session.get(Program, circle.program_id)
        later: list[datetime] = []
        for mentor in mentors:
            if _reminded(session, message.id, mentor.id):
                continue
            tz = mentor.timezone or (program.timezone if program else "UTC")
            if is_quiet(now, tz, mentor.quiet_start, mentor.quiet_end):
                later.append(after_quiet(now, tz, mentor.quiet_start, mentor.quiet_end))  # not at 3 a.m.
                continue
            delivery_id = self._remind(session, message, circle, asker, mentor, now)
            session.add(Reminder(circle_id=circle.id, message_id=message.id, recipient_id=mentor.id, level=LEVEL,
                                 sent_at=now, delivery_id=delivery_id))
        if later:  # the same job comes back when the first quiet mentor's morning begins
            job.status, job.due_at = "pending", min(later)
        session.flush()

    def _remind(self, session, message: Message, circle: Circle, asker: Participant, mentor: Participant, now) -> int:
        reading = masked_reading(session, message, mentor, self.domain)
        waited = now - message.received_at
        context = {
            "handle": mentor.handle,
            "asker": asker.handle,
            "circle": circle.handle,
            "circle_address": f"{circle.alias}@{self.domain}",
            "subject": reading.subject,
            "text": reading.text,
            "hours": int(waited.total_seconds() // 3600),
        }
        return notify(session, self.env, TEMPLATE, context, person=mentor, kind="reminder", domain=self.domain,
                      now=now, masked_id=new_message_id(self.domain, secrets.token_hex(12)),
                      reply_to=f"{circle.alias}@{self.domain}")


def _reminded(session: Session, message_id: int, recipient_id: int) -> bool:
    row = session.execute(
        select(Reminder.id).where(
            Reminder.message_id == message_id, Reminder.recipient_id == recipient_id, Reminder.level == LEVEL
        )
    ).first()
    return row is not None
