"""Runs the relay that ``relay.composition`` builds: SMTP intake, outbound workers, scheduler.

SIGTERM drains: new mail is refused with a 421, in-flight deliveries
finish, the store closes. ``serve_processes`` runs several such relays on
one listening address, each process on its own socket (SO_REUSEPORT).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys

import uvloop

from relay.composition import Relay, build  # noqa: F401 - what callers of the service build and run
from relay import logs
from relay.config import Settings
from relay.intake.accept import Intake
from relay.metrics_http import start_http
from relay.smtp import server as smtp_server
from relay.smtp.handler import RelayHandler
from relay.smtp.limits import Door
from relay.store import lookups

log = logging.getLogger(__name__)


async def start(relay: Relay, listen: bool = True, work: bool = True, sock=None) -> Relay:
    """Listen (unless ``listen`` is false) and start the workers and the scheduler (unless ``work`` is)."""
    settings = relay.settings
    db = relay.db

    kinds = lookups.AliasKinds()

    async def alias_kind(local: str) -> str:
        return kinds.known(local) or await db.lookup(lambda c: kinds.read(c, local))

    intake = Intake(
        settings.domain,
        relay.routes,
        alias_kind,
        settings.max_recipients,
        door=Door.from_settings(settings),
        now=relay.clock.now,
        cpu=relay.cpu,
    )
    relay.handler = RelayHandler(intake, relay.inflow)
    if listen:
        tls = smtp_server.tls_context(settings.tls_cert, settings.tls_key)
        relay.server = await smtp_server.start(
            relay.handler, settings.listen_host, settings.listen_port, settings.domain, settings.max_message_size, tls,
            sock=sock,
        )
    if work:
        relay.tasks.append(asyncio.create_task(relay.worker.run(), name="outbound"))
        relay.tasks.append(asyncio.create_task(relay.scheduler.run(), name="scheduler"))
    return relay


async def stop(relay: Relay) -> None:
    """Drain: refuse new mail, let in-flight deliveries finish, close the store."""
    if relay.handler is not None:
        relay.handler.draining = True
    if relay.server is not None:
        relay.server.close()
        await relay.server.wait_closed()
    await relay.worker.stop()
    for task in relay.tasks:
        task.cancel()
    await asyncio.gather(*relay.tasks, return_exceptions=True)
    await relay.worker.transport.close()
    relay.cpu.shutdown(wait=False)
    await asyncio.to_thread(relay.writer.close)
    relay.db.close()


async def serve(settings: Settings, sock=None) -> None:
    """Run until SIGTERM or SIGINT."""
    logs.configure(settings)
    if settings.sender_auth == "none":
        log.warning(
            "RELAY_SENDER_AUTH=none: the envelope sender is trusted without any check. "
            "Anyone can impersonate a participant. Use this for development only."
        )
    relay = build(settings)
    await start(relay, sock=sock)
    settle_heap()
    status = await start_http(relay)  # counts SMTP replies; /metrics and /healthz on RELAY_METRICS_LISTEN
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    log.info("mentor-relay listening on %s:%s for @%s", settings.listen_host, relay.port, settings.domain)
    # One write of the whole line: with --processes N every process says it, and lines must not interleave.
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), f"mentor-relay: listening on {settings.listen_host}:{relay.port} for @{settings.domain}\n".encode())
    await done.wait()
    log.info("stopping: draining deliveries")
    await stop(relay)
    await status.close()


def settle_heap() -> None:
    """Put what the relay built at start out of the cyclic collector's reach (``gc.freeze``).

    Routes, templates, the policy, SQLAlchemy's tables and the libraries'
    modules are some 130,000 objects that live as long as the process. Left
    in the oldest generation, each full collection walked them all and
    stalled every session for about 90 ms; frozen, a full collection under
    load takes about 4 ms. What is garbage already is collected first, so
    nothing unreachable is kept for good.
    """
    gc.collect()
    gc.freeze()


def run(main) -> None:
    """Run the relay's coroutine to the end on uvloop's event loop (libuv).

    The relay is many small socket reads and writes plus hand-offs between
    threads and the loop; uvloop does the loop's share of that in C.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def serve_processes(settings: Settings, processes: int) -> None:
    """Several relay processes on one listening address, for more than one core.

    The sockets are bound (one per process, see ``smtp.server.bind``) and the
    process forks before any thread or event loop exists; each process then
    runs its own intake, workers and scheduler on its own socket. They share
    the store, where queue claims and the scheduler's leader lease already
    make that safe. SIGTERM to the first process stops them all, each
    draining its own deliveries.
    """
    socks = smtp_server.bind(settings.listen_host, settings.listen_port, processes)
    children: list[int] = []
    for number in range(1, processes):
        pid = os.fork()
        if pid == 0:  # a worker process: serve until told to stop, then leave without running the parent's cleanup
            code = 0
            try:
                _keep_only(socks, socks[number])
                run(serve(settings, sock=socks[number]))
            except BaseException:  # noqa: BLE001 - the parent hears of it through the exit code
                log.exception("relay process %s failed", os.getpid())
                code = 1
            os._exit(code)
        children.append(pid)
    try:
        _keep_only(socks, socks[0])
        run(serve(settings, sock=socks[0]))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            os.waitpid(pid, 0)
        socks[0].close()


def _keep_only(socks: list, mine) -> None:
    """Close the other processes' sockets here, so a process that stops takes its own queue with it."""
    for sock in socks:
        if sock is not mine:
            sock.close()
