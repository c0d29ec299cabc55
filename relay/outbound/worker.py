"""Outbound workers: claim due deliveries, mask, sign, send, record.

Every outcome is recorded as an attempt. A delivery whose processing
crashes (a bug in a step, a database hiccup) is deferred with the error
kept, never dropped. A claim is a short lease that the worker renews while
the copy is in flight; one whose worker dies is due again at once when a
relay restarts on the same host (the dead worker's claims are released),
and otherwise as soon as its lease runs out, on any host. A bounded claim
window (``batch``) of deliveries is claimed at once, read and prepared
ahead, while ``concurrency`` sending slots (one per smarthost connection)
send; what waits for a slot keeps its lease renewed like what is sending.

Claims, lease renewals and attempt records are row writes handed to the
store's one group-commit writer, so they share commits (and fsyncs) with
accepted mail; reads are plain SQL (on the loop on SQLite); masking and
DKIM signing run on the loop for a small copy and on the worker's own CPU
executor for a large one (``relay.cpu``), never on the store's threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import random
import socket
import time
from datetime import datetime, timedelta
from typing import Any, Callable, Sequence

from jinja2 import Environment

from relay import notices
from relay.cpu import run as run_cpu
from relay.clock import Clock
from relay.flow import InFlow
from relay.addresses import make_bounce_local_part
from relay.metrics import Metrics
from relay.outbound.backoff import next_attempt
from relay.outbound.jobs import OutboundJob, load_delivery, load_job
from relay.outbound.content import copy_bytes
from relay.outbound.transports import Sent, Transport
from relay.store import queue
from relay.store.db import Database
from relay.store.queue import Outcome
from relay.store.writer import BatchWriter

log = logging.getLogger(__name__)

# hook(session, delivery_id, outcome, now) -> True when it queued mail; runs in the
# transaction that records the failure.
FinalHook = Callable[[Any, int, Outcome, datetime], bool]


class OutboundWorker:
    def __init__(
        self,
        db: Database,
        transport: Transport,
        clock: Clock,
        domain: str,
        secret: bytes,
        signer=None,
        name: str = "",
        concurrency: int = 8,
        batch: int = 32,
        poll_seconds: float = 1.0,
        lease: timedelta = queue.LEASE,
        jitter: Callable[[], float] = random.random,
        policies: Any = None,
        on_final: Sequence[FinalHook] = (),
        metrics: Metrics | None = None,
        *,
        writer: BatchWriter,
        cpu: concurrent.futures.Executor | None = None,
        templates: Environment | None = None,
        inflow: InFlow | None = None,
    ) -> None:
        self.db, self.writer, self.transport, self.clock = db, writer, transport, clock
        self.domain, self.secret, self.signer = domain, secret, signer
        self.templates = templates or notices.environment()  # notices are rendered when they are sent
        self.name = name or worker_name()
        self.concurrency = concurrency
        self.batch, self.poll_seconds, self.lease = batch, poll_seconds, lease
        self.jitter = jitter
        self.policies = policies  # relay.policy.loader.PolicySet: how each program's copies are built
        self.on_final = tuple(on_final)  # called after a delivery fails for good
        self._own_cpu = cpu is None
        self._cpu = cpu or concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="outbound-cpu")
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stopping = False
        self._inflight: set[asyncio.Task] = set()
        self.metrics = metrics or Metrics()  # the composition hands in the process's own
        self._holding: set[int] = set()  # claimed here and not yet recorded: the leases to renew
        self.inflow = inflow  # told the backlog after each claim, so intake slows while delivery lags

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Work the queue until ``stop``; new mail wakes it at once, retries are polled."""
        try:
            await self.recover()
        except Exception:
            log.exception("could not release the claims of stopped workers; their leases will run out")
        heartbeat = asyncio.create_task(self._heartbeat(), name="outbound-leases")
        try:
            await self._work()
        finally:
            heartbeat.cancel()

    async def _heartbeat(self) -> None:
        """Renew this worker's leases every third of a lease, so only a dead worker loses them."""
        while not self._stopping:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                await self.renew()
            except Exception:
                log.exception("could not renew the leases of deliveries in flight; will try again")

    async def renew(self) -> int:
        """Extend the lease of every delivery this worker holds; how many it still holds."""
        held = sorted(self._holding)
        if not held:
            return 0
        until = self.clock.now() + self.lease
        return await self.writer.submit_rows(lambda c: queue.renew_leases(c, self.name, held, until))

    async def _work(self) -> None:
        while not self._stopping:
            try:
                claimed = await self.run_once(wait=False)
            except Exception:
                log.exception("could not claim deliveries; will try again")
                claimed = 0
            if claimed < self.batch:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
            self._wake.clear()

    async def run_once(self, wait: bool = True) -> int:
        """Claim what is due now and start it; with ``wait``, finish it before returning.

        The claim window is ``batch`` deliveries claimed and not yet recorded;
        it is refilled once a quarter of it is free, so one claim serves
        several deliveries.
        """
        free = self.batch - len(self._inflight)
        if free <= 0 or (self._inflight and free < max(1, self.batch // 4)):
            return 0
        now = self.clock.now()
        inflow = self.inflow

        def claim(c) -> tuple[list[int], int]:
            ids = queue.claim_due(c, now, self.name, free, self.lease)
            return ids, (queue.count_due(c, now, inflow.limit + 1) if inflow is not None else 0)

        ids, backlog = await self.writer.submit_rows(claim)
        if inflow is not None:
            inflow.report(backlog)
        if not ids:
            return 0
        self._holding.update(ids)
        tasks = [asyncio.create_task(self._guarded(i)) for i in ids]
        self._inflight.update(tasks)
        for task in tasks:
            task.add_done_callback(self._finished)
        if wait:
            await asyncio.gather(*tasks)
        return len(ids)

    def _finished(self, task: asyncio.Task) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a slot is free: claim the next due delivery

    async def recover(self) -> int:
        """Make the claims of dead workers on this host due now; returns how many.

        A worker is named host:pid, so a claim whose pid no longer runs here
        (or that carries this very name, from before a restart) can never be
        finished by its worker. Claims from other hosts wait for their lease.
        """
        host = self.name.rpartition(":")[0]
        now = self.clock.now()

        def work(session):
            names = queue.claimers(session, f"{host}:")
            dead = [n for n in names if n == self.name or not _alive(n.rpartition(":")[2])]
            return queue.release_claims(session, dead, now)

        released = await self.db.run(work)
        if released:
            log.warning("released %d deliveries claimed by stopped workers; they are sent again", released)
        return released

    async def drain(self) -> None:
        """Until the queue has nothing due now (tests and ``queue flush``)."""
        while await self.run_once(wait=True):
            pass

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        if self._own_cpu:
            self._cpu.shutdown(wait=False)

    async def _guarded(self, delivery_id: int) -> None:
        try:
            # Each job is read on its own, so the store's reader threads read several at once;
            # plain SQL on a pooled connection, no Session (see relay.store.delivery_reads).
            job = await self.db.lookup(lambda c: load_job(c, delivery_id, self.domain, self._strip_images))
            if job is not None:
                await self._deliver(job)
        except Exception as error:  # keep it aside for a retry, with the reason
            log.exception("delivery %s failed inside the relay", delivery_id)
            try:
                await self._record(delivery_id, None, Sent("deferred", 0, f"internal error: {error!r}"), 0)
            except Exception:  # the store is down too: the lease brings it back
                log.exception("could not record the failure of delivery %s", delivery_id)
        finally:
            self._holding.discard(delivery_id)

    async def _deliver(self, job: OutboundJob) -> None:
        # A small copy is masked and signed on the loop, a large one on the worker's CPU threads
        # (relay.cpu): with the store's commits on the loop too, the hand-off cost more than the work.
        data = await run_cpu(self._cpu, _size(job), self.prepare, job)
        async with self._slots:  # one sending slot per smarthost connection
            started = time.monotonic()
            sent = await self.transport.send(self.envelope_sender(job), job.rcpt, data)
            duration_ms = int((time.monotonic() - started) * 1000)
        await self._record(job.delivery_id, job, sent, duration_ms)

    def prepare(self, job: OutboundJob) -> bytes:
        """The bytes to send: the masked copy, the rendered notice or the stored message, DKIM-signed. CPU work only."""
        data = copy_bytes(job, self.templates)
        if data is None:
            raise ValueError("the original message was purged before its copy was sent")
        return self.signer.sign(data) if self.signer is not None else data

    def _strip_images(self, program: str) -> bool:
        return bool(self.policies and self.policies.for_program(program).strip_remote_images)

    def envelope_sender(self, job: OutboundJob) -> str:
        if job.null_sender:
            return ""
        day = int(self.clock.now().timestamp() // 86400)
        return f"{make_bounce_local_part(self.secret, job.delivery_id, day)}@{self.domain}"

    async def _record(self, delivery_id: int, job: OutboundJob | None, sent: Sent, duration_ms: int) -> None:
        now = self.clock.now()
        if job is None:  # the step that crashed never loaded it; the retry count still matters
            job = await self.db.read(lambda s: load_delivery(s, delivery_id))
        outcome = self.decide(job, sent, now, duration_ms)
        if outcome.status != "failed":  # the common case: plain row writes
            await self.writer.submit_rows(lambda c: queue.record_attempt(c, delivery_id, self.name, now, outcome))
            self.metrics.delivery_attempt(delivery_id, outcome)
            return

        def work(session) -> bool:
            # The failure and what it sets off (the sender's notice) commit together, so a
            # crash can never leave a failure recorded but unannounced.
            recorded = queue.record_attempt(session, delivery_id, self.name, now, outcome)
            queued = False
            if recorded and outcome.status == "failed":
                for hook in self.on_final:
                    try:
                        with session.begin_nested():  # a broken hook must not undo the attempt
                            queued = bool(hook(session, delivery_id, outcome, now)) or queued
                    except Exception:
                        log.exception("failure hook for delivery %s", delivery_id)
            return queued

        if await self.writer.submit(work):
            self.wake()
        self.metrics.delivery_attempt(delivery_id, outcome)

    def decide(self, job: OutboundJob | None, sent: Sent, now, duration_ms: int) -> Outcome:
        if sent.outcome != "deferred" or job is None:
            return Outcome(sent.outcome, sent.code, sent.detail, duration_ms)
        retry_at = next_attempt(job.attempts + 1, now, job.expires_at, self.jitter())
        if retry_at is None:
            detail = f"gave up after {job.attempts + 1} attempts; last error: {sent.detail}"
            return Outcome("failed", sent.code, detail, duration_ms)
        return Outcome("deferred", sent.code, sent.detail, duration_ms, next_attempt_at=retry_at)


def _size(job: OutboundJob) -> int:
    """The bytes that masking and signing a copy work through (a notice's intent renders to a short text)."""
    return len(job.raw or job.content or b"") or len(job.intent or "")


def worker_name() -> str:
    """host:pid, unique among the relays sharing one store (see ``recover``)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return True  # not one of ours: leave it to its lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
