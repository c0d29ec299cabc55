"""Programs, participants, aliases and pairings. Query functions never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy import insert, or_, update
from sqlmodel import Session, select

from relay import model
from relay.addresses import make_alias, normalise
from relay.store.tables import Alias, Pairing, Participant, ParticipantName, Program


class DirectoryError(ValueError):
    """A directory change that cannot be made; the message says why."""


def get_or_create_program(session: Session, name: str, now: datetime) -> Program:
    """The configured program, created on first use (``relayctl init``); any other is made with ``add_program``."""
    program = session.exec(select(Program).where(Program.name == name)).first()
    if program is None:
        program = Program(name=name, created_at=now)
        session.add(program)
        session.flush()
    return program


def add_program(session: Session, name: str, now: datetime, timezone: str = "UTC") -> Program:
    if session.exec(select(Program).where(Program.name == name)).first() is not None:
        raise DirectoryError(f"there is already a program named {name!r}")
    program = Program(name=name, timezone=timezone or "UTC", created_at=now)
    session.add(program)
    session.flush()
    return program


def get_program(session: Session, name: str) -> Program:
    program = session.exec(select(Program).where(Program.name == name)).first()
    if program is None:
        known = [p for p in session.exec(select(Program.name).order_by(Program.name))]
        listed = f"the programs are {', '.join(known)}" if known else "there are no programs yet"
        raise DirectoryError(f"no program named {name!r} ({listed}; 'relayctl program add NAME' creates one)")
    return program


def issue_alias(session: Session, kind: str, owner_id: int, now: datetime, entropy: Callable[[], bytes]) -> str:
    """Record a fresh alias forever; retried on the (astronomically rare) collision."""
    for _ in range(8):
        local = make_alias(entropy())
        if session.get(Alias, local) is None:
            session.add(Alias(local_part=local, kind=kind, owner_id=owner_id, created_at=now))
            session.flush()
            return local
    raise DirectoryError("could not find an unused alias; check the entropy source")


def alias_kind(session: Session, local_part: str) -> str:
    """``circle`` for a circle's alias; anything else is looked up as a participant's."""
    row = session.get(Alias, local_part.lower())
    return "circle" if row is not None and row.kind == "circle" else "participant"


def add_participant(
    session: Session,
    program: Program,
    email: str,
    role: model.Role,
    handle: str,
    now: datetime,
    entropy: Callable[[], bytes],
    premoderate: bool = False,
    timezone: str = "",
    guardian_email: str | None = None,
) -> Participant:
    if find_participant(session, program.id, email) is not None:
        raise DirectoryError(f"{email} is already enrolled in program {program.name!r}")
    if handle_key(handle) in program_handles(session, program.id):
        raise DirectoryError(f"the handle {handle!r} is already taken in program {program.name!r}; handles must differ")
    alias = issue_alias(session, "participant", 0, now, entropy)
    participant = Participant(
        program_id=program.id,
        email=email,
        alias=alias,
        handle=handle,
        role=role.value,
        premoderate=premoderate,
        timezone=timezone,
        guardian_email=guardian_email,
        created_at=now,
    )
    session.add(participant)
    session.flush()
    session.get(Alias, alias).owner_id = participant.id
    masking_changed(session, program.id)
    session.flush()
    return participant


def handle_key(handle: str) -> str:
    """Handles are unique within a program whatever their case ("Guide 0" and "guide 0" are one)."""
    return " ".join(handle.split()).casefold()


def program_handles(session: Session, program_id: int) -> dict[str, int]:
    """Every handle of a program, by ``handle_key``, with its participant's id."""
    rows = session.exec(select(Participant.handle, Participant.id).where(Participant.program_id == program_id))
    return {handle_key(handle): pid for handle, pid in rows}


def program_emails(session: Session, program_id: int) -> dict[str, Participant]:
    return {p.email: p for p in session.exec(select(Participant).where(Participant.program_id == program_id))}


def add_participants(
    session: Session, program: Program, people: list[dict], now: datetime, entropy: Callable[[], bytes]
) -> list[Participant]:
    """Enrol many at once, checked by the caller: two batched inserts instead of a round trip per person.

    ``people`` are dicts of ``email, role, handle, timezone, guardian_email``.
    Aliases are drawn fresh; the rare collision with an alias ever issued is drawn again.
    """
    if not people:
        return []
    locals_ = _fresh_aliases(session, len(people), entropy)
    rows = [
        Participant(program_id=program.id, alias=local, created_at=now, premoderate=False, **person)
        for local, person in zip(locals_, people)
    ]
    session.add_all(rows)
    session.flush()
    session.execute(
        insert(Alias),
        [dict(local_part=row.alias, kind="participant", owner_id=row.id, created_at=now) for row in rows],
    )
    return rows


def _fresh_aliases(session: Session, count: int, entropy: Callable[[], bytes]) -> list[str]:
    chosen: list[str] = []
    for _ in range(8):
        wanted = {make_alias(entropy()) for _ in range(count - len(chosen))} - set(chosen)
        taken = set(session.exec(select(Alias.local_part).where(Alias.local_part.in_(wanted)))) if wanted else set()
        chosen += sorted(wanted - taken)
        if len(chosen) == count:
            return chosen
    raise DirectoryError("could not find unused aliases; check the entropy source")


