"""Enrolment rules in the store on every backend: handles unique in a program whatever their case,
many enrolled at once with fresh aliases, search by address, handle or alias, explicit programs."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from relay import model
from relay.store import directory
from relay.store.tables import Alias

START = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def entropy():
    return secrets.token_bytes(16)


def test_handles_are_unique_in_a_program_but_not_across_programs(db):
    def work(session):
        a = directory.add_program(session, "spring", START)
        b = directory.add_program(session, "autumn", START)
        directory.add_participant(session, a, "g1@example.com", model.Role.MENTOR, "Guide 0", START, entropy)
        with pytest.raises(directory.DirectoryError, match="already taken"):
            directory.add_participant(session, a, "g2@example.com", model.Role.MENTOR, "guide  0", START, entropy)
        directory.add_participant(session, b, "g2@example.com", model.Role.MENTOR, "GUIDE 0", START, entropy)
        with pytest.raises(directory.DirectoryError, match="already a program"):
            directory.add_program(session, "spring", START)

    db.run_sync(work)
    with pytest.raises(directory.DirectoryError, match="no program named 'sprnig'.*spring"):
        db.run_sync(lambda s: directory.get_program(s, "sprnig"))


def test_many_at_once_get_fresh_aliases_each_recorded_with_its_owner(db):
    def work(session):
        program = directory.add_program(session, "spring", START)
        people = [dict(email=f"p{n}@example.net", role="mentee", handle=f"P {n}", timezone="", guardian_email=None)
                  for n in range(300)]
        people[0]["guardian_email"] = "parent@home.example"
        rows = directory.add_participants(session, program, people, START, entropy)
        owners = dict(session.exec(select(Alias.local_part, Alias.owner_id)).all())
        return [(r.id, r.alias, r.guardian_email) for r in rows], owners

    rows, owners = db.run_sync(work)
    assert len({alias for _, alias, _ in rows}) == 300
    assert all(owners[alias] == pid for pid, alias, _ in rows)
    assert rows[0][2] == "parent@home.example" and rows[1][2] is None


def test_search_by_address_handle_or_alias_treats_wildcards_as_text(db):
    def work(session):
        program = directory.add_program(session, "spring", START)
        jo = directory.add_participant(session, program, "jo_kim@example.net", model.Role.MENTEE, "Jo 100%", START, entropy)
        directory.add_participant(session, program, "sam@example.com", model.Role.MENTOR, "Sam", START, entropy)
        found = lambda text: [p.handle for p in directory.search_participants(session, program.id, text, "mentor.test")]  # noqa: E731
        assert found("JO_KIM") == ["Jo 100%"] and found("100%") == ["Jo 100%"]
        assert found(f"{jo.alias}@mentor.test") == ["Jo 100%"] and found(jo.alias.upper()) == ["Jo 100%"]
        assert found("o_k") == ["Jo 100%"] and found("%") == ["Jo 100%"] and found("_") == ["Jo 100%"]
        assert found("example") == ["Jo 100%", "Sam"] and found("nobody") == []

    db.run_sync(work)
