"""Care, wired in: reminder, digest and closure jobs, the service address, away notes and closed aliases.

Planners run inside every scheduler tick and only write ``Job`` rows;
handlers run one claimed job in one transaction and queue relay-written
notices on the ordinary outbound path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from relay import notices
from relay.outbound.message_ids import new_message_id
from relay.scheduler import closure, digests, reminders
from relay.store import care, directory, jobs
from relay.store.tables import Delivery, Job, Pairing, Participant, Program, Reminder


@dataclass
class Mailer:
    """Renders a template for one participant and queues it in the caller's transaction."""

    env: Any
    domain: str

    def send(self, session: Session, template: str, person: Participant, context: dict, now: datetime, *,
             kind: str = "notice", attachments=(), in_reply_to: str = "") -> int:
        return notices.notify(
            session, self.env, template, {"person": person.handle, **context}, person=person, kind=kind,
            domain=self.domain, now=now, masked_id=new_message_id(self.domain, secrets.token_hex(12)),
            attachments=attachments, in_reply_to=in_reply_to,
        )

    def alias(self, person: Participant) -> str:
        return f"{person.alias}@{self.domain}"


def install(relay) -> None:
    from relay.intake.service_mail import ServiceRoute, away_note_hook

    mail = Mailer(relay.templates, relay.settings.domain)
    scheduler = relay.scheduler
    scheduler.add_planner(plan_reminders)
    scheduler.add_planner(plan_closures)
    scheduler.add_planner(plan_digests)
    scheduler.add_handler("reminder", lambda s, job, now: run_reminder(mail, s, job, now))
    scheduler.add_handler("digest", lambda s, job, now: run_digest(mail, s, job, now))
    scheduler.add_handler("closure-notice", lambda s, job, now: run_closure_notice(mail, s, job, now))
    scheduler.add_handler("closure", lambda s, job, now: run_closure(mail, s, job, now))
    scheduler.after_tick.append(relay.worker.wake)
    relay.routes["service"] = ServiceRoute(relay.intake_ctx, mail)
    relay.intake_ctx.after_store.append(away_note_hook(mail))
    participant_route = relay.routes.get("participant")
    if participant_route is not None and hasattr(participant_route, "answer_ended"):
        participant_route.answer_ended = lambda s, message_id, resolved, now: answer_ended(mail, s, resolved, now)


def answer_ended(mail: Mailer, session: Session, resolved, now: datetime) -> None:
    """The kind automatic answer to a former partner writing after the conversation closed."""
    sender = session.get(Participant, resolved.sender.id)
    pairing = session.get(Pairing, resolved.pairing_id)
    mail.send(session, "program_ended", sender, dict(other=resolved.recipient.handle, ended_on=ended_on(session, pairing)),
              now, kind="confirmation")


# Reminders -------------------------------------------------------------------------------


def plan_reminders(session: Session, now: datetime) -> None:
    for waiting, rules in care.all_waiting(session):
        step = reminders.next_step(waiting, rules, now)
        if step is not None:
            payload = {"message_id": waiting.message_id, "level": step.level}
            jobs.ensure_job(session, f"reminder:{waiting.message_id}:{step.level}", "reminder", step.due_at, payload, move=True)


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


# Digests ---------------------------------------------------------------------------------


def plan_digests(session: Session, now: datetime) -> None:
    for program in session.exec(_programs()):
        for person in care.staff_of(session, program.id, ("moderator", "coordinator")):
            tz = person.timezone or program.timezone
            day, due = digests.daily_due(now, tz)
            if due <= now:
                jobs.ensure_job(session, f"digest:daily:{person.id}:{day}", "digest", due,
                                {"participant_id": person.id, "period": "daily"})
            week, monday = digests.weekly_due(now, tz)
            if person.role == "coordinator" and monday <= now:
                jobs.ensure_job(session, f"digest:weekly:{person.id}:{week}", "digest", monday,
                                {"participant_id": person.id, "period": "weekly"})


def _programs():
    from sqlmodel import select

    return select(Program).where(Program.status != "closed")


def run_digest(mail: Mailer, session: Session, job: Job, now: datetime) -> None:
    data = jobs.payload(job)
    person = session.get(Participant, int(data["participant_id"]))
    if person is None or person.status != "active":
        return
    program = session.get(Program, person.program_id)
    if data.get("period") == "weekly":
        figures = care.response_figures(session, program.id, now - timedelta(days=7))
        if not figures:
            return
        rows = [dict(mentor=f.mentor, answered=f.answered, unanswered=f.unanswered, median=digests.hours_text(f.median_hours),
                     p90=digests.hours_text(f.p90_hours), reminders=f.reminders, waiting=", ".join(f.waiting)) for f in figures]
        mail.send(session, "digest_weekly", person, dict(program=program.name, rows=rows), now, kind="digest")
        return
    quiet_days = int(care.program_settings(program).get("quiet_pairing_days", 14))
    facts = care.daily_facts(session, program, now, quiet_days)
    if digests.is_empty(facts):
        return  # nothing to say: nothing sent
    mail.send(session, "digest_daily", person, dict(program=program.name, sections=digests.sections(facts)), now,
              kind="digest")


