"""The reads on a message's hot path (RCPT and DATA), each one SQL statement, no ORM objects.

Every RCPT and every DATA asks the directory who an alias is, whether the
writer is enrolled and paired, and what the policy needs to know. Loading
ORM objects for that cost about a millisecond a question; these Core
statements return plain rows turned straight into the frozen values of
``relay.model``. They only read, so on SQLite they never take the write lock.
"""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection, Row

from relay import model
from relay.addresses import normalise
from relay.store.tables import Alias, Message, Pairing, Participant, Program

ALIAS = Alias.__table__
PARTICIPANT = Participant.__table__
PAIRING = Pairing.__table__
PROGRAM = Program.__table__
MESSAGE = Message.__table__

OPEN = ("active", "closing")

_PERSON = (
    PARTICIPANT.c.id, PARTICIPANT.c.program_id, PARTICIPANT.c.email, PARTICIPANT.c.alias, PARTICIPANT.c.handle,
    PARTICIPANT.c.role, PARTICIPANT.c.status, PARTICIPANT.c.premoderate, PARTICIPANT.c.timezone,
    PARTICIPANT.c.display_name, PARTICIPANT.c.away_until,
)  # fmt: skip


def person(row: Row) -> model.Participant:
    return model.Participant(
        id=row.id, program_id=row.program_id, email=row.email, alias=row.alias, handle=row.handle,
        role=model.Role(row.role), status=row.status, premoderate=bool(row.premoderate), timezone=row.timezone,
        display_name=row.display_name, away_until=row.away_until,
    )


def alias_kind(conn: Connection, local_part: str) -> str:
    """``circle`` for a circle's alias; anything else is looked up as a participant's."""
    kind = conn.execute(select(ALIAS.c.kind).where(ALIAS.c.local_part == local_part.lower())).scalar()
    return "circle" if kind == "circle" else "participant"


def is_enrolled(conn: Connection, email: str) -> bool:
    """Enrolled in any program, whatever their status there."""
    return conn.execute(select(PARTICIPANT.c.id).where(PARTICIPANT.c.email == normalise(email)).limit(1)).first() is not None


def by_alias(conn: Connection, local_part: str) -> model.Participant | None:
    row = conn.execute(select(*_PERSON).where(PARTICIPANT.c.alias == local_part.lower())).first()
    return person(row) if row is not None else None


def by_email_in(conn: Connection, email: str, program_id: int) -> model.Participant | None:
    row = conn.execute(
        select(*_PERSON).where(PARTICIPANT.c.email == normalise(email), PARTICIPANT.c.program_id == program_id)
    ).first()
    return person(row) if row is not None else None


def pairing_between(conn: Connection, a_id: int, b_id: int, statuses: tuple[str, ...]) -> int | None:
    """The newest pairing of these two (whichever is the mentor) in one of ``statuses``."""
    either_way = or_(
        and_(PAIRING.c.mentor_id == a_id, PAIRING.c.mentee_id == b_id),
        and_(PAIRING.c.mentor_id == b_id, PAIRING.c.mentee_id == a_id),
    )
    query = select(PAIRING.c.id).where(either_way, PAIRING.c.status.in_(statuses)).order_by(PAIRING.c.id.desc())
    return conn.execute(query.limit(1)).scalar()


def pairing_facts(conn: Connection, sender: model.Participant, pairing_id: int | None,
                  count_up_to: int = 1000) -> model.PairingFacts:
    """One statement: the program, the sender's status now, the pairing's hold and message count.

    The count stops at ``count_up_to``: pre-moderation only asks "fewer than N?" for a small N.
    """
    counted = select(MESSAGE.c.id).where(MESSAGE.c.pairing_id == pairing_id).limit(count_up_to).subquery()
    count = select(func.count()).select_from(counted).scalar_subquery()
    held = select(PAIRING.c.held_by_moderator).where(PAIRING.c.id == pairing_id).scalar_subquery()
    query = (
        select(PROGRAM.c.name, PROGRAM.c.region, PARTICIPANT.c.status, held.label("held"), count.label("count"))
        .select_from(PARTICIPANT.join(PROGRAM, PROGRAM.c.id == PARTICIPANT.c.program_id))
        .where(PARTICIPANT.c.id == sender.id)
    )
    row = conn.execute(query).first()
    if row is None:  # the sender was removed between RCPT and DATA
        return model.PairingFacts("default", "US", 0, False, "left")
    return model.PairingFacts(
        program_name=row.name,
        region=row.region,
        pairing_count=int(row.count or 0) if pairing_id else 0,
        pairing_on_hold=bool(row.held),
        sender_status=row.status,
    )
