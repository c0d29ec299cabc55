"""The group-commit writer: claims, attempt records and accepted mail share commits, each answered after its commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text
from sqlmodel import select

from relay.store import messages, queue, schema
from relay.store.db import Database
from relay.store.queue import Outcome
from relay.store.tables import Attempt, Delivery, Message
from relay.store.writer import BatchWriter
from tests.store.test_store import START, _message_with_deliveries, enrol


@pytest.fixture
def writer(db):
    # The writer threads' batching: PostgreSQL's path, and SQLite's when another writer holds the lock.
    batch_writer = BatchWriter(db, threads=1, on_loop=False)  # one thread, so what waits behind it is one batch
    yield batch_writer
    batch_writer.close()


async def hold(writer: BatchWriter) -> tuple[asyncio.Future, threading.Event]:
    """Occupy the writer thread, so what is submitted next waits and goes in one batch."""
    started, release = threading.Event(), threading.Event()

    def blocker(connection):
        started.set()
        release.wait(10)

    blocked = asyncio.ensure_future(writer.submit_rows(blocker))
    await asyncio.to_thread(started.wait, 10)
    return blocked, release


def queued_deliveries(db, count: int) -> list[int]:
    a = enrol(db, "a@example.com", "mentee")
    b = enrol(db, "b@example.com", "mentor")
    return [db.run_sync(lambda s: _message_with_deliveries(s, a.id, b.id)[1][0]) for _ in range(count)]


async def test_claims_and_records_of_several_workers_go_in_one_commit(db, writer):
    ids = queued_deliveries(db, 6)
    blocked, release = await hold(writer)
    claims = [
        asyncio.ensure_future(writer.submit_rows(lambda c, n=n: queue.claim_due(c, START, f"w{n}", 2)))
        for n in range(3)
    ]
    await asyncio.sleep(0.05)  # all three wait behind the blocker
    before = writer.batches
    release.set()
    await blocked
    taken = await asyncio.gather(*claims)
    assert writer.batches == before + 2  # the blocker's commit, then one for all three claims
    assert sorted(i for group in taken for i in group) == sorted(ids)  # each copy claimed once
    owner = {i: f"w{n}" for n, group in enumerate(taken) for i in group}

    blocked, release = await hold(writer)
    done = Outcome("delivered", 250, "ok")
    records = [
        asyncio.ensure_future(writer.submit_rows(lambda c, i=i: queue.record_attempt(c, i, owner[i], START, done)))
        for i in ids
    ]
    await asyncio.sleep(0.05)
    before = writer.batches
    release.set()
    await blocked
    assert await asyncio.gather(*records) == [True] * len(ids)
    assert writer.batches == before + 2
    statuses = db.run_sync(lambda s: [d.status for d in s.exec(select(Delivery))])
    assert statuses == ["delivered"] * len(ids)
    assert db.run_sync(lambda s: len(list(s.exec(select(Attempt))))) == len(ids)


async def test_row_writes_and_orm_work_share_a_commit_and_a_failure_is_retried_alone(db, writer):
    (delivery_id,) = queued_deliveries(db, 1)
    mentor = enrol(db, "m@example.com", "mentor")
    blocked, release = await hold(writer)

    def accept(session):
        return messages.insert_message(session, program_id=1, sender_id=mentor.id, received_at=START, raw=b"new")

    def broken(connection):
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    pending = [
        asyncio.ensure_future(writer.submit(accept)),
        asyncio.ensure_future(writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5))),
        asyncio.ensure_future(writer.submit_rows(broken)),
    ]
    await asyncio.sleep(0.05)
    release.set()
    await blocked
    accepted, claimed, failed = await asyncio.gather(*pending, return_exceptions=True)
    assert isinstance(accepted, int) and claimed == [delivery_id]
    assert isinstance(failed, Exception)
    assert db.run_sync(lambda s: s.get(Message, accepted)) is not None
    assert db.run_sync(lambda s: s.get(Delivery, delivery_id).status) == "sending"


async def test_each_result_comes_only_after_its_commit(db, writer):
    (delivery_id,) = queued_deliveries(db, 1)
    ids = await writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5))
    # Another connection sees the claim as soon as the caller has its answer.
    assert ids == [delivery_id]
    with db.engine.connect() as other:
        row = other.execute(select(Delivery.status, Delivery.claimed_by).where(Delivery.id == delivery_id)).one()
    assert tuple(row) == ("sending", "w")


def test_writers_sharing_a_sqlite_file_queue_on_its_lock_past_the_busy_timeout(tmp_path):
    """Two Database objects stand for two relay processes: the second waits its turn instead of failing."""
    url = f"sqlite:///{tmp_path / 'relay.db'}?timeout=0.2"
    first, second = Database.from_url(url), Database.from_url(url)
    schema.upgrade(first.engine)
    inside, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def long_write():
        with first.transaction() as session:
            session.execute(text("CREATE TABLE held (n INTEGER)"))
            inside.set()
            release.wait(10)

    def other_write():
        try:
            second.run_sync(lambda s: s.execute(text("CREATE TABLE waited (n INTEGER)")))
            outcome["ok"] = True
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = error

    holder = threading.Thread(target=long_write)
    holder.start()
    inside.wait(10)
    waiter = threading.Thread(target=other_write)
    waiter.start()
    # Three busy timeouts: SQLite alone would have given up by now. Watched with sleeps rather than a
    # timed join, whose deadline libfaketime's moved clock (the CI's second pass) would never reach.
    until = time.monotonic() + 0.6
    while time.monotonic() < until and waiter.is_alive():
        time.sleep(0.05)
    assert waiter.is_alive() and not outcome
    release.set()
    holder.join(10)
    waiter.join(10)
    assert outcome == {"ok": True}
    first.close()
    second.close()


# On a SQLite file the writer commits on the loop that submitted the work, when the store is free at once.


@pytest.fixture
def loop_writer(file_db):
    batch_writer = BatchWriter(file_db)
    assert batch_writer.on_loop  # a SQLite file's default
    yield batch_writer
    batch_writer.close()


async def test_on_a_sqlite_file_the_work_of_one_turn_of_the_loop_is_one_commit_made_on_the_loop(file_db, loop_writer):
    ids = queued_deliveries(file_db, 6)
    mentor = enrol(file_db, "m@example.com", "mentor")
    on_loop = threading.get_ident()
    threads = []

    def claim(connection, n):
        threads.append(threading.get_ident())
        return queue.claim_due(connection, START, f"w{n}", 2)

    def accept(session):
        threads.append(threading.get_ident())
        return messages.insert_message(session, program_id=1, sender_id=mentor.id, received_at=START, raw=b"new")

    before = loop_writer.batches
    *taken, accepted = await asyncio.gather(
        *(loop_writer.submit_rows(lambda c, n=n: claim(c, n)) for n in range(3)), loop_writer.submit(accept)
    )
    assert loop_writer.batches == before + 1 and loop_writer.loop_batches == 1
    assert threads == [on_loop] * 4
    assert sorted(i for group in taken for i in group) == sorted(ids)  # each copy claimed once
    # Committed before the answers came: another connection sees all of it.
    with file_db.engine.connect() as other:
        assert other.execute(select(Message.id).where(Message.id == accepted)).scalar_one() == accepted
        claimed = other.execute(select(Delivery.claimed_by).where(Delivery.id.in_(ids))).scalars().all()
    assert sorted(claimed) == ["w0", "w0", "w1", "w1", "w2", "w2"]


async def test_on_the_loop_a_failing_piece_of_work_fails_alone(file_db, loop_writer):
    (delivery_id,) = queued_deliveries(file_db, 1)
    mentor = enrol(file_db, "m@example.com", "mentor")

    def accept(session):
        return messages.insert_message(session, program_id=1, sender_id=mentor.id, received_at=START, raw=b"new")

    def broken(connection):
        connection.execute(text("INSERT INTO no_such_table VALUES (1)"))

    accepted, failed, claimed = await asyncio.gather(
        loop_writer.submit(accept), loop_writer.submit_rows(broken),
        loop_writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5)), return_exceptions=True,
    )
    assert isinstance(failed, Exception) and "no_such_table" in str(failed)
    assert isinstance(accepted, int) and claimed == [delivery_id]
    assert file_db.run_sync(lambda s: s.get(Message, accepted)) is not None
    assert file_db.run_sync(lambda s: s.get(Delivery, delivery_id).status) == "sending"
    # The connection the failure rolled back is fit for the next turn.
    assert await loop_writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5)) == []


async def _held_until_released(loop_writer, file_db, hold_store) -> None:
    """What is submitted while another writer holds the store waits on a writer thread, is kept, and commits after."""
    (delivery_id,) = queued_deliveries(file_db, 1)
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_store, args=(holding, release))
    holder.start()
    try:
        assert await asyncio.to_thread(holding.wait, 10)
        claim = asyncio.ensure_future(loop_writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5)))
        for _ in range(40):  # the loop is never stalled: it keeps turning while the claim waits
            await asyncio.sleep(0.01)
        assert not claim.done() and loop_writer.loop_batches == 0
    finally:
        release.set()
    assert await claim == [delivery_id]
    await asyncio.to_thread(holder.join, 10)
    assert loop_writer.loop_batches == 0  # committed by the writer thread, once the store was free
    assert file_db.run_sync(lambda s: s.get(Delivery, delivery_id).claimed_by) == "w"


async def test_while_another_relay_process_writes_the_batch_waits_its_turn_on_the_writer_thread(
        sqlite_url, file_db, loop_writer):
    other = Database.from_url(sqlite_url)  # stands for another relay process: same file, same lock file

    def hold_store(holding, release):
        with other.transaction() as session:
            session.execute(text("CREATE TABLE held (n INTEGER)"))
            holding.set()
            release.wait(10)

    try:
        await _held_until_released(loop_writer, file_db, hold_store)
    finally:
        other.close()


async def test_a_writer_that_skips_the_relays_lock_sends_the_batch_to_the_writer_thread(file_db, loop_writer):
    path = file_db.engine.url.database

    def hold_store(holding, release):  # a tool writing the file directly: SQLite's own lock only
        raw = sqlite3.connect(path, isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("CREATE TABLE held (n INTEGER)")
        holding.set()
        release.wait(10)
        raw.execute("COMMIT")
        raw.close()

    await _held_until_released(loop_writer, file_db, hold_store)
    # The loop's connection came through the refused BEGIN fit for use: the next turn commits there.
    assert await loop_writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5)) == []
    assert loop_writer.loop_batches == 1


async def test_a_batch_that_finds_another_relay_writing_tries_again_on_the_loops_next_turn(
        sqlite_url, file_db, loop_writer):
    (delivery_id,) = queued_deliveries(file_db, 1)
    other = Database.from_url(sqlite_url)  # another relay process, in the middle of its own commit
    try:
        assert other.write_lock.try_hold()
        claim = asyncio.ensure_future(loop_writer.submit_rows(lambda c: queue.claim_due(c, START, "w", 5)))
        await asyncio.sleep(0)  # the claim is handed in; the loop's flush comes next
        asyncio.get_running_loop().call_soon(other.write_lock.release)  # the other commit ends after that flush
        assert await claim == [delivery_id]
        assert loop_writer.loop_batches == 1  # committed on the loop, one turn later
    finally:
        other.close()
