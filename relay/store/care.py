"""What the care features read: waiting messages, staff digest facts, response figures, closing pairings.

Each function reads rows and hands back plain values for the pure planners
in ``relay.scheduler``; none of them commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select as sa_select
from sqlmodel import Session, select

from relay.ordering import natural_key
from relay.program_settings import load as load_program_settings
from relay.scheduler import digests, reminders
from relay.store.tables import Delivery, Message, Pairing, Participant, Program, Reminder

OPEN = ("active", "closing")
ANSWERED_BY = ("queued", "held", "delivered", "partial", "stored")  # anything the reader really wrote
REACHED = ("delivered", "partial")


def program_settings(program: Program) -> dict:
    """Every setting with its default filled in, read through ``relay.program_settings``."""
    return load_program_settings(program.settings).as_dict()


def open_pairings(session: Session) -> list[Pairing]:
    return list(session.exec(select(Pairing).where(Pairing.status.in_(OPEN)).order_by(Pairing.id)))


def _conversation(session: Session, pairing_id: int) -> list:
    return list(
        session.execute(
            sa_select(Message.id, Message.sender_id, Message.received_at, Message.status, Message.subject)
            .where(Message.pairing_id == pairing_id, Message.kind == "participant")
            .order_by(Message.received_at, Message.id)
        )
    )


def _first_unanswered(rows: list, writer_id: int, reader_id: int):
    """The writer's first message since the reader last wrote, if it reached the reader."""
    waiting = None
    for row in rows:
        if row.sender_id == reader_id and row.status in ANSWERED_BY:
            waiting = None
        elif row.sender_id == writer_id and waiting is None and row.status in REACHED:
            waiting = row
    return waiting


def _reached_at(session: Session, message_id: int, reader_id: int, fallback: datetime) -> datetime:
    at = session.execute(
        sa_select(func.max(Delivery.delivered_at)).where(
            Delivery.message_id == message_id, Delivery.recipient_id == reader_id, Delivery.kind == "forward"
        )
    ).scalar()
    return at or fallback


def waiting_in(session: Session, pairing: Pairing, program: Program) -> list[tuple[reminders.Waiting, reminders.Rules]]:
    """The messages in one pairing still waiting for an answer, with the rules that apply to each."""
    settings = program_settings(program)
    rows = _conversation(session, pairing.id)
    directions = [(pairing.mentee_id, pairing.mentor_id, False)]
    if reminders.reminders_to_mentees(settings):
        directions.append((pairing.mentor_id, pairing.mentee_id, True))
    found = []
    for writer_id, reader_id, to_mentee in directions:
        row = _first_unanswered(rows, writer_id, reader_id)
        if row is None:
            continue
        reader = session.get(Participant, reader_id)
        levels = session.execute(sa_select(Reminder.level).where(Reminder.message_id == row.id)).scalars()
        waiting = reminders.Waiting(
            message_id=row.id,
            pairing_id=pairing.id,
            writer_id=writer_id,
            reader_id=reader_id,
            since=_reached_at(session, row.id, reader_id, row.received_at),
            subject=row.subject,
            reader_timezone=reader.timezone or program.timezone,
            quiet_start=reader.quiet_start,
            quiet_end=reader.quiet_end,
            away_until=reader.away_until,
            levels_sent=frozenset(levels),
            to_mentee=to_mentee,
        )
        found.append((waiting, reminders.rules_for(program.response_window_hours, settings, to_mentee)))
    return found


def all_waiting(session: Session) -> list[tuple[reminders.Waiting, reminders.Rules]]:
    found = []
    for pairing in open_pairings(session):
        found += waiting_in(session, pairing, session.get(Program, pairing.program_id))
    return found


def waiting_message(session: Session, message_id: int) -> tuple[reminders.Waiting, reminders.Rules] | None:
    """The waiting state of one message, or None when it no longer waits (answered, pairing closed)."""
    message = session.get(Message, message_id)
    if message is None or message.pairing_id is None:
        return None
    pairing = session.get(Pairing, message.pairing_id)
    if pairing is None or pairing.status not in OPEN:
        return None
    for waiting, rules in waiting_in(session, pairing, session.get(Program, pairing.program_id)):
        if waiting.message_id == message_id:
            return waiting, rules
    return None


def staff_of(session: Session, program_id: int, roles: tuple[str, ...]) -> list[Participant]:
    return list(
        session.exec(
            select(Participant)
            .where(Participant.program_id == program_id, Participant.role.in_(roles), Participant.status == "active")
            .order_by(Participant.id)
        )
    )


def handle(session: Session, participant_id: int | None) -> str:
    person = session.get(Participant, participant_id) if participant_id else None
    return person.handle if person else "-"


def _line(session: Session, m: Message) -> str:
    return f"M{m.id} from {handle(session, m.sender_id)} ({m.received_at:%Y-%m-%d %H:%M}): {m.subject[:80]}"


