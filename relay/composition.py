"""Composes the relay: every part built once, and the tables that say what runs where.

This is the one place that decides which route answers which kind of relay
address, what runs inside the accepting transaction after a message's rows
are written, what the door checks before the policy, what happens when a
copy fails for good, and which scheduled jobs exist. Each is a literal
table below; nothing is loaded by name and nothing is patched in later.
``relay.service`` runs what is built here (SMTP, workers, scheduler).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import secrets
import socket
from dataclasses import dataclass, field
from functools import partial
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from relay.care import closure as closure_jobs
from relay.care import digests as digest_jobs
from relay.care import reminders as reminder_jobs
from relay.care.mailer import Mailer
from relay.circles import care as circle_care
from relay.circles import digests as circle_digests
from relay.clock import Clock, SystemClock
from relay.config import Settings
from relay.intake.bounce_mail import BounceRoute
from relay.intake.circle_mail import CircleRoute
from relay.intake.context import IntakeContext
from relay.intake.hardening import DepthCheck, HeaderCheck, RateCheck
from relay.intake.moderation_mail import ModerationRoute
from relay.intake.participant_mail import ParticipantRoute
from relay.intake.postmaster_mail import PostmasterRoute
from relay.intake.sender import SenderCheck
from relay.intake.service_mail import ServiceRoute, away_note_hook
from relay import keys
from relay.flow import InFlow
from relay.metrics import Metrics
from relay.moderation.notice import NoticePlanner
from relay.notices import environment
from relay.outbound.dkim import Signer
from relay.outbound.failure import FailureNotices
from relay.outbound.message_ids import new_message_id
from relay.outbound.transports import MaildirTransport, SmarthostTransport, Transport
from relay.outbound.worker import OutboundWorker
from relay.policy.loader import PolicySet, load_policy
from relay.safeguarding import consent, guardian_copy, reassurance, retention, urgent
from relay.safeguarding.reply_mail import SafeguardingRoute
from relay.scheduler.loop import JobKind, Scheduler
from relay.store import schema
from relay.store.db import Database
from relay.store.writer import BatchWriter

DEFAULT_POLICY = Path(__file__).resolve().parents[1] / "config" / "policy.toml"
COPY_LIFETIME = timedelta(days=5)  # how long a copy of a participant's message is tried before it fails


@dataclass
class Relay:
    """Everything ``relayctl serve`` runs, built and wired; nothing listens until ``service.start``."""

    settings: Settings
    clock: Clock
    db: Database
    writer: BatchWriter
    secret: bytes
    intake_ctx: IntakeContext
    routes: dict[str, Any]
    worker: OutboundWorker
    scheduler: Scheduler
    templates: Any
    policies: PolicySet
    cpu: concurrent.futures.Executor  # parsing and the policy of a large message (relay.cpu): never the database's threads
    inflow: InFlow  # the worker reports its backlog, the SMTP door slows new mail while it grows
    # Set by ``relay.service.start`` while the relay runs:
    server: asyncio.AbstractServer | None = None
    handler: Any = None  # relay.smtp.handler.RelayHandler
    tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1] if self.server else 0


def prepare(settings: Settings, clock: Clock) -> tuple[Database, keys.DeploymentKeys]:
    """What ``relayctl init`` does, idempotently: data dir, schema, the deployment's keys (shared in the store)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.database_url)
    schema.upgrade(db.engine)
    deployment = keys.ensure(db, settings.secret_path, settings.dkim_key, settings.dkim_selector, clock.now())
    return db, deployment


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
        pool_size=settings.workers,  # one connection per sending slot
    )


@dataclass(frozen=True)
class Safeguarding:
    """The safeguarding parts that intake and the scheduler share (each needs the deployment's secret)."""

    alerts: urgent.UrgentAlerts
    consent_mail: consent.Mailer
    purge: retention.PurgeHandler

    @classmethod
    def build(cls, templates: Any, domain: str, secret: bytes, next_id: Callable[[], str]) -> "Safeguarding":
        random_part = lambda: secrets.token_urlsafe(24)  # noqa: E731
        return cls(
            alerts=urgent.UrgentAlerts(env=templates, domain=domain, secret=secret, random_part=random_part,
                                       new_message_id=next_id),
            consent_mail=consent.Mailer(env=templates, domain=domain, secret=secret, random_part=random_part,
                                        new_message_id=next_id),
            purge=retention.PurgeHandler(),
        )


def scheduled_jobs(mail: Mailer, templates: Any, domain: str, safe: Safeguarding,
                   next_id: Callable[[], str]) -> tuple[JobKind, ...]:
    """Every kind of scheduled job: (kind, planner or None, handler).

    A planner reads and says which ``Job`` rows should exist; a kind without
    one is planned by another kind's planner (closure notices and closures
    together) or by an after-store step (circle question reminders).
    """
    # With the mentor's first reminder the waiting mentee gets one kind note, in the same transaction.
    reminder = reassurance.AfterReminder(partial(reminder_jobs.run_reminder, mail), templates, domain, next_id)
    return (
        JobKind("reminder", reminder_jobs.plan_reminders, reminder),
        JobKind("closure-notice", closure_jobs.plan_closures, partial(closure_jobs.run_closure_notice, mail)),
        JobKind("closure", None, partial(closure_jobs.run_closure, mail)),
        JobKind("digest", digest_jobs.plan_digests, partial(digest_jobs.run_digest, mail)),
        JobKind(circle_digests.JOB_KIND, circle_digests.plan_digests, circle_digests.DigestHandler(templates, domain)),
        JobKind(circle_care.JOB_KIND, None, circle_care.ReminderHandler(templates, domain)),
        JobKind(consent.REQUEST_JOB, consent.plan_requests, consent.RequestHandler(safe.consent_mail)),
        JobKind(urgent.JOB_KIND, urgent.plan_realerts, urgent.RealertHandler(safe.alerts, urgent.stored_view)),
        JobKind(guardian_copy.SUMMARY_JOB, guardian_copy.plan_summaries,
                guardian_copy.SummaryHandler(templates, domain, next_id)),
        JobKind(retention.JOB_KIND, retention.plan_purges, safe.purge),
    )


