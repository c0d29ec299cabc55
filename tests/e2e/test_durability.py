"""Nothing is half-stored: a locked, full or failing store answers 451 and keeps nothing."""

from __future__ import annotations

import os
import sqlite3

import pytest
from datetime import timedelta

from sqlalchemy import event, text
from sqlmodel import select

from relay import service
from relay.store.tables import Delivery, Finding, Message
from tests.fixtures.harness import World
from tests.fixtures.harness import test_settings as settings_for

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"


def pair(world) -> str:
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    return mentor


def counts(world) -> tuple[int, int, int]:
    def work(session):
        return tuple(len(list(session.exec(select(t)))) for t in (Message, Delivery, Finding))

    return world.relay.db.run_sync(work)


def assert_451(reply) -> None:
    assert reply.code == 451 and reply.text.startswith("4.3.0"), reply
    assert "Error" not in reply.text and "Traceback" not in reply.text


@pytest.fixture
async def impatient_world(tmp_path, sink, clock):
    """A relay whose SQLite lock wait is a quarter second (the URL's timeout)."""
    url = f"sqlite:///{tmp_path / 'relay.db'}?timeout=0.25"
    relay = service.build(settings_for(tmp_path, url, sink.port), clock=clock)
    await service.start(relay, listen=True, work=False)
    yield World(relay, sink, clock)
    await service.stop(relay)


async def test_a_database_locked_by_another_process_answers_451_and_keeps_nothing(impatient_world, tmp_path):
    world = impatient_world
    mentor = pair(world)
    other = sqlite3.connect(tmp_path / "relay.db", timeout=0)
    other.execute("BEGIN EXCLUSIVE")
    try:
        assert_451(await world.send(MENTEE, mentor, "locked out", "please keep me"))
    finally:
        other.rollback()
        other.close()
    assert counts(world) == (0, 0, 0)
    assert (await world.send(MENTEE, mentor, "locked out", "please keep me")).code == 250  # the client's retry
    assert counts(world)[:2] == (1, 1)


async def test_a_full_disk_answers_451_and_keeps_nothing(world):
    mentor = pair(world)
    engine = world.relay.db.engine
    pages = world.relay.db.run_sync(lambda s: s.connection().exec_driver_sql("PRAGMA page_count").scalar())

    def full(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")  # SQLite answers "database or disk is full"

    event.listen(engine, "connect", full)
    engine.dispose()
    big = "A long letter that does not fit. " * 4000
    assert_451(await world.send(MENTEE, mentor, "too much", big))
    event.remove(engine, "connect", full)
    engine.dispose()
    assert counts(world) == (0, 0, 0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only permissions")
async def test_a_read_only_data_directory_answers_451_and_keeps_nothing(world):
    mentor = pair(world)
    data_dir = world.relay.settings.data_dir
    database = data_dir / "relay.db"
    world.relay.db.engine.dispose()
    modes = {p: p.stat().st_mode for p in [data_dir, *data_dir.glob("relay.db*")]}
    for path in modes:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        assert_451(await world.send(MENTEE, mentor, "read only", "body"))
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
        world.relay.db.engine.dispose()
    assert database.exists() and counts(world) == (0, 0, 0)


async def test_an_exception_inside_the_store_transaction_rolls_everything_back(world):
    mentor = pair(world)
    # The mentor is away, so the away-note step runs inside the accepting transaction, after
    # the message rows are written; with its job table gone, that step fails for real.
    away = world.clock.now() + timedelta(days=3)
    world.relay.db.run_sync(lambda s: s.execute(
        text("UPDATE participant SET away_until = :until WHERE email = :email"), {"until": away, "email": MENTOR}))
    world.relay.db.run_sync(lambda s: s.execute(text("ALTER TABLE job RENAME TO job_aside")))
    try:
        assert_451(await world.send(MENTEE, mentor, "half?", "never half-stored", X_Test="1"))
        assert counts(world) == (0, 0, 0)
    finally:
        world.relay.db.run_sync(lambda s: s.execute(text("ALTER TABLE job_aside RENAME TO job")))
    assert (await world.send(MENTEE, mentor, "whole", "stored")).code == 250
    await world.flush()
    assert [r.message["Subject"] for r in world.sink.received if r.message["Subject"] == "whole"] == ["whole"]
