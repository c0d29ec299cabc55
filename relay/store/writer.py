"""Group commit: a writer thread commits the work of many SMTP sessions and deliveries at once.

Each caller's work still gets its own answer only after the commit that holds
it has returned, so "commit before 250" is never weakened; the fsync is just
shared. If a batch fails, each piece of work is retried alone so one bad
message cannot fail its neighbours. Work comes in two shapes: ORM work that
takes a ``Session`` (intake, moderation, the CLI) and plain row writes that
take a Core ``Connection`` (queue claims, attempt records, lease renewals);
a batch of row writes alone skips the Session altogether.
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

from relay.store.db import Database

log = logging.getLogger(__name__)

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

    def __init__(self, db: Database, max_batch: int = 64, threads: int | None = None) -> None:
        self._db = db
        self._max_batch = max_batch
        self._items: list[_Item] = []
        self._cond = threading.Condition()
        self._closed = False
        self.batches = 0  # commits made, for tests and benchmarks
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
        future = loop.create_future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the store writer is closed")
            self._items.append(_Item(work, future, loop, rows))
            self._cond.notify()
        return await future

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
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        try:
            results = self._apply(batch)
        except Exception:
            if len(batch) == 1:
                log.exception("store write failed")
                _settle([(batch[0], None, sys.exc_info()[1] or RuntimeError("store write failed"))])
                return
            # Find the culprit: commit each alone.
            for item in batch:
                self._commit([item])
            return
        with self._cond:
            self.batches += 1
        _settle([(item, result, None) for item, result in zip(batch, results)])

    def _apply(self, batch: list[_Item]) -> list[Any]:
        if all(item.rows for item in batch):
            with self._db.rows() as connection:
                return [item.work(connection) for item in batch]
        with self._db.transaction() as session:
            results = []
            for item in batch:
                if item.rows:
                    session.flush()  # row work sees what earlier ORM work in this batch wrote
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
        try:
            loop.call_soon_threadsafe(apply, group)
        except RuntimeError:  # the loop has closed; nobody is waiting any more
            pass
