"""Reminder jobs: "your mentee is waiting" at 1x and 2x the response window, then the coordinators."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from relay.care.mailer import Mailer
from relay.scheduler import reminders
from relay.store import care, jobs
from relay.store.tables import Job, Participant, Reminder


def plan_reminders(session: Session, now: datetime) -> list[jobs.Planned]:
    planned = []
    for waiting, rules in care.all_waiting(session):
        step = reminders.next_step(waiting, rules, now)
        if step is not None:
            payload = {"message_id": waiting.message_id, "level": step.level}
            planned.append(jobs.Planned(f"reminder:{waiting.message_id}:{step.level}", "reminder", step.due_at, payload,
                                        move=True))
    return planned


def run_reminder(mail: Mailer, session: Session, job: Job, now: datetime) -> None:
    data = jobs.payload(job)
    state = care.waiting_message(session, int(data["message_id"]))
    if state is None:
        job.status = "cancelled"  # answered, or the pairing closed
        return
    waiting, rules = state
    step = reminders.next_step(waiting, rules, now)
    if step is None or step.level != data["level"]:
        if waiting.away_until and waiting.away_until > now and data["level"] not in waiting.levels_sent:
            job.status, job.due_at = "pending", waiting.away_until  # paused while the reader is away
        else:
            job.status = "cancelled"
        return
    if step.due_at > now:
        job.status, job.due_at = "pending", step.due_at  # not yet (quiet hours, or the clock moved)
        return
    writer, reader = session.get(Participant, waiting.writer_id), session.get(Participant, waiting.reader_id)
    context = dict(writer=writer.handle, writer_alias=mail.alias(writer), reader=reader.handle,
                   subject=waiting.subject or "(no subject)", waited=reminders.waited(waiting.since, now),
                   level=step.level)
    if step.level < reminders.ESCALATION:
        template = "reminder_mentee" if waiting.to_mentee else "reminder_mentor"
        delivery = mail.send(session, template, reader, context, now, kind="reminder")
        _remember(session, waiting, reader.id, step.level, now, delivery)
        return
    staff = care.staff_of(session, reader.program_id, ("coordinator",)) or care.staff_of(
        session, reader.program_id, ("moderator",))
    for person in staff:
        delivery = mail.send(session, "escalation_coordinator", person, context, now, kind="reminder")
        _remember(session, waiting, person.id, step.level, now, delivery)
    if not staff:
        _remember(session, waiting, reader.id, step.level, now, None)  # nobody to tell; the level still counts


def _remember(session: Session, waiting: reminders.Waiting, recipient_id: int, level: int, now: datetime,
              delivery_id: int | None) -> None:
    session.add(Reminder(pairing_id=waiting.pairing_id, message_id=waiting.message_id, recipient_id=recipient_id,
                         level=level, sent_at=now, delivery_id=delivery_id))
    session.flush()


