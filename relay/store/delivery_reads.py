"""The reads of one copy at send time, plain SQL on the driver's cursor, no ORM objects.

Every forwarded copy is masked when it is sent, so every copy reads its
delivery, its message, both sides, their program (with its masking stamp)
and circle, the two sides' names and the thread ids the recipient knows.
Loading ORM objects for that cost more than masking the copy; these few
statements (see ``relay.store.rows.Statement``) return plain frozen rows.
They only read, so on SQLite they never take the write lock. The column
names are those of ``relay.store.tables`` (a store test runs every one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Iterable

from sqlalchemy.engine import Connection

from relay.store.rows import Statement, as_bytes, moment


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    kind: str
    rcpt_email: str
    attempts: int
    expires_at: datetime
    null_sender: bool
    content: bytes | None
    message_id: int | None
    recipient_id: int | None
    masked_message_id: str
    intent: str | None = None  # a notice rendered at send time (relay.notices.intent)


@dataclass(frozen=True)
class MessageRow:
    """What masking needs of a message (``raw`` is None when the copy is stored ready to send)."""

    id: int
    program_id: int | None
    sender_id: int | None
    circle_id: int | None
    received_at: datetime
    in_reply_to: str
    references: str
    raw: bytes | None


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    alias: str
    handle: str
    display_name: str


@dataclass(frozen=True)
class CircleRow:
    id: int
    name: str
    handle: str
    alias: str


@dataclass(frozen=True)
class Sides:
    """Both sides of one copy, their program's name and masking stamp, and the message's circle."""

    sender: Person | None
    recipient: Person | None
    program_name: str | None
    stamp: tuple[int, int, int]  # see ``masking_stamp``
    circle: CircleRow | None


_DELIVERY_SQL = ("d.id, d.kind, d.rcpt_email, d.attempts, d.expires_at, d.null_sender, d.content, d.message_id, "
                 "d.recipient_id, d.masked_message_id, d.intent")
# The message's raw only for a copy masked at send time: a stored or rendered notice does not need it.
_MESSAGE_SQL = ("m.id, m.program_id, m.sender_id, m.circle_id, m.received_at, m.in_reply_to, m.\"references\", "
                "CASE WHEN d.content IS NULL AND d.intent IS NULL THEN m.raw END")
_STAMP_SQL = ("p.mask_version, (SELECT COUNT(x.id) FROM participant x WHERE x.program_id = p.id), "
              "(SELECT MAX(x.id) FROM participant x WHERE x.program_id = p.id)")
_SIDES_SQL = ("s.id, s.email, s.alias, s.handle, s.display_name, r.id, r.email, r.alias, r.handle, r.display_name, "
              f"p.name, {_STAMP_SQL}, c.id, c.name, c.handle, c.alias")


def _sides_joins(sender: str, recipient: str, program: str, circle: str) -> str:
    return (f"LEFT JOIN participant s ON s.id = {sender} LEFT JOIN participant r ON r.id = {recipient} "
            f"LEFT JOIN program p ON p.id = {program} LEFT JOIN circle c ON c.id = {circle}")


_DELIVERY = Statement(f"SELECT {_DELIVERY_SQL} FROM delivery d WHERE d.id = :delivery")
_JOB = Statement(
    f"SELECT {_DELIVERY_SQL}, {_MESSAGE_SQL}, {_SIDES_SQL} FROM delivery d "
    "LEFT JOIN message m ON m.id = d.message_id "
    f"{_sides_joins('m.sender_id', 'd.recipient_id', 'm.program_id', 'm.circle_id')} WHERE d.id = :delivery"
)
_SIDES = Statement(
    f"SELECT {_SIDES_SQL} FROM (SELECT 1) AS one {_sides_joins(':sender', ':recipient', ':program', ':circle')}"
)
_STAMP = Statement(f"SELECT {_STAMP_SQL} FROM program p WHERE p.id = :program")
_PROGRAM_ADDRESSES = Statement("SELECT email, alias FROM participant WHERE program_id = :program")
_CIRCLE_ADDRESSES = Statement(
    "SELECT p.email, p.alias FROM circle_member cm JOIN participant p ON p.id = cm.participant_id "
    "WHERE cm.circle_id = :circle ORDER BY cm.id"
)
_NAMES = Statement(
    "SELECT participant_id, name FROM participant_name WHERE participant_id IN (:a, :b) ORDER BY id"
)


def _delivery(row: tuple) -> DeliveryRow:
    did, kind, rcpt, attempts, expires_at, null_sender, content, message_id, recipient_id, masked, intent = row
    return DeliveryRow(id=did, kind=kind, rcpt_email=rcpt, attempts=int(attempts), expires_at=moment(expires_at),
                       null_sender=bool(null_sender), content=as_bytes(content), message_id=message_id,
                       recipient_id=recipient_id, masked_message_id=masked, intent=intent)


def _message(row: tuple) -> MessageRow | None:
    mid, program_id, sender_id, circle_id, received_at, in_reply_to, references, raw = row
    if mid is None:
        return None
    return MessageRow(id=mid, program_id=program_id, sender_id=sender_id, circle_id=circle_id,
                      received_at=moment(received_at), in_reply_to=in_reply_to or "", references=references or "",
                      raw=as_bytes(raw))


def _sides(row: tuple) -> Sides:
    sender = _person(row[0:5])
    recipient = _person(row[5:10])
    program_name, version, count, highest = row[10:14]
    circle = CircleRow(*row[14:18]) if row[14] is not None else None
    stamp = (int(version), int(count or 0), int(highest or 0)) if program_name is not None else (0, 0, 0)
    return Sides(sender=sender, recipient=recipient, program_name=program_name, stamp=stamp, circle=circle)


def _person(columns: tuple) -> Person | None:
    return Person(*columns) if columns[0] is not None else None


def delivery(conn: Connection, delivery_id: int) -> DeliveryRow | None:
    """The delivery's own facts alone."""
    row = _DELIVERY.first(conn, delivery=delivery_id)
    return _delivery(row) if row is not None else None


