"""The scheduler: planners write due jobs, handlers run each claimed job once, one leader at a time.

``tick`` plans and then runs every job due as of a moment; it is safe to
run from cron, twice, or from several instances at once, because a job runs
only after a committed database claim and commits its work together with
its ``done`` mark. ``run`` is the loop inside ``relayctl serve``: only the
holder of the ``scheduler`` lease ticks, so planning is not repeated
needlessly by every instance.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta
from dataclasses import dataclass
from typing import Callable, Sequence

from sqlmodel import Session

from relay.clock import Clock, as_utc
from relay.store import jobs
from relay.store.db import Database
from relay.store.tables import Job

log = logging.getLogger(__name__)

# A planner only reads (in a read-only transaction) and says which jobs should exist;
# the scheduler writes them in short transactions of at most ``plan_batch`` jobs.
Planner = Callable[[Session, datetime], Sequence[jobs.Planned]]
Handler = Callable[[Session, Job, datetime], None]

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class JobKind:
    """One kind of scheduled job: who plans it (None: planned elsewhere) and who runs it."""

    kind: str
    planner: Planner | None
    handler: Handler


class Scheduler:
    def __init__(self, db: Database, clock: Clock, name: str, kinds: Sequence[JobKind] = (),
                 after_tick: Sequence[Callable[[], None]] = ()) -> None:
        self.db = db
        self.clock = clock
        # Distinct per instance even when two share a host name: claims are by holder.
        self.name = f"{name}-{secrets.token_hex(4)}"[:64]
        self.planners: tuple[Planner, ...] = tuple(dict.fromkeys(k.planner for k in kinds if k.planner is not None))
        self.handlers: dict[str, Handler] = {k.kind: k.handler for k in kinds}
        self.after_tick = tuple(after_tick)  # e.g. wake the outbound worker; compact the files after a purge
        self.batch = 100
        self.plan_batch = 200  # jobs per planning transaction: the write lock is held for milliseconds
        self.lease = timedelta(minutes=10)

    async def tick(self, at: datetime | None = None) -> int:
        """Plan, then run every job due as of ``at`` (default now) exactly once; returns jobs run."""
        now = as_utc(at) if at is not None else self.clock.now()
        for planner in self.planners:
            try:
                await self._plan(planner, now)
            except Exception:
                log.exception("planner %s failed; the others still run", getattr(planner, "__name__", planner))
        ran = 0
        while True:
            claimed = await self.db.run(lambda s: jobs.claim_due(s, now, self.name, self.batch, self.lease))
            for job_id in claimed:
                ran += await self._run_one(job_id, now)
            if len(claimed) < self.batch:
                break
        if ran:
            for step in self.after_tick:
                step()
        return ran

    async def _plan(self, planner: Planner, now: datetime) -> None:
        """Read what should be planned without the write lock, then write it in bounded batches."""
        planned = list(await self.db.read(lambda s: list(planner(s, now))))
        for start in range(0, len(planned), self.plan_batch):
            chunk = planned[start:start + self.plan_batch]
            await self.db.run(lambda s, c=chunk: jobs.ensure_planned(s, c))

    async def _run_one(self, job_id: int, now: datetime) -> int:
        def work(session: Session) -> int:
            job = jobs.lock_claimed(session, job_id, self.name)
            if job is None:
                return 0  # our lease ran out and another instance took the job over
            handler = self.handlers.get(job.kind)
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            handler(session, job, now)
            jobs.finish(session, job, now)
            return 1

        try:
            return await self.db.run(work)
        except Exception as error:  # the job's own transaction rolled back: nothing half-sent
            log.exception("job %s failed", job_id)
            reason = f"{type(error).__name__}: {error}"
            await self.db.run(lambda s: jobs.record_failure(s, job_id, self.name, now, reason))
            return 0

    async def run(self, every_seconds: float = 60) -> None:
        """Tick every ``every_seconds`` while holding the leader lease; stand by otherwise."""
        ttl = timedelta(seconds=max(every_seconds * 3, 30))
        try:
            while True:
                try:
                    now = self.clock.now()
                    leader = await self.db.run(lambda s: jobs.acquire_lease(s, LEASE_NAME, self.name, now, ttl))
                    if leader:
                        await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("scheduler tick failed; trying again later")
                await asyncio.sleep(every_seconds)
        finally:
            try:
                await self.db.run(lambda s: jobs.release_lease(s, LEASE_NAME, self.name))
            except Exception:  # shutting down: the lease simply expires
                pass
