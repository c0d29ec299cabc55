"""What one masked copy depends on, read from the store at send time.

Addresses: every participant of the program is masked, so the copy needs
the program's whole address book; it is built once per program and kept on
the database connection, and rebuilt when the program's masking stamp says
someone was enrolled or erased since (read in the same transaction as the
delivery, so a delivery queued before an enrolment still masks the newcomer).
Names: only the writer's and the recipient's, every spelling they have used,
so a copy in one pairing never changes because of a name in another.
"""

from __future__ import annotations

from sqlmodel import Session

from relay.outbound.scrub import AddressBook
from relay.store import circles as circle_store
from relay.store import directory
from relay.store.tables import Message, Participant

_CACHE = "relay.masking.address_books"  # key in the connection's info dictionary


def program_book(session: Session, program_id: int, domain: str) -> AddressBook:
    """The program's address book, from the connection's cache while its stamp holds."""
    stamp = directory.masking_stamp(session, program_id)
    cache: dict = session.connection().info.setdefault(_CACHE, {})
    cached = cache.get((program_id, domain))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    book = AddressBook({email: f"{alias}@{domain}" for email, alias in directory.program_addresses(session, program_id)})
    cache[(program_id, domain)] = (stamp, book)
    return book


def side_names(session: Session, *people: Participant) -> dict[str, str]:
    """Every display name the copy's two sides have used -> their handle."""
    history = directory.names_of(session, [p.id for p in people])
    return directory.masking_maps(list(people), "", history)[1]


def copy_maps(
    session: Session, message: Message, sender: Participant, recipient: Participant, domain: str
) -> tuple[AddressBook, dict[str, str]]:
    """(address book, names) for one copy of `message` from `sender` to `recipient`."""
    book = program_book(session, message.program_id, domain)
    if message.circle_id is not None:
        # Members may be enrolled in other programs too: every member's address maps to their alias.
        members = circle_store.members(session, message.circle_id, active_only=False)
        book = book.with_extra({p.email.lower(): f"{p.alias}@{domain}" for _, p in members if p.email.lower() not in book})
    return book, side_names(session, sender, recipient)