def daily_facts(session: Session, program: Program, now: datetime, quiet_days: int = 14) -> digests.DailyFacts:
    since = now - timedelta(days=1)
    held = session.exec(select(Message).where(Message.program_id == program.id, Message.status == "held").order_by(Message.id))
    flagged = session.exec(
        select(Message).where(Message.program_id == program.id, Message.verdict == "flag", Message.received_at >= since)
    )
    sent = session.exec(select(Reminder).join(Message, Message.id == Reminder.message_id).where(
        Message.program_id == program.id, Reminder.sent_at >= since))
    reminder_lines, escalation_lines, seen = [], [], set()
    for r in sent:
        if (r.message_id, r.level) in seen:
            continue
        seen.add((r.message_id, r.level))
        m = session.get(Message, r.message_id)
        (escalation_lines if r.level >= reminders.ESCALATION else reminder_lines).append(
            f"level {r.level}: {_line(session, m)}")
    failed = session.exec(
        select(Delivery).join(Participant, Participant.id == Delivery.recipient_id).where(
            Participant.program_id == program.id, Delivery.status == "failed", Delivery.created_at >= since)
    )
    quiet, new = [], []
    for p in session.exec(select(Pairing).where(Pairing.program_id == program.id, Pairing.status.in_(OPEN))):
        names = f"{handle(session, p.mentor_id)} and {handle(session, p.mentee_id)}"
        if p.created_at >= since:
            new.append(names)
        last = session.execute(sa_select(func.max(Message.received_at)).where(Message.pairing_id == p.id)).scalar()
        if (last or p.created_at) <= now - timedelta(days=quiet_days):
            quiet.append(f"{names}: nothing for {reminders.waited(last or p.created_at, now)}")
    return digests.DailyFacts(
        held=tuple(_line(session, m) for m in held),
        flagged=tuple(_line(session, m) for m in flagged),
        reminders=tuple(reminder_lines),
        escalations=tuple(escalation_lines),
        failed=tuple(f"D{d.id} ({d.kind}) to {handle(session, d.recipient_id)}: {d.last_error[:80]}" for d in failed),
        quiet_pairings=tuple(quiet),
        new_pairings=tuple(new),
    )


def response_figures(session: Session, program_id: int | None, since: datetime | None) -> list[digests.Figures]:
    """Per mentor: answered and unanswered waits, median and p90 reply hours, reminders sent."""
    query = select(Pairing).order_by(Pairing.id)
    if program_id is not None:
        query = query.where(Pairing.program_id == program_id)
    by_mentor: dict[int, list] = {}
    waiting_lines: dict[int, list[str]] = {}
    for pairing in session.exec(query):
        events = [
            ("mentee" if row.sender_id == pairing.mentee_id else "mentor", row.received_at)
            for row in _conversation(session, pairing.id)
            if row.status in ANSWERED_BY and (since is None or row.received_at >= since)
        ]
        pairs = digests.waits(events)
        by_mentor.setdefault(pairing.mentor_id, []).extend(pairs)
        if pairs and pairs[-1][1] is None and pairing.status in OPEN:
            waiting_lines.setdefault(pairing.mentor_id, []).append(handle(session, pairing.mentee_id))
    result = []
    for mentor_id, pairs in by_mentor.items():
        sent = sa_select(func.count()).select_from(Reminder).where(
            Reminder.recipient_id == mentor_id, Reminder.level < reminders.ESCALATION)
        if since is not None:
            sent = sent.where(Reminder.sent_at >= since)
        result.append(digests.figures(handle(session, mentor_id), pairs, session.execute(sent).scalar_one(),
                                      tuple(waiting_lines.get(mentor_id, ()))))
    return sorted(result, key=lambda f: natural_key(f.mentor))  # "Mentor 2" before "Mentor 10"


def closing_pairings(session: Session) -> list[Pairing]:
    return list(session.exec(select(Pairing).where(Pairing.status.in_(OPEN), Pairing.closes_on.is_not(None))))


def closed_pairing(session: Session, a_id: int, b_id: int) -> Pairing | None:
    """The most recently closed pairing between two participants."""
    return session.exec(
        select(Pairing)
        .where(
            Pairing.status == "closed",
            or_(
                (Pairing.mentor_id == a_id) & (Pairing.mentee_id == b_id),
                (Pairing.mentor_id == b_id) & (Pairing.mentee_id == a_id),
            ),
        )
        .order_by(Pairing.id.desc())
    ).first()


def transcript_messages(session: Session, pairing_id: int) -> list[Message]:
    """The pairing's messages that were passed on (held-and-rejected ones never reached anyone)."""
    return list(
        session.exec(
            select(Message)
            .where(Message.pairing_id == pairing_id, Message.kind == "participant", Message.status.in_(REACHED + ("queued",)))
            .order_by(Message.received_at, Message.id)
        )
    )
