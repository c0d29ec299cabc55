"""Circles, their members and their messages. Query functions never commit."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy import exists, func
from sqlmodel import Session, select

from relay import model
from relay.store.directory import DirectoryError, issue_alias
from relay.store.tables import Alias, Circle, CircleMember, Delivery, Message, ModerationAction, Participant, Program

# The same shape the service address accepts in "digest on NAME", so every circle can be named by email.
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
MODES = ("each", "digest")


def check_name(name: str) -> str:
    value = name.strip().lower()
    if not NAME_RE.fullmatch(value):
        raise DirectoryError(
            f"circle name {name!r} must be 1 to 64 lower-case letters, digits or inner hyphens (e.g. college-apps)"
        )
    return value


def add_circle(
    session: Session, program: Program, name: str, handle: str, now: datetime, entropy: Callable[[], bytes]
) -> Circle:
    name = check_name(name)
    if find_circle(session, program.id, name) is not None:
        raise DirectoryError(f"program {program.name!r} already has a circle named {name!r}")
    alias = issue_alias(session, "circle", 0, now, entropy)
    circle = Circle(program_id=program.id, name=name, handle=handle, alias=alias, created_at=now)
    session.add(circle)
    session.flush()
    session.get(Alias, alias).owner_id = circle.id
    session.flush()
    return circle


def find_circle(session: Session, program_id: int, name: str) -> Circle | None:
    return session.exec(select(Circle).where(Circle.program_id == program_id, Circle.name == name.lower())).first()


def require_circle(session: Session, program: Program, name: str) -> Circle:
    circle = find_circle(session, program.id, name)
    if circle is None:
        raise DirectoryError(f"program {program.name!r} has no circle named {name!r}")
    return circle


def circle_by_alias(session: Session, local_part: str) -> Circle | None:
    return session.exec(select(Circle).where(Circle.alias == local_part.lower())).first()


def list_circles(session: Session, program_id: int | None = None) -> list[Circle]:
    query = select(Circle).order_by(Circle.id)
    if program_id is not None:
        query = query.where(Circle.program_id == program_id)
    return list(session.exec(query))


def membership(session: Session, circle_id: int, participant_id: int) -> CircleMember | None:
    return session.exec(
        select(CircleMember).where(CircleMember.circle_id == circle_id, CircleMember.participant_id == participant_id)
    ).first()


def join(session: Session, circle: Circle, person: Participant, now: datetime, mode: str = "each") -> CircleMember:
    """Add a member, or bring a former member back (the row is kept, so history stays attached)."""
    if person.program_id != circle.program_id:
        raise DirectoryError(f"{person.email} is not enrolled in the circle's program")
    if mode not in MODES:
        raise DirectoryError(f"delivery mode must be one of {', '.join(MODES)}")
    row = membership(session, circle.id, person.id)
    if row is not None and row.status == "active":
        raise DirectoryError(f"{person.email} is already a member of {circle.name}")
    if row is None:
        row = CircleMember(circle_id=circle.id, participant_id=person.id, joined_at=now)
        session.add(row)
    row.status, row.delivery_mode, row.joined_at, row.left_at = "active", mode, now, None
    session.flush()
    return row


def leave(session: Session, circle: Circle, person: Participant, now: datetime) -> CircleMember:
    row = membership(session, circle.id, person.id)
    if row is None or row.status != "active":
        raise DirectoryError(f"{person.email} is not a member of {circle.name}")
    row.status, row.left_at = "left", now
    session.flush()
    return row


def set_delivery_mode(session: Session, circle: Circle, person: Participant, mode: str) -> CircleMember:
    if mode not in MODES:
        raise DirectoryError(f"delivery mode must be one of {', '.join(MODES)}")
    row = membership(session, circle.id, person.id)
    if row is None or row.status != "active":
        raise DirectoryError(f"{person.email} is not a member of {circle.name}")
    row.delivery_mode = mode
    session.flush()
    return row


def members(session: Session, circle_id: int, active_only: bool = True) -> list[tuple[CircleMember, Participant]]:
    """Members with their participant rows, in joining order."""
    query = (
        select(CircleMember, Participant)
        .where(CircleMember.circle_id == circle_id, CircleMember.participant_id == Participant.id)
        .order_by(CircleMember.id)
    )
    if active_only:
        query = query.where(CircleMember.status == "active", Participant.status != "left")
    return list(session.exec(query))


def mentors(session: Session, circle_id: int) -> list[Participant]:
    return [p for _, p in members(session, circle_id) if p.role == model.Role.MENTOR.value and p.status == "active"]


def count_messages(session: Session, circle_id: int) -> int:
    return session.exec(select(func.count()).select_from(Message).where(Message.circle_id == circle_id)).one()


def digest_members(session: Session) -> list[tuple[CircleMember, Participant, Circle, Program]]:
    """Every active digest-mode member of an active circle, with what their schedule depends on."""
    query = select(CircleMember, Participant, Circle, Program).where(
        CircleMember.delivery_mode == "digest",
        CircleMember.status == "active",
        CircleMember.participant_id == Participant.id,
        Participant.status == "active",
        CircleMember.circle_id == Circle.id,
        Circle.status == "active",
        Circle.program_id == Program.id,
    )
    return list(session.exec(query.order_by(CircleMember.id)))


def messages_between(session: Session, circle_id: int, since: datetime, until: datetime) -> list[Message]:
    """The circle's messages members may read: not refused, and not waiting for a moderator.

    A held message with no immediate copies keeps the status ``held`` even
    after approval (no delivery row moves it on), so an approval recorded by
    a moderator counts as well.
    """
    approved = exists().where(
        ModerationAction.message_id == Message.id,
        ModerationAction.action == "approve",
        ModerationAction.outcome == "done",
    )
    query = (
        select(Message)
        .where(Message.circle_id == circle_id, Message.received_at >= since, Message.received_at < until)
        .where(Message.status.not_in(("rejected", "cancelled")))
        .where((Message.status != "held") | approved)
        .order_by(Message.received_at, Message.id)
    )
    return list(session.exec(query))


def copy_ids(session: Session, message_ids: Iterable[int]) -> dict[int, list[str]]:
    """Every Message-ID under which a message went out, by message (threads link through them)."""
    ids = list(message_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = session.exec(select(Delivery.message_id, Delivery.masked_message_id).where(Delivery.message_id.in_(ids)))
        for message_id, masked in rows:
            found[message_id].append(masked)
    return found


def mentor_wrote_since(session: Session, circle_id: int, mentor_ids: Iterable[int], since: datetime) -> bool:
    ids = list(mentor_ids)
    if not ids:
        return False
    row = session.exec(
        select(Message.id).where(
            Message.circle_id == circle_id,
            Message.sender_id.in_(ids),
            Message.received_at > since,
            Message.status != "rejected",
        )
    ).first()
    return row is not None