def job(conn: Connection, delivery_id: int) -> tuple[DeliveryRow, MessageRow | None, Sides] | None:
    """One statement: the delivery, its message, both sides, their program and stamp, and the circle."""
    row = _JOB.first(conn, delivery=delivery_id)
    if row is None:
        return None
    return _delivery(row[0:11]), _message(row[11:19]), _sides(row[19:])


def sides(conn: Connection, sender_id: int | None, recipient_id: int | None, program_id: int | None,
          circle_id: int | None) -> Sides:
    """What ``job`` reads about a copy's sides, for a copy that is not a stored delivery."""
    return _sides(_SIDES.first(conn, sender=sender_id, recipient=recipient_id, program=program_id, circle=circle_id))


def masking_stamp(conn: Connection, program_id: int) -> tuple[int, int, int]:
    """(version, participants, highest id): changes whenever the program's address book may have."""
    row = _STAMP.first(conn, program=program_id)
    return (int(row[0]), int(row[1] or 0), int(row[2] or 0)) if row is not None else (0, 0, 0)


def program_addresses(conn: Connection, program_id: int) -> list[tuple[str, str]]:
    """(real address, alias local part) of everyone ever enrolled in the program."""
    return [(str(email), str(alias)) for email, alias in _PROGRAM_ADDRESSES.rows(conn, program=program_id)]


def circle_addresses(conn: Connection, circle_id: int) -> list[tuple[str, str]]:
    """(real address, alias local part) of every member the circle ever had, in joining order."""
    return [(str(email), str(alias)) for email, alias in _CIRCLE_ADDRESSES.rows(conn, circle=circle_id)]


def names_of(conn: Connection, a_id: int, b_id: int) -> dict[int, list[str]]:
    """Every display name each of the two has used, oldest first."""
    found: dict[int, list[str]] = {a_id: [], b_id: []}
    for participant_id, name in _NAMES.rows(conn, a=a_id, b=b_id):
        found[participant_id].append(name)
    return found


_CHUNK = 50  # ids per statement: a long References header takes a few


@lru_cache(maxsize=_CHUNK)
def _known_statement(count: int) -> Statement:
    """For each wanted id: the message the sender's copy of that id was a copy of, the sender's own
    message of that id, and what the recipient knows each by (see ``known_ids``)."""
    wanted = ", ".join(f"(:i{n})" for n in range(count))
    return Statement(f"""
        WITH wanted(mid) AS (VALUES {wanted}),
        found AS (
            SELECT mid,
                   (SELECT d.message_id FROM delivery d
                     WHERE d.masked_message_id = wanted.mid AND d.recipient_id = :sender LIMIT 1) AS copy_of,
                   (SELECT m.id FROM message m
                     WHERE m.original_message_id = wanted.mid AND m.sender_id = :sender
                     ORDER BY m.id DESC LIMIT 1) AS own
            FROM wanted)
        SELECT mid, copy_of,
               (SELECT m.original_message_id FROM message m WHERE m.id = found.copy_of AND m.sender_id = :recipient),
               (SELECT d.masked_message_id FROM delivery d
                 WHERE d.message_id = COALESCE(found.copy_of, found.own) AND d.recipient_id = :recipient LIMIT 1)
        FROM found
    """)


def known_ids(conn: Connection, sender_id: int, recipient_id: int, ids: Iterable[str]) -> dict[str, str]:
    """Each thread id a sender's reply quotes -> the id the recipient's own mailbox holds ("" for none).

    A sender's client quotes either ids of copies the relay sent them or ids
    of their own earlier messages; anything else is dropped, so no id ever
    crosses from one side to the other. An id of a copy sent to the sender
    is known to the recipient by the original id (when the message was the
    recipient's) or else by the recipient's own copy; an id of the sender's
    own message by the recipient's copy of it.
    """
    unique = list(dict.fromkeys(ids))
    known: dict[str, str] = {}
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start:start + _CHUNK]
        params = {f"i{n}": value for n, value in enumerate(chunk)}
        for mid, copy_of, original, copy_id in _known_statement(len(chunk)).rows(
                conn, sender=sender_id, recipient=recipient_id, **params):
            known[mid] = original if copy_of is not None and original else (copy_id or "")
    return known
