"""Composes the relay for ``relayctl serve``: store, SMTP intake, outbound workers, scheduler.

Everything is built here once and passed down; nothing is global. Features
(moderation, care, bounces, circles) plug in through ``install`` functions
listed in ``FEATURES``: each may add intake routes, after-store hooks,
failure hooks and scheduler jobs. SIGTERM drains: new mail is refused with
a 421, in-flight deliveries finish, the store closes.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from relay.clock import Clock, SystemClock
from relay.config import Settings
from relay.intake.accept import Intake
from relay.intake.context import IntakeContext
from relay.intake.participant_mail import ParticipantRoute
from relay.intake.sender import SenderCheck
from relay.intake.throttle import Door
from relay.keys import ensure_dkim_key, ensure_secret
from relay.notices import environment
from relay.outbound.transports import MaildirTransport, SmarthostTransport, Transport
from relay.outbound.worker import OutboundWorker
from relay.policy.loader import load_policy
from relay.smtp import server as smtp_server
from relay.smtp.handler import RelayHandler
from relay.store import directory, schema
from relay.store.db import Database
from relay.store.writer import BatchWriter

log = logging.getLogger(__name__)

# Each entry is "module:function"; the function takes the Relay and wires its feature in.
FEATURES: list[str] = [
    "relay.moderation.feature:install",
    "relay.outbound.feature:install",
    "relay.scheduler.feature:install",
    "relay.circles.feature:install",
    "relay.intake.feature:install",
    "relay.safeguarding.feature:install",
]

DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "config" / "policy.toml"


@dataclass
class Relay:
    settings: Settings
    clock: Clock
    db: Database
    writer: BatchWriter
    secret: bytes
    intake_ctx: IntakeContext
    routes: dict[str, Any]
    worker: OutboundWorker
    templates: Any
    policies: Any
    background: list[Callable[[], Any]] = field(default_factory=list)  # coroutine factories run by serve
    scheduler: Any = None  # relay.scheduler.loop.Scheduler
    server: asyncio.AbstractServer | None = None
    handler: RelayHandler | None = None
    _tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1] if self.server else 0


def prepare(settings: Settings) -> tuple[Database, bytes, bytes]:
    """What ``relayctl init`` does, idempotently: data dir, schema, HMAC secret, DKIM key."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.database_url)
    schema.upgrade(db.engine)
    secret, _ = ensure_secret(settings.secret_path)
    key, _ = ensure_dkim_key(settings.dkim_key)
    return db, secret, key


def policy_path(settings: Settings) -> Path | None:
    if settings.policy is not None:
        return settings.policy
    return DEFAULT_POLICY if DEFAULT_POLICY.exists() else None


def default_transport(settings: Settings) -> Transport:
    address = settings.smarthost_address
    if address is None:
        return MaildirTransport(settings.maildir)
    return SmarthostTransport(
        address[0],
        address[1],
        tls=settings.smarthost_tls,
        username=settings.smarthost_user,
        password=settings.smarthost_password,
        local_hostname=settings.domain,
    )


def build(settings: Settings, clock: Clock | None = None, transport: Transport | None = None, dns: Any = None) -> Relay:
    """Build every part; nothing listens or runs until ``start``."""
    from relay.outbound.dkim import Signer

    clock = clock or SystemClock()
    db, secret, key = prepare(settings)
    writer = BatchWriter(db)
    policies = load_policy(policy_path(settings))
    if dns is None and settings.sender_auth == "dmarc":
        from relay.auth.dns import SystemDns

        dns = SystemDns()
    sender_check = SenderCheck(settings.sender_auth, dns, settings.authserv_id, settings.trusted_peers)
    worker = OutboundWorker(
        db,
        transport or default_transport(settings),
        clock,
        settings.domain,
        secret,
        signer=Signer(key, settings.dkim_selector, settings.domain),
        concurrency=settings.workers,
    )
    ctx = IntakeContext(
        db=db,
        writer=writer,
        clock=clock,
        domain=settings.domain,
        policies=policies,
        sender_check=sender_check,
        secret=secret,
        wake_outbound=worker.wake,
    )
    relay = Relay(
        settings=settings,
        clock=clock,
        db=db,
        writer=writer,
        secret=secret,
        intake_ctx=ctx,
        routes={"participant": ParticipantRoute(ctx)},
        worker=worker,
        templates=environment(),
        policies=policies,
    )
    import socket

    from relay.scheduler.loop import Scheduler

    relay.scheduler = Scheduler(db, clock, socket.gethostname() or "relay")
    relay.background.append(relay.scheduler.run)
    for feature in FEATURES:
        module, _, function = feature.partition(":")
        getattr(importlib.import_module(module), function)(relay)
    return relay


