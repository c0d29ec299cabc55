"""Where a piece of CPU work runs: a small one on the event loop, a large one on a CPU thread.

Under load a hand-off to a thread costs more than small work itself: the
thread waits for the GIL behind every other busy thread and then hands the
result back through the loop. Measured at 200 msg/s in one process, the
parse of a 4 KB message (0.2 ms of CPU) waited a median of 12 ms for its
thread, and so did its policy verdict (0.4 ms). Work on a large input
(long texts, where the policy's scans and the masking take milliseconds)
still goes to the executor, so one big message cannot stall the other
sessions. A call that releases the GIL (OpenSSL signing, hashing a large
buffer) made on the loop leaves the loop waiting up to a switch interval
(5 ms) to take the GIL back from a busy thread; with the store's SQLite
commits on the loop as well (``relay.store.writer``), no thread is busy
while a small copy is signed, so the outbound worker masks and signs small
copies here too (at 4 KB with two processes: 1.2-1.9x the throughput, and
a p99 of 38-41 ms instead of 60-101, against its own threads in the same run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Callable, TypeVar

T = TypeVar("T")

INLINE_BYTES = 16 * 1024  # inputs up to this size are worked on the loop


async def run(executor: concurrent.futures.Executor | None, size: int, fn: Callable[..., T], *args) -> T:
    """``fn(*args)``: on the loop when ``size`` (bytes of input) is small or there is no executor, else on it."""
    if executor is None or size <= INLINE_BYTES:
        return fn(*args)
    return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
