"""The reads on a message's hot path (RCPT and DATA), each one SQL statement, no ORM objects.

Every RCPT and every DATA asks the directory who an alias is, whether the
writer is enrolled and paired, and what the policy needs to know. Loading
ORM objects for that cost about a millisecond a question, and SQLAlchemy
Core statements still a third of one; these plain SQL texts run on the
driver's cursor and their rows become the frozen values of ``relay.model``
directly. They only read, so on SQLite they never take the write lock. The
column names are those of ``relay.store.tables`` (a test runs every one).
"""

from __future__ import annotations


from sqlalchemy.engine import Connection

from relay import model
from relay.addresses import normalise
from relay.store.rows import Statement, moment

OPEN = ("active", "closing")

def person(row) -> model.Participant:
    """A participant row (the columns of ``_PERSON_SQL``, in order) as the pure core's value."""
    pid, program_id, email, alias, handle, role, status, premoderate, tz, display_name, away_until = row
    return model.Participant(
        id=pid, program_id=program_id, email=email, alias=alias, handle=handle, role=model.Role(role), status=status,
        premoderate=bool(premoderate), timezone=tz, display_name=display_name, away_until=moment(away_until),
    )


_PERSON_SQL = ("id, program_id, email, alias, handle, role, status, premoderate, timezone, display_name, "
               "away_until")
_ALIAS_KIND = Statement("SELECT kind FROM alias WHERE local_part = :local")
_ENROLLED = Statement("SELECT id FROM participant WHERE email = :email LIMIT 1")
_BY_ALIAS = Statement(f"SELECT {_PERSON_SQL} FROM participant WHERE alias = :alias")
_BY_EMAIL_IN = Statement(f"SELECT {_PERSON_SQL} FROM participant WHERE email = :email AND program_id = :program")
_PAIRING = {
    statuses: Statement(
        "SELECT id FROM pairing WHERE ((mentor_id = :a AND mentee_id = :b) OR (mentor_id = :b AND mentee_id = :a))"
        f" AND status IN ({', '.join(repr(s) for s in statuses)}) ORDER BY id DESC LIMIT 1"
    )
    for statuses in (OPEN, ("closed",))
}


def alias_kind(conn: Connection, local_part: str) -> str:
    """``circle`` for a circle's alias; anything else is looked up as a participant's."""
    row = _ALIAS_KIND.first(conn, local=local_part.lower())
    return "circle" if row is not None and row[0] == "circle" else "participant"


def is_enrolled(conn: Connection, email: str) -> bool:
    """Enrolled in any program, whatever their status there."""
    return _ENROLLED.first(conn, email=normalise(email)) is not None


def by_alias(conn: Connection, local_part: str) -> model.Participant | None:
    row = _BY_ALIAS.first(conn, alias=local_part.lower())
    return person(row) if row is not None else None


def by_email_in(conn: Connection, email: str, program_id: int) -> model.Participant | None:
    row = _BY_EMAIL_IN.first(conn, email=normalise(email), program=program_id)
    return person(row) if row is not None else None


def pairing_between(conn: Connection, a_id: int, b_id: int, statuses: tuple[str, ...]) -> int | None:
    """The newest pairing of these two (whichever is the mentor) in one of ``statuses``."""
    row = _PAIRING[statuses].first(conn, a=a_id, b=b_id)
    return row[0] if row is not None else None


_FACTS = Statement("""
    SELECT program.name, program.region, participant.status,
           (SELECT held_by_moderator FROM pairing WHERE pairing.id = :pairing),
           (SELECT count(*) FROM (SELECT id FROM message WHERE pairing_id = :pairing LIMIT :up_to) AS counted)
    FROM participant JOIN program ON program.id = participant.program_id
    WHERE participant.id = :sender
""")


def pairing_facts(conn: Connection, sender: model.Participant, pairing_id: int | None,
                  count_up_to: int = 1000) -> model.PairingFacts:
    """One statement: the program, the sender's status now, the pairing's hold and message count.

    The count stops at ``count_up_to``: pre-moderation only asks "fewer than N?" for a small N.
    """
    row = _FACTS.first(conn, sender=sender.id, pairing=pairing_id, up_to=count_up_to)
    if row is None:  # the sender was removed between RCPT and DATA
        return model.PairingFacts("default", "US", 0, False, "left")
    name, region, status, held, count = row
    return model.PairingFacts(
        program_name=name,
        region=region,
        pairing_count=int(count or 0) if pairing_id else 0,
        pairing_on_hold=bool(held),
        sender_status=status,
    )
