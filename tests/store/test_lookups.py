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
        mentor = directory.add_participant(session, program, "sam@mail.example.com", model.Role.MENTOR, "Sam", START,
                                           entropy, timezone="Europe/Berlin")
        mentee = directory.add_participant(session, program, "jo@school.example.net", model.Role.MENTEE, "Jo", START,
                                           entropy, premoderate=True)
        mentor.away_until = START + timedelta(days=3)
        pairing = directory.pair(session, mentor, mentee, START)
        return directory.to_value(mentor), directory.to_value(mentee), pairing.id

    mentor, mentee, pairing_id = db.run_sync(setup)
    with db.reader.connect() as conn:
        kinds = lookups.AliasKinds()
        assert kinds.known(mentor.alias) is None
        assert kinds.read(conn, mentor.alias.upper()) == "participant" and kinds.known(mentor.alias) == "participant"
        assert kinds.read(conn, "never-issued") == "participant" and kinds.known("never-issued") is None

        found = lookups.pair_route(conn, "jo@SCHOOL.example.net", mentor.alias.upper())
        assert found.enrolled and found.recipient == mentor and found.sender == mentee
        assert found.recipient.away_until == START + timedelta(days=3) and found.recipient.timezone == "Europe/Berlin"
        assert found.open_pairing == pairing_id and found.closed_pairing is None
        assert found.facts == model.PairingFacts("default", "US", 0, False, "active")
        assert lookups.pair_route(conn, "jo@school.example.net", mentee.alias).sender == mentee  # to oneself
        assert lookups.pair_route(conn, "Sam@MAIL.example.com", mentee.alias).sender == mentor

        stranger = lookups.pair_route(conn, "x@y.example", mentor.alias)
        assert not stranger.enrolled and stranger.recipient == mentor and stranger.sender is None
        assert stranger.open_pairing is None and stranger.facts is None
        nobody = lookups.pair_route(conn, "jo@school.example.net", "never-issued")
        assert nobody.enrolled and nobody.recipient is None and nobody.sender is None and nobody.open_pairing is None

        facts = lookups.pairing_facts(conn, mentee, pairing_id)
        assert facts == model.PairingFacts("default", "US", 0, False, "active")
        assert lookups.pairing_facts(conn, mentee, None).pairing_count == 0


def test_the_rcpt_statement_reads_holds_counts_and_closed_pairings(db):
    """The one RCPT statement against what the ORM says, as the pairing moves on."""
    from relay.store.tables import Message, Pairing

    def setup(session):
        program = directory.add_program(session, "default", START)
        other = directory.add_program(session, "other", START)
        mentor = directory.add_participant(session, program, "sam@mail.example.com", model.Role.MENTOR, "Sam",
                                           START, entropy)
        mentee = directory.add_participant(session, program, "jo@school.example.net", model.Role.MENTEE, "Jo",
                                           START, entropy)
        directory.add_participant(session, other, "jo@school.example.net", model.Role.MENTEE, "Jo", START, entropy)
        pairing = directory.pair(session, mentor, mentee, START)
        pairing.held_by_moderator = True
        for n in range(5):
            session.add(Message(program_id=program.id, kind="participant", sender_id=mentee.id,
                                pairing_id=pairing.id, envelope_from=mentee.email, envelope_rcpts="x",
                                peer="127.0.0.1", helo="h", received_at=START + timedelta(minutes=n),
                                raw=b"x", status="stored"))
        return mentor.alias, pairing.id

    alias, pairing_id = db.run_sync(setup)
    with db.reader.connect() as conn:
        held = lookups.pair_route(conn, "jo@school.example.net", alias, count_up_to=3)
        assert held.sender.program_id == held.recipient.program_id  # not the same address in the other program
        assert held.facts.pairing_on_hold and held.facts.pairing_count == 3
        assert lookups.pair_route(conn, "jo@school.example.net", alias, count_up_to=100).facts.pairing_count == 5

    def close(session):
        session.get(Pairing, pairing_id).status = "closed"

    db.run_sync(close)
    with db.reader.connect() as conn:
        closed = lookups.pair_route(conn, "jo@school.example.net", alias)
        assert closed.open_pairing is None and closed.closed_pairing == pairing_id and closed.facts is None