def build_scheduler(db: Database, clock: Clock, templates: Any, domain: str, secret: bytes,
                    wake: Callable[[], None] = lambda: None, safe: Safeguarding | None = None) -> Scheduler:
    """The scheduler alone: all ``relayctl scheduler tick`` needs besides the store."""
    next_id = lambda: new_message_id(domain, secrets.token_hex(12))  # noqa: E731
    safe = safe or Safeguarding.build(templates, domain, secret, next_id)
    jobs = scheduled_jobs(Mailer(templates, domain), templates, domain, safe, next_id)
    after_tick = (
        wake,  # what the jobs queued goes out now
        partial(_off_the_loop, safe.purge.compact_after, db.engine),  # purged bytes leave the files
    )
    return Scheduler(db, clock, socket.gethostname() or "relay", jobs, after_tick=after_tick)


def _off_the_loop(work: Callable[..., None], *args: Any) -> None:
    """Compaction waits on the database's files: in a thread, never on the event loop."""
    asyncio.get_running_loop().run_in_executor(None, work, *args)


def build(settings: Settings, clock: Clock | None = None, transport: Transport | None = None, dns: Any = None) -> Relay:
    """Build every part; nothing listens or runs until ``service.start``."""
    clock = clock or SystemClock()
    db, deployment = prepare(settings, clock)
    secret, domain = deployment.secret, settings.domain
    metrics = Metrics()  # one set of counters per process, for intake and delivery alike
    writer = BatchWriter(db)
    policies = load_policy(policy_path(settings))
    templates = environment()
    mail = Mailer(templates, domain)
    if dns is None and settings.sender_auth == "dmarc":
        from relay.auth.dns import SystemDns

        dns = SystemDns()
    token = lambda: secrets.token_hex(12)  # noqa: E731 - the random part of new Message-IDs
    next_id = lambda: new_message_id(domain, token())  # noqa: E731
    safe = Safeguarding.build(templates, domain, secret, next_id)
    cpu = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="cpu")
    notices_for_moderators = NoticePlanner(
        env=templates, domain=domain, secret=secret, policies=policies,
        random_part=lambda: secrets.token_urlsafe(24), new_message_id=lambda: new_message_id(domain, token()),
    )
    inflow = InFlow(delay=settings.in_flow_delay)
    worker = OutboundWorker(
        db, transport or default_transport(settings), clock, domain, secret, writer=writer,
        signer=Signer(deployment.dkim_key, deployment.selector, domain), concurrency=settings.workers,
        policies=policies, metrics=metrics, templates=templates, inflow=inflow,
        # When a forwarded copy fails for good, its sender is told privately.
        on_final=(FailureNotices(templates, domain, token),),
    )
    ctx = IntakeContext(
        db=db, writer=writer, clock=clock, domain=domain, policies=policies,
        sender_check=SenderCheck(settings.sender_auth, dns, settings.authserv_id, settings.trusted_peers),
        secret=secret, wake_outbound=worker.wake, token=token, cpu=cpu, metrics=metrics, lifetime=COPY_LIFETIME,
        # Checks at DATA before the policy, for participant and circle mail, in this order.
        data_checks=(
            HeaderCheck(),
            DepthCheck(settings.max_mime_depth),
            RateCheck(settings.messages_per_hour, clock.now),
        ),
        # Steps inside the accepting transaction, after the message's rows are written, in this order.
        after_store=(
            notices_for_moderators,  # flagged or held: every moderator is told, the writer too
            away_note_hook(mail),  # the mentor is away: the mentee gets a kind note, once
            circle_care.watch_questions,  # a circle question: plan its "still unanswered" reminder
            # A child's messages wait for the family's consent; guardians get their copies.
            guardian_copy.GuardianSteps(
                hold=consent.ConsentHold(env=templates, domain=domain, new_message_id=next_id),
                copies=guardian_copy.GuardianCopies(domain=domain, new_message_id=next_id, lifetime=COPY_LIFETIME),
            ),
            safe.alerts,  # an urgent message: every coordinator is alerted at once
        ),
    )
    routes = {
        "participant": ParticipantRoute(ctx, answer_ended=partial(closure_jobs.answer_ended, mail)),
        "circle": CircleRoute(ctx),
        "moderation": ModerationRoute(ctx, notices_for_moderators),
        "bounce": BounceRoute(ctx, templates),
        "service": ServiceRoute(ctx, mail),
        "postmaster": PostmasterRoute(ctx, templates, settings.program),
        "safeguarding": SafeguardingRoute(ctx, handlers={
            "urgent": urgent.AckHandler(env=templates, domain=domain, new_message_id=next_id),  # a coordinator's ack
            "consent": consent.ConsentAnswer(safe.consent_mail),  # a guardian's yes or no
        }),
    }
    return Relay(
        settings=settings, clock=clock, db=db, writer=writer, secret=secret, intake_ctx=ctx, routes=routes,
        worker=worker, scheduler=build_scheduler(db, clock, templates, domain, secret, wake=worker.wake, safe=safe),
        templates=templates, policies=policies, cpu=cpu, inflow=inflow,
    )