def search_participants(session: Session, program_id: int | None, text: str, domain: str) -> list[Participant]:
    """People whose address, handle or alias contains ``text`` (any case); a whole alias address works too."""
    needle = text.strip().lower()
    if needle.endswith("@" + domain.lower()):
        needle = needle[: -len(domain) - 1]
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = select(Participant).where(
        or_(
            Participant.email.ilike(pattern, escape="\\"),
            Participant.handle.ilike(pattern, escape="\\"),
            Participant.alias.ilike(pattern, escape="\\"),
        )
    ).order_by(Participant.id)
    if program_id is not None:
        query = query.where(Participant.program_id == program_id)
    return list(session.exec(query))


def find_participant(session: Session, program_id: int, email: str) -> Participant | None:
    return session.exec(
        select(Participant).where(Participant.program_id == program_id, Participant.email == normalise(email))
    ).first()


def participants_by_email(session: Session, email: str) -> list[Participant]:
    return list(session.exec(select(Participant).where(Participant.email == normalise(email))))


def participant_by_alias(session: Session, local_part: str) -> Participant | None:
    return session.exec(select(Participant).where(Participant.alias == local_part.lower())).first()


def require_participant(session: Session, program: Program, email: str) -> Participant:
    participant = find_participant(session, program.id, email)
    if participant is None:
        raise DirectoryError(f"{email} is not enrolled in program {program.name!r}")
    return participant


def list_participants(session: Session, program_id: int | None = None) -> list[Participant]:
    query = select(Participant).order_by(Participant.id)
    if program_id is not None:
        query = query.where(Participant.program_id == program_id)
    return list(session.exec(query))


def program_participants(session: Session, program_id: int) -> list[Participant]:
    return list(session.exec(select(Participant).where(Participant.program_id == program_id)))


def masking_maps(
    people: list[Participant], domain: str, names: dict[int, list[str]] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(real address -> alias address, real display name -> handle) for scrubbing text about these people.

    `names` adds each person's earlier display names (see ``delivery_reads.names_of``).
    Names shorter than three characters are left out: they would match inside ordinary words.
    """
    address_map = {p.email.lower(): f"{p.alias}@{domain}" for p in people}
    name_map: dict[str, str] = {}
    for p in people:
        for name in [p.display_name, *(names or {}).get(p.id, [])]:
            if name and len(name) >= 3:
                name_map.setdefault(name, p.handle)
    return address_map, name_map


def masking_changed(session: Session, program_id: int) -> None:
    """Say that the program's real addresses changed (enrolment, erasure, a new address):
    every cached address book of the program is rebuilt before its next copy."""
    session.execute(
        update(Program).where(Program.id == program_id).values(mask_version=Program.mask_version + 1)
    )


def learn_name(session: Session, participant_id: int, name: str, now: datetime) -> None:
    """Remember a display name the participant wrote; the newest is also their display_name."""
    name = " ".join(str(name or "").split())[:200]
    if not name:
        return
    known = session.execute(
        select(ParticipantName.id).where(ParticipantName.participant_id == participant_id, ParticipantName.name == name)
    ).first()
    if known is None:
        session.add(ParticipantName(participant_id=participant_id, name=name, first_seen_at=now))
    row = session.get(Participant, participant_id)
    if row is not None and row.display_name != name:
        row.display_name = name
    session.flush()


def pair(session: Session, mentor: Participant, mentee: Participant, now: datetime) -> Pairing:
    if mentor.role != model.Role.MENTOR.value:
        raise DirectoryError(f"{mentor.email} is a {mentor.role}, not a mentor")
    if mentee.role != model.Role.MENTEE.value:
        raise DirectoryError(f"{mentee.email} is a {mentee.role}, not a mentee")
    if active_pairing(session, mentor.id, mentee.id) is not None:
        raise DirectoryError(f"{mentor.email} and {mentee.email} are already paired")
    pairing = Pairing(program_id=mentor.program_id, mentor_id=mentor.id, mentee_id=mentee.id, created_at=now)
    session.add(pairing)
    session.flush()
    return pairing


def active_pairing(session: Session, a_id: int, b_id: int) -> Pairing | None:
    """The open pairing between two participants, whichever side is the mentor."""
    return session.exec(
        select(Pairing).where(
            Pairing.status.in_(("active", "closing")),
            or_(
                (Pairing.mentor_id == a_id) & (Pairing.mentee_id == b_id),
                (Pairing.mentor_id == b_id) & (Pairing.mentee_id == a_id),
            ),
        )
    ).first()


def pairings_of(session: Session, participant_id: int, open_only: bool = True) -> list[Pairing]:
    query = select(Pairing).where(or_(Pairing.mentor_id == participant_id, Pairing.mentee_id == participant_id))
    if open_only:
        query = query.where(Pairing.status.in_(("active", "closing")))
    return list(session.exec(query))


def list_pairings(session: Session, program_id: int | None = None) -> list[Pairing]:
    query = select(Pairing).order_by(Pairing.id)
    if program_id is not None:
        query = query.where(Pairing.program_id == program_id)
    return list(session.exec(query))


def staff(session: Session, program_id: int, role: model.Role) -> list[Participant]:
    return list(
        session.exec(
            select(Participant).where(
                Participant.program_id == program_id, Participant.role == role.value, Participant.status == "active"
            )
        )
    )


def to_value(row: Participant) -> model.Participant:
    """The frozen form handed to the pure core."""
    return model.Participant(
        id=row.id,
        program_id=row.program_id,
        email=row.email,
        alias=row.alias,
        handle=row.handle,
        role=model.Role(row.role),
        status=row.status,
        premoderate=row.premoderate,
        timezone=row.timezone,
        display_name=row.display_name,
        away_until=row.away_until,
    )
