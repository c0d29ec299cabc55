"""Closure jobs: notices 14 and 3 days ahead, transcripts on the day, and the kind answer afterwards."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, select

from relay import model, notices
from relay.care.mailer import Mailer
from relay.outbound.message_ids import new_message_id
from relay.scheduler import closure
from relay.store import care, directory, jobs
from relay.store.tables import Delivery, Job, Pairing, Participant, Program


def plan_closures(session: Session, now: datetime) -> list[jobs.Planned]:
    planned = []
    for pairing in care.closing_pairings(session):
        program = session.get(Program, pairing.program_id)
        for step in closure.plan(pairing.closes_on, program.timezone, now):
            key = f"{step.kind}:{pairing.id}:{pairing.closes_on}" + (f":{step.days_before}" if step.days_before else "")
            planned.append(jobs.Planned(key, step.kind, step.due_at, {
                "pairing_id": pairing.id, "closes_on": str(pairing.closes_on), "days": step.days_before}))
    return planned


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
    return select(Delivery.masked_message_id).where(Delivery.message_id == message_id, Delivery.recipient_id == viewer_id)


def _close_program_when_done(session: Session, program: Program, now: datetime) -> None:
    if program.status != "closing":
        return
    if not any(p.program_id == program.id for p in care.open_pairings(session)):
        program.status, program.closed_at = "closed", now


def ended_on(session: Session, pairing: Pairing) -> str:
    day = pairing.closes_on or (pairing.closed_at.date() if pairing.closed_at else None)
    return day.isoformat() if day else "recently"


def answer_ended(mail: Mailer, session: Session, resolved, now: datetime) -> None:
    """The kind automatic answer to a former partner writing after the conversation closed."""
    sender = session.get(Participant, resolved.sender.id)
    pairing = session.get(Pairing, resolved.pairing_id)
    mail.send(session, "program_ended", sender, dict(other=resolved.recipient.handle, ended_on=ended_on(session, pairing)),
              now, kind="confirmation")
