"""Group commit: a writer thread commits the work of many SMTP sessions and deliveries at once.

Each caller's work still gets its own answer only after the commit that holds
it has returned, so "commit before 250" is never weakened; the fsync is just
shared. If a batch fails, each piece of work is retried alone so one bad
message cannot fail its neighbours. Work comes in two shapes: ORM work that
takes a ``Session`` (intake, moderation, the CLI) and plain row writes that
take a Core ``Connection`` (queue claims, attempt records, lease renewals);
a batch of row writes alone skips the Session altogether.

On a SQLite file the batch is committed on the event loop that submitted
it, once per turn of the loop, when the write lock is free at that moment
(``Database.write_now``); a batch that finds it held goes to the writer
thread, which waits its turn. Under load a writer thread shared the GIL
with the loop and the CPU threads: measured in one process at 4 KB, its
batches took 8 ms of wall time for 2 ms of CPU, and sessions waited a
median of 20 ms for their commit. PostgreSQL always commits on the writer
threads: its round trips to the server would stall the loop.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.engine import Connection
from sqlmodel import Session

from relay.store.db import Database, StoreBusy

log = logging.getLogger(__name__)

# Turns of the event loop a batch waits for another relay writer to let the
# lock go before it goes to the writer thread (a turn takes about as long as
# one of their commits under load; idle, a few turns pass in microseconds).
LOOP_TRIES = 4

Work = Callable[[Session], Any]
RowWork = Callable[[Connection], Any]


@dataclass
class _Item:
    work: Callable[[Any], Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    rows: bool  # takes a Connection, not a Session


class BatchWriter:
    """Commits submitted work in batches: one writer thread on SQLite, a few on PostgreSQL.

    SQLite has one writer per database anyway, so one thread there. PostgreSQL
    commits concurrent transactions in parallel (and groups their WAL flushes
    itself), so a few threads there keep one batch's round trips to the
    server from holding up the next.
    """

    def __init__(self, db: Database, max_batch: int = 64, threads: int | None = None,
                 on_loop: bool | None = None) -> None:
        self._db = db
        self._max_batch = max_batch
        self._items: list[_Item] = []
        self._cond = threading.Condition()
        self._closed = False
        self.batches = 0  # commits made, for tests and benchmarks
        self.loop_batches = 0  # of them, commits made on an event loop
        # Commit on the loop when the store is free (a SQLite file only; see the module's docstring).
        self.on_loop = db.write_lock is not None if on_loop is None else on_loop
        self._turn: dict[asyncio.AbstractEventLoop, list[_Item]] = {}  # submitted on each loop since its last flush
        count = threads or (1 if db.dialect == "sqlite" else 3)
        self._threads = [
            threading.Thread(target=self._run, name=f"store-writer-{n}", daemon=True) for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def submit(self, work: Work) -> Any:
        """Run ``work`` (given a Session) inside a committed transaction; return its result."""
        return await self._enqueue(work, rows=False)

    async def submit_rows(self, work: RowWork) -> Any:
        """Run ``work`` (given a Core Connection) inside a committed transaction; return its result."""
        return await self._enqueue(work, rows=True)

    async def _enqueue(self, work: Callable[[Any], Any], rows: bool) -> Any:
        loop = asyncio.get_running_loop()
        item = _Item(work, loop.create_future(), loop, rows)
        if self._closed:
            raise RuntimeError("the store writer is closed")
        if self.on_loop:
            turn = self._turn.setdefault(loop, [])
            turn.append(item)
            if len(turn) == 1:  # the first of this turn: what the other sessions hand in meanwhile joins it
                loop.call_soon(self._flush, loop)
        else:
            self._to_threads([item])
        return await item.future

    def _to_threads(self, items: list[_Item]) -> None:
        with self._cond:
            if self._closed:
                _settle([(item, None, RuntimeError("the store writer is closed")) for item in items])
                return
            self._items.extend(items)
            self._cond.notify()

    def _flush(self, loop: asyncio.AbstractEventLoop, tries: int = 1) -> None:
        """On the loop: commit what its sessions handed in since the last flush, in batches of ``max_batch``.

        While another relay writer holds the lock, the batch waits for the
        loop's next turn (gathering what that turn hands in), ``LOOP_TRIES``
        turns at most; then, or when something else holds SQLite's lock, it
        goes to the writer thread.
        """
        items = self._turn.pop(loop, [])
        for start in range(0, len(items), self._max_batch):
            batch = items[start:start + self._max_batch]
            try:
                self._commit(batch, self._apply_now)
            except StoreBusy as busy:
                rest = batch + items[start + self._max_batch:]
                if busy.soon and tries < LOOP_TRIES:
                    self._turn[loop] = rest + self._turn.get(loop, [])
                    loop.call_soon(self._flush, loop, tries + 1)
                else:
                    self._to_threads(rest)
                return

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closed:
                    self._cond.wait()
                if not self._items and self._closed:
                    return
                batch, self._items = self._items[: self._max_batch], self._items[self._max_batch :]
            self._commit(batch, self._apply)

    def _commit(self, batch: list[_Item], apply: Callable[[list[_Item]], list[Any]], alone: bool = False) -> None:
        try:
            results = apply(batch)
        except StoreBusy:  # only on the loop, before anything was written
            if not alone:
                raise  # _flush decides: the loop's next turn or the writer thread
            self._to_threads(batch)
            return
        except Exception:
            if len(batch) == 1:
                log.exception("store write failed")
                _settle([(batch[0], None, sys.exc_info()[1] or RuntimeError("store write failed"))])
                return
            # Find the culprit: commit each alone.
            for item in batch:
                self._commit([item], apply, alone=True)
            return
        with self._cond:
            self.batches += 1
            if apply == self._apply_now:
                self.loop_batches += 1
        _settle([(item, result, None) for item, result in zip(batch, results)])

    def _apply(self, batch: list[_Item]) -> list[Any]:
        """On a writer thread: wait for the write lock, then commit the batch."""
        if all(item.rows for item in batch):
            with self._db.rows() as connection:
                return [item.work(connection) for item in batch]
        with self._db.transaction() as session:
            return _in_session(batch, session)

    def _apply_now(self, batch: list[_Item]) -> list[Any]:
        """On the loop: commit the batch now, or raise ``StoreBusy`` having written nothing."""
        with self._db.write_now() as connection:
            if all(item.rows for item in batch):
                return [item.work(connection) for item in batch]
            with Session(bind=connection, expire_on_commit=False) as session:
                results = _in_session(batch, session)
                session.flush()
                return results


def _in_session(batch: list[_Item], session: Session) -> list[Any]:
    """Each item's work in order, in one Session; row work sees what earlier ORM work in the batch wrote."""
    results = []
    for item in batch:
        if item.rows:
            session.flush()
            results.append(item.work(session.connection()))
        else:
            results.append(item.work(session))
    return results


def _settle(outcomes: list[tuple[_Item, Any, BaseException | None]]) -> None:
    """Hand each result to its waiter, one wake-up per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = defaultdict(list)
    for outcome in outcomes:
        by_loop[outcome[0].loop].append(outcome)

    def apply(group: list) -> None:
        for item, result, error in group:
            if item.future.done():
                continue
            if error is not None:
                item.future.set_exception(error)
            else:
                item.future.set_result(result)

    for loop, group in by_loop.items():
        if _running(loop):  # committed on this very loop: answer now, not a turn of the loop later
            apply(group)
            continue
        try:
            loop.call_soon_threadsafe(apply, group)
        except RuntimeError:  # the loop has closed; nobody is waiting any more
            pass


def _running(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:  # a writer thread: no loop runs here
        return False
