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

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from relay import model
from relay.addresses import normalise
from relay.store.rows import Statement, moment


def person(row) -> model.Participant:
    """A participant row (the columns of ``_PERSON``, in order) as the pure core's value."""
    pid, program_id, email, alias, handle, role, status, premoderate, tz, display_name, away_until = row
    return model.Participant(
        id=pid, program_id=program_id, email=email, alias=alias, handle=handle, role=model.Role(role), status=status,
        premoderate=bool(premoderate), timezone=tz, display_name=display_name, away_until=moment(away_until),
    )


_PERSON = ("id", "program_id", "email", "alias", "handle", "role", "status", "premoderate", "timezone",
           "display_name", "away_until")
_ALIAS_KIND = Statement("SELECT kind FROM alias WHERE local_part = :local")


class AliasKinds:
    """Whether an alias is a circle's or a participant's, remembered once read.

    An alias is issued once, for one kind, and its row is kept for ever (an
    erased person's alias is retired, not freed), so a kind once read never
    changes; only an alias not (yet) in the registry is asked again. Every
    RCPT to an alias asks this first.
    """

    LIMIT = 100_000  # aliases remembered before the memory starts over

    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def known(self, local_part: str) -> str | None:
        """The kind without asking the store, if this alias was seen before."""
        return self._known.get(local_part.lower())

    def read(self, conn: Connection, local_part: str) -> str:
        """``circle`` for a circle's alias; anything else is looked up as a participant's."""
        local = local_part.lower()
        row = _ALIAS_KIND.first(conn, local=local)
        if row is None:
            return "participant"
        if len(self._known) >= self.LIMIT:
            self._known.clear()
        kind = self._known[local] = "circle" if row[0] == "circle" else "participant"
        return kind


@dataclass(frozen=True)
class PairRoute:
    """What RCPT to a participant's alias needs to know, read in one statement (see ``pair_route``)."""

    enrolled: bool  # the envelope sender is enrolled in some program
    recipient: model.Participant | None  # the alias's owner
    sender: model.Participant | None  # the envelope sender in the recipient's program
    open_pairing: int | None  # their newest active or closing pairing
    closed_pairing: int | None  # their newest closed one, looked for only when none is open
    facts: model.PairingFacts | None  # what the policy asks at DATA, when there is an open pairing


def _between(statuses: str, a: str, b: str) -> str:
    """The newest pairing of participants ``a`` and ``b`` (column expressions), whichever is the mentor."""
    return (f"(SELECT pairing.id FROM pairing WHERE ((pairing.mentor_id = {a} AND pairing.mentee_id = {b})"
            f" OR (pairing.mentor_id = {b} AND pairing.mentee_id = {a}))"
            f" AND pairing.status IN ({statuses}) ORDER BY pairing.id DESC LIMIT 1)")


_PAIR_ROUTE = Statement(f"""
    SELECT found.*,
           CASE WHEN found.open_id IS NULL THEN {_between("'closed'", "found.s_id", "found.r_id")} END,
           (SELECT held_by_moderator FROM pairing WHERE pairing.id = found.open_id),
           (SELECT count(*) FROM (SELECT message.id FROM message WHERE message.pairing_id = found.open_id
                                  LIMIT :up_to) AS counted)
    FROM (
        SELECT EXISTS (SELECT 1 FROM participant WHERE participant.email = :email) AS enrolled,
               {", ".join(f"r.{c} AS r_{c}" for c in _PERSON)},
               {", ".join(f"s.{c} AS s_{c}" for c in _PERSON)},
               program.name AS program_name, program.region AS program_region,
               {_between("'active', 'closing'", "s.id", "r.id")} AS open_id
        FROM (SELECT 1 AS here) AS here
        LEFT JOIN participant AS r ON r.alias = :alias
        LEFT JOIN participant AS s ON s.email = :email AND s.program_id = r.program_id
        LEFT JOIN program ON program.id = s.program_id
    ) AS found
""")


def pair_route(conn: Connection, mail_from: str, local_part: str, count_up_to: int = 1000) -> PairRoute:
    """Who the alias is, who the writer is there, their pairings and the policy's facts: one statement.

    Asked on every RCPT to a participant, so one trip to the store (and one
    snapshot of it) instead of one per question. The message count stops at
    ``count_up_to``: pre-moderation only asks "fewer than N?" for a small N.
    """
    row = _PAIR_ROUTE.first(conn, email=normalise(mail_from), alias=local_part.lower(), up_to=count_up_to)
    width = len(_PERSON)
    recipient_row, sender_row = row[1:1 + width], row[1 + width:1 + 2 * width]
    name, region, open_id, closed_id, held, count = row[1 + 2 * width:]
    sender = person(sender_row) if sender_row[0] is not None else None
    facts = None
    if open_id is not None and sender is not None:
        facts = model.PairingFacts(program_name=name, region=region, pairing_count=int(count or 0),
                                   pairing_on_hold=bool(held), sender_status=sender.status)
    return PairRoute(
        enrolled=bool(row[0]),
        recipient=person(recipient_row) if recipient_row[0] is not None else None,
        sender=sender,
        open_pairing=open_id,
        closed_pairing=closed_id,
        facts=facts,
    )


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
