"""What one masked copy depends on, read from the store at send time.

Addresses: every participant of the program is masked, so the copy needs
the program's whole address book; it is built once per program and kept on
the database connection, and rebuilt when the program's masking stamp says
someone was enrolled or erased since (read with the delivery, at send time,
so a delivery queued before an enrolment still masks the newcomer; the book
itself is read after the stamp, so it is never older than the stamp says).
Names: only the writer's and the recipient's, every spelling they have used,
so a copy in one pairing never changes because of a name in another.
"""

from __future__ import annotations

from typing import Any


from relay.outbound.scrub import AddressBook
from relay.store import delivery_reads, directory
from relay.store.delivery_reads import Person
from relay.store.rows import connection_of

_CACHE = "relay.masking.address_books"  # key in the connection's info dictionary


def program_book(session: Any, program_id: int, domain: str,
                 stamp: tuple[int, int, int] | None = None) -> AddressBook:
    """The program's address book, from the connection's cache while its stamp holds.

    ``stamp``: the program's masking stamp when the caller has just read it (see ``delivery_reads.job``).
    """
    conn = connection_of(session)
    if stamp is None:
        stamp = delivery_reads.masking_stamp(conn, program_id)
    cache: dict = conn.info.setdefault(_CACHE, {})
    cached = cache.get((program_id, domain))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    addresses = delivery_reads.program_addresses(conn, program_id)
    book = AddressBook({email: f"{alias}@{domain}" for email, alias in addresses})
    cache[(program_id, domain)] = (stamp, book)
    return book


def side_names(conn: Any, sender: Person, recipient: Person) -> dict[str, str]:
    """Every display name the copy's two sides have used -> their handle."""
    history = delivery_reads.names_of(conn, sender.id, recipient.id)
    return directory.masking_maps([sender, recipient], "", history)[1]


def copy_maps(conn: Any, program_id: int, circle_id: int | None, sides: delivery_reads.Sides,
              domain: str) -> tuple[AddressBook, dict[str, str]]:
    """(address book, names) for one copy from ``sides.sender`` to ``sides.recipient``."""
    book = program_book(conn, program_id, domain, sides.stamp)
    if circle_id is not None:
        # Members may be enrolled in other programs too: every member's address maps to their alias.
        members = delivery_reads.circle_addresses(conn, circle_id)
        book = book.with_extra({email.lower(): f"{alias}@{domain}" for email, alias in members
                                if email.lower() not in book})
    return book, side_names(conn, sides.sender, sides.recipient)