# Closure ---------------------------------------------------------------------------------


def plan_closures(session: Session, now: datetime) -> None:
    for pairing in care.closing_pairings(session):
        program = session.get(Program, pairing.program_id)
        for step in closure.plan(pairing.closes_on, program.timezone, now):
            key = f"{step.kind}:{pairing.id}:{pairing.closes_on}" + (f":{step.days_before}" if step.days_before else "")
            jobs.ensure_job(session, key, step.kind, step.due_at,
                            {"pairing_id": pairing.id, "closes_on": str(pairing.closes_on), "days": step.days_before})


def schedule_closure(session: Session, pairing: Pairing, closes_on: date, now: datetime) -> None:
    """Used by ``relayctl``: mark the pairing closing; a closing day already here closes it now."""
    pairing.closes_on = closes_on
    program = session.get(Program, pairing.program_id)
    if closure.closing_moment(closes_on, program.timezone) <= now or closes_on <= now.date():
        pairing.status, pairing.closed_at = "closed", now
        jobs.ensure_job(session, f"closure:{pairing.id}:{closes_on}", "closure", now,
                        {"pairing_id": pairing.id, "closes_on": str(closes_on)})
    else:
        pairing.status = "closing"
    session.flush()


def _current(session: Session, job: Job) -> Pairing | None:
    data = jobs.payload(job)
    pairing = session.get(Pairing, int(data["pairing_id"]))
    if pairing is None or str(pairing.closes_on) != data.get("closes_on"):
        job.status = "cancelled"  # the closing day was changed or withdrawn
        return None
    return pairing


def run_closure_notice(mail: Mailer, session: Session, job: Job, now: datetime) -> None:
    pairing = _current(session, job)
    if pairing is None or pairing.status == "closed":
        return
    program = session.get(Program, pairing.program_id)
    mentor, mentee = session.get(Participant, pairing.mentor_id), session.get(Participant, pairing.mentee_id)
    left = closure.days_left(pairing.closes_on, program.timezone, now)
    for person, other in ((mentor, mentee), (mentee, mentor)):
        mail.send(session, "closure_notice", person, dict(other=other.handle, other_alias=mail.alias(other),
                  closes_on=pairing.closes_on.isoformat(), days_left=left, program=program.name), now)


def run_closure(mail: Mailer, session: Session, job: Job, now: datetime) -> None:
    pairing = _current(session, job)
    if pairing is None:
        return
    if pairing.status != "closed":
        pairing.status, pairing.closed_at = "closed", now
    program = session.get(Program, pairing.program_id)
    people = directory.program_participants(session, program.id)
    mentor, mentee = session.get(Participant, pairing.mentor_id), session.get(Participant, pairing.mentee_id)
    for person, other in ((mentor, mentee), (mentee, mentor)):
        copies, entries = _transcript(mail, session, pairing, person, people)
        title = f"Your conversation with {other.handle}"
        attachments = [
            notices.Attachment("conversation.txt", "text/plain", closure.transcript_text(entries, title).encode()),
            notices.Attachment("conversation.mbox", "application/mbox", closure.mbox(copies)),
        ]
        mail.send(session, "transcript_closing", person, dict(other=other.handle, other_alias=mail.alias(other),
                  entries=sorted(entries, key=lambda e: e.at), closes_on=pairing.closes_on.isoformat(),
                  program=program.name), now, kind="transcript", attachments=attachments)
    _close_program_when_done(session, program, now)


def _transcript(mail: Mailer, session: Session, pairing: Pairing, viewer: Participant, people: list[Participant]):
    from relay import model

    address_map, name_map = directory.masking_maps(people, mail.domain)
    copies, entries = [], []
    for message in care.transcript_messages(session, pairing.id):
        sender = session.get(Participant, message.sender_id)
        reader_id = pairing.mentee_id if sender.id == pairing.mentor_id else pairing.mentor_id
        reader = session.get(Participant, reader_id)
        copy_id = session.exec(_copy_id(message.id, viewer.id)).first() or new_message_id(mail.domain, f"t{message.id}x{viewer.id}")
        ctx = model.MaskContext(domain=mail.domain, sender_handle=sender.handle, sender_alias=mail.alias(sender),
                                recipient_email=mail.alias(reader), recipient_handle=reader.handle, message_id=copy_id,
                                date=message.received_at, address_map=address_map, name_map=name_map)
        masked, entry = closure.masked_entry(message.raw, ctx, f"{reader.handle} <{mail.alias(reader)}>")
        copies.append((message.received_at, masked))
        entries.append(entry)
    return copies, entries


def _copy_id(message_id: int, viewer_id: int):
    from sqlmodel import select

    return select(Delivery.masked_message_id).where(Delivery.message_id == message_id, Delivery.recipient_id == viewer_id)


def _close_program_when_done(session: Session, program: Program, now: datetime) -> None:
    if program.status != "closing":
        return
    if not any(p.program_id == program.id for p in care.open_pairings(session)):
        program.status, program.closed_at = "closed", now


def ended_on(session: Session, pairing: Pairing) -> str:
    day = pairing.closes_on or (pairing.closed_at.date() if pairing.closed_at else None)
    return day.isoformat() if day else "recently"