async def start(relay: Relay, listen: bool = True, work: bool = True, sock=None) -> Relay:
    settings = relay.settings
    db = relay.db

    async def alias_kind(local: str) -> str:
        return await db.read(lambda s: directory.alias_kind(s, local))

    intake = Intake(
        settings.domain,
        relay.routes,
        alias_kind,
        settings.max_recipients,
        door=Door.from_settings(settings),
        now=relay.clock.now,
    )
    relay.handler = RelayHandler(intake)
    if listen:
        tls = smtp_server.tls_context(settings.tls_cert, settings.tls_key)
        relay.server = await smtp_server.start(
            relay.handler, settings.listen_host, settings.listen_port, settings.domain, settings.max_message_size, tls,
            sock=sock,
        )
    if work:
        relay._tasks.append(asyncio.create_task(relay.worker.run(), name="outbound"))
        for factory in relay.background:
            relay._tasks.append(asyncio.create_task(factory()))
    return relay


async def stop(relay: Relay) -> None:
    """Drain: refuse new mail, let in-flight deliveries finish, close the store."""
    if relay.handler is not None:
        relay.handler.draining = True
    if relay.server is not None:
        relay.server.close()
        await relay.server.wait_closed()
    await relay.worker.stop()
    for task in relay._tasks:
        task.cancel()
    await asyncio.gather(*relay._tasks, return_exceptions=True)
    await relay.worker.transport.close()
    await asyncio.to_thread(relay.writer.close)
    relay.db.close()


async def serve(settings: Settings, sock=None) -> None:
    """Run until SIGTERM or SIGINT."""
    if settings.sender_auth == "none":
        log.warning(
            "RELAY_SENDER_AUTH=none: the envelope sender is trusted without any check. "
            "Anyone can impersonate a participant. Use this for development only."
        )
    relay = build(settings)
    await start(relay, sock=sock)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    log.info("mentor-relay listening on %s:%s for @%s", settings.listen_host, relay.port, settings.domain)
    print(f"mentor-relay: listening on {settings.listen_host}:{relay.port} for @{settings.domain}", flush=True)
    await done.wait()
    log.info("stopping: draining deliveries")
    await stop(relay)


def serve_processes(settings: Settings, processes: int) -> None:
    """Several relay processes on one listening socket, for more than one core.

    The socket is bound once and the process forks before any thread or
    event loop exists; each process then runs its own intake, workers and
    scheduler. They share the store, where queue claims and the scheduler's
    leader lease already make that safe. SIGTERM to the first process stops
    them all, each draining its own deliveries.
    """
    sock = smtp_server.bind(settings.listen_host, settings.listen_port)
    children: list[int] = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:  # a worker process: serve until told to stop, then leave without running the parent's cleanup
            code = 0
            try:
                asyncio.run(serve(settings, sock=sock))
            except BaseException:  # noqa: BLE001 - the parent hears of it through the exit code
                log.exception("relay process %s failed", os.getpid())
                code = 1
            os._exit(code)
        children.append(pid)
    try:
        asyncio.run(serve(settings, sock=sock))
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in children:
            os.waitpid(pid, 0)
        sock.close()
