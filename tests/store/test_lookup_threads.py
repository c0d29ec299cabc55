"""Where the hot-path lookups run: on the loop for SQLite, on a store thread when that could wait, or when the store is remote."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from relay.store import schema
from relay.store.db import Database


def _asking_thread(conn) -> str:
    conn.exec_driver_sql("SELECT count(*) FROM participant").scalar()
    return threading.current_thread().name


async def test_a_lookup_runs_where_its_backend_answers_fastest(db):
    first = await db.lookup(_asking_thread)
    assert first.startswith("store")  # the first opens the connection, off the loop
    again = await db.lookup(_asking_thread)
    if db.dialect == "sqlite":
        assert again == threading.current_thread().name  # a local read is cheaper than the hand-off
    else:
        assert again.startswith("store")  # a network round trip never blocks the loop


async def test_a_locked_sqlite_file_never_blocks_the_loop(sqlite_url, tmp_path):
    made = Database.from_url(sqlite_url)
    schema.upgrade(made.engine)
    made.close()
    # Another program holds the whole file (SQLite lets it only while nobody else has the file open).
    holder = sqlite3.connect(tmp_path / "relay.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM participant")
    holder.execute("COMMIT")  # the file lock stays until the connection closes
    db = Database.from_url(sqlite_url)
    try:
        asked = asyncio.create_task(db.lookup(_asking_thread))
        loop = asyncio.get_running_loop()
        for _ in range(5):  # the loop goes on turning while the question waits for the file
            started = loop.time()
            await asyncio.sleep(0.02)
            assert loop.time() - started < 1
        assert not asked.done()
    finally:
        holder.close()  # lets go of the file
    assert (await asyncio.wait_for(asked, timeout=10)).startswith("store")
    assert await db.lookup(_asking_thread) == threading.current_thread().name  # the loop's connection is open now
    db.close()
