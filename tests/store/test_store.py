"""The store on SQLite and (when configured) PostgreSQL: schema, directory, queue, threading ids."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel, select

from relay import model
from relay.store import delivery_reads, directory, messages, queue, schema
from relay.store.queue import Outcome
from relay.store.tables import Alias, Delivery, Message
from relay.store.writer import BatchWriter
from datetime import datetime, timezone

START = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)


def entropy():
    return secrets.token_bytes(16)


def enrol(db, email, role, handle=None):
    handle = handle or email.partition("@")[0]  # handles are unique in a program

    def work(session):
        program = directory.get_or_create_program(session, "default", START)
        return directory.add_participant(session, program, email, model.Role(role), handle, START, entropy)

    return db.run_sync(work)


def test_migrations_build_exactly_the_tables_the_code_declares(db):
    assert schema.current_revision(db.engine) == schema.head_revision(db.engine)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_is_idempotent(db):
    assert schema.upgrade(db.engine) == schema.upgrade(db.engine)


def test_sqlite_is_durable(db):
    if db.dialect != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_aliases_are_unique_recorded_and_enrolment_is_not_duplicated(db):
    a = enrol(db, "a@example.com", "mentor")
    b = enrol(db, "b@example.com", "mentee")
    assert a.alias != b.alias
    assert a.alias == a.alias.lower() and a.alias.isascii()
    aliases = db.run_sync(lambda s: {row.local_part: row.owner_id for row in s.exec(select(Alias))})
    assert aliases == {a.alias: a.id, b.alias: b.id}
    with pytest.raises(directory.DirectoryError, match="already enrolled"):
        enrol(db, "A@example.com".lower(), "mentor")


def test_pairing_rules(db):
    mentor = enrol(db, "m@example.com", "mentor")
    mentee = enrol(db, "e@example.com", "mentee")
    db.run_sync(lambda s: directory.pair(s, mentor, mentee, START))
    with pytest.raises(directory.DirectoryError, match="already paired"):
        db.run_sync(lambda s: directory.pair(s, mentor, mentee, START))
    with pytest.raises(directory.DirectoryError, match="not a mentor"):
        db.run_sync(lambda s: directory.pair(s, mentee, mentor, START))
    assert db.run_sync(lambda s: directory.active_pairing(s, mentee.id, mentor.id)) is not None


def _message_with_deliveries(session, sender_id, recipient_id, count=1, original_id="<orig@example.com>"):
    message_id = messages.insert_message(
        session, program_id=1, sender_id=sender_id, received_at=START, raw=b"x", original_message_id=original_id,
        envelope_rcpts=["r@mentor.test"],
    )
    rows = [dict(message_id=message_id, recipient_id=recipient_id, rcpt_email="r@example.com",
                 masked_message_id=f"<m{message_id}-{i}@mentor.test>", created_at=START,
                 next_attempt_at=START, expires_at=START + timedelta(days=5)) for i in range(count)]
    return message_id, messages.insert_deliveries(session, rows)


def test_claims_never_overlap_and_expired_leases_come_back(db):
    mentor = enrol(db, "m@example.com", "mentor")
    mentee = enrol(db, "e@example.com", "mentee")
    db.run_sync(lambda s: _message_with_deliveries(s, mentee.id, mentor.id, count=5))
    first = db.run_sync(lambda s: queue.claim_due(s, START, "w1", 3))
    second = db.run_sync(lambda s: queue.claim_due(s, START, "w2", 3))
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert db.run_sync(lambda s: queue.claim_due(s, START, "w3", 10)) == []
    later = START + timedelta(minutes=11)  # w1 died: its lease ran out
    again = db.run_sync(lambda s: queue.claim_due(s, later, "w3", 10))
    assert set(again) == set(first) | set(second)
    # The late worker's result is refused: the delivery belongs to w3 now.
    assert db.run_sync(lambda s: queue.record_attempt(s, first[0], "w1", later, Outcome("delivered", 250))) is False
    assert db.run_sync(lambda s: queue.record_attempt(s, first[0], "w3", later, Outcome("delivered", 250))) is True


async def test_claims_race_between_instances(db):
    mentor = enrol(db, "m@example.com", "mentor")
    mentee = enrol(db, "e@example.com", "mentee")
    db.run_sync(lambda s: _message_with_deliveries(s, mentee.id, mentor.id, count=40))
    results = await asyncio.gather(*[db.run(lambda s, n=n: queue.claim_due(s, START, f"w{n}", 7)) for n in range(8)])
    claimed = [i for ids in results for i in ids]
    assert len(claimed) == 40 and len(set(claimed)) == 40


def test_attempts_move_the_message_status(db):
    mentor = enrol(db, "m@example.com", "mentor")
    mentee = enrol(db, "e@example.com", "mentee")
    message_id, (delivery_id,) = db.run_sync(lambda s: _message_with_deliveries(s, mentee.id, mentor.id))
    db.run_sync(lambda s: queue.claim_due(s, START, "w", 1))
    retry_at = START + timedelta(minutes=5)
    db.run_sync(lambda s: queue.record_attempt(s, delivery_id, "w", START, Outcome("deferred", 451, "busy", next_attempt_at=retry_at)))
    assert db.run_sync(lambda s: s.get(Message, message_id).status) == "queued"
    assert db.run_sync(lambda s: queue.claim_due(s, START, "w", 1)) == []
    assert db.run_sync(lambda s: queue.claim_due(s, retry_at, "w", 1)) == [delivery_id]
    db.run_sync(lambda s: queue.record_attempt(s, delivery_id, "w", retry_at, Outcome("delivered", 250)))
    delivery = db.run_sync(lambda s: s.get(Delivery, delivery_id))
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")
    assert db.run_sync(lambda s: s.get(Message, message_id).status) == "delivered"
    assert [a.outcome for a in db.run_sync(lambda s: queue.attempts_of(s, delivery_id))] == ["deferred", "delivered"]


def test_a_message_status_adds_up_its_forwarded_copies_and_leaves_its_notices_out(db):
    mentor = enrol(db, "m@example.com", "mentor")
    mentee = enrol(db, "e@example.com", "mentee")
    message_id, (one, two) = db.run_sync(lambda s: _message_with_deliveries(s, mentee.id, mentor.id, count=2))
    (notice,) = db.run_sync(lambda s: messages.insert_deliveries(s, [dict(
        message_id=message_id, kind="bounce-notice", rcpt_email="e@example.com", masked_message_id="<n@mentor.test>",
        created_at=START, next_attempt_at=START, expires_at=START + timedelta(days=2))]))
    assert sorted(db.run_sync(lambda s: queue.claim_due(s, START, "w", 3))) == sorted([one, two, notice])
    status = lambda: db.run_sync(lambda s: s.get(Message, message_id).status)  # noqa: E731
    db.run_sync(lambda s: queue.record_attempt(s, one, "w", START, Outcome("delivered", 250)))
    assert status() == "queued"  # the other copy is still on its way
    db.run_sync(lambda s: queue.record_attempt(s, two, "w", START, Outcome("delivered", 250)))
    assert status() == "delivered"
    db.run_sync(lambda s: queue.record_attempt(s, notice, "w", START, Outcome("failed", 550, "gone")))
    assert status() == "delivered"  # a notice about the message is not one of its copies


def test_thread_ids_cross_only_as_ids_the_recipient_knows(db):
    a = enrol(db, "a@example.com", "mentee")
    b = enrol(db, "b@example.com", "mentor")

    def setup(session):
        _, (to_b,) = _message_with_deliveries(session, a.id, b.id, original_id="<a1@a.example>")
        masked = session.get(Delivery, to_b).masked_message_id
        return masked

    masked_for_b = db.run_sync(setup)
    known = lambda sender, recipient, ids: db.lookup_sync(  # noqa: E731
        lambda conn: delivery_reads.known_ids(conn, sender.id, recipient.id, ids))
    # b replies quoting the copy it got: a knows that message by a's own original id.
    assert known(b, a, [masked_for_b, "<stranger@x>"]) == {masked_for_b: "<a1@a.example>", "<stranger@x>": ""}
    # a quotes its own original id: b knows it only by b's copy's id.
    assert known(a, b, ["<a1@a.example>"]) == {"<a1@a.example>": masked_for_b}
    # b cannot name a's original id to reach anything.
    assert known(b, a, ["<a1@a.example>"]) == {"<a1@a.example>": ""}


async def test_group_commit_isolates_a_failing_write(db):
    writer = BatchWriter(db)
    mentor = enrol(db, "m@example.com", "mentor")

    def good(n):
        return lambda s: messages.insert_message(s, program_id=1, sender_id=mentor.id, received_at=START, raw=b"ok%d" % n)

    def bad(session):
        session.execute(text("INSERT INTO no_such_table VALUES (1)"))

    outcomes = await asyncio.gather(*[writer.submit(good(n)) for n in range(10)], writer.submit(bad), return_exceptions=True)
    writer.close()
    assert sum(isinstance(o, int) for o in outcomes) == 10
    assert isinstance(outcomes[-1], Exception)
    assert db.run_sync(lambda s: len(list(s.exec(select(Message))))) == 10
