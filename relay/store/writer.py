"""Group commit: one writer thread commits the work of many SMTP sessions at once.

Each caller's work still gets its own answer only after the commit that holds
it has returned, so "commit before 250" is never weakened; the fsync is just
shared. If a batch fails, each piece of work is retried alone so one bad
message cannot fail its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from sqlmodel import Session

from relay.store.db import Database

log = logging.getLogger(__name__)

Work = Callable[[Session], Any]


@dataclass
class _Item:
    work: Work
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class BatchWriter:
    def __init__(self, db: Database, max_batch: int = 64) -> None:
        self._db = db
        self._max_batch = max_batch
        self._items: list[_Item] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    async def submit(self, work: Work) -> Any:
        """Run ``work`` inside a committed transaction; return its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the store writer is closed")
            self._items.append(_Item(work, future, loop))
            self._cond.notify()
        return await future

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=30)

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
            with self._db.transaction() as session:
                results = [item.work(session) for item in batch]
        except Exception:
            if len(batch) == 1:
                log.exception("store write failed")
                _settle(batch[0], error=_current_error())
                return
            # Find the culprit: commit each alone.
            for item in batch:
                self._commit([item])
            return
        for item, result in zip(batch, results):
            _settle(item, result=result)


def _current_error() -> BaseException:
    import sys

    return sys.exc_info()[1] or RuntimeError("store write failed")


def _settle(item: _Item, result: Any = None, error: BaseException | None = None) -> None:
    def apply() -> None:
        if item.future.done():
            return
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)

    try:
        item.loop.call_soon_threadsafe(apply)
    except RuntimeError:  # the loop has closed; nobody is waiting any more
        pass
