"""The hot-path lookups, plain SQL on the driver's cursor, give the same answers as the ORM on every backend."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from relay import model
from relay.store import directory, lookups

START = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def entropy():
    return secrets.token_bytes(16)


def test_every_lookup_answers_as_the_directory_does(db):
    def setup(session):
        program = directory.add_program(session, "default", START)
        mentor = directory.add_participant(session, program, "Sam@Mail.Example.com", model.Role.MENTOR, "Sam", START,
                                           entropy, timezone="Europe/Berlin")
        mentee = directory.add_participant(session, program, "jo@school.example.net", model.Role.MENTEE, "Jo", START,
                                           entropy, premoderate=True)
        mentor.away_until = START + timedelta(days=3)
        pairing = directory.pair(session, mentor, mentee, START)
        return directory.to_value(mentor), directory.to_value(mentee), pairing.id

    mentor, mentee, pairing_id = db.run_sync(setup)
    with db.reader.connect() as conn:
        assert lookups.alias_kind(conn, mentor.alias.upper()) == "participant"
        assert lookups.is_enrolled(conn, "jo@SCHOOL.example.net") and not lookups.is_enrolled(conn, "x@y.example")
        found = lookups.by_alias(conn, mentor.alias)
        assert found == mentor and found.away_until == START + timedelta(days=3) and found.timezone == "Europe/Berlin"
        assert lookups.by_email_in(conn, "jo@school.example.net", mentee.program_id) == mentee
        assert lookups.by_email_in(conn, "jo@school.example.net", mentee.program_id + 1) is None
        assert lookups.pairing_between(conn, mentee.id, mentor.id, lookups.OPEN) == pairing_id
        assert lookups.pairing_between(conn, mentee.id, mentor.id, ("closed",)) is None
        facts = lookups.pairing_facts(conn, mentee, pairing_id)
        assert facts == model.PairingFacts("default", "US", 0, False, "active")
        assert lookups.pairing_facts(conn, mentee, None).pairing_count == 0
