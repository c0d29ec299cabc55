"""relayctl scheduler tick and jobs: run the scheduler once (cron, tests), preview a later moment, see what is planned."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from relay.cli.base import CliError, Context, describe, emit, table, when
from relay.clock import FixedClock, as_utc
from relay.store import jobs

# A moment this far past the system clock is "the future": what a tick queues then is due later.
FUTURE_SLACK = timedelta(minutes=1)


def register(sub) -> None:
    group = sub.add_parser("scheduler", help="reminders, digests and closures")
    commands = group.add_subparsers(dest="scheduler_command", metavar="ACTION", required=True)
    tick = commands.add_parser(
        "tick", help="plan and run every job due now (or at --at), once",
        description="Plan and run every job due as of now, once, and queue the mail they send. With --at "
        "the tick runs as of that moment: in the past it catches up; in the future the jobs run now and "
        "their mail is queued due at that moment ('relayctl queue retry --all' releases it at once). "
        "With --dry-run nothing is sent or recorded: the tick lists what would be sent.",
    )
    tick.add_argument("--at", default=None, metavar="ISO-8601",
                      help="as of this moment (default: now); in the future, what it sends is due then")
    tick.add_argument("--dry-run", action="store_true", help="list what would be sent; send and record nothing")
    tick.set_defaults(func=run_tick)
    listing = commands.add_parser("jobs", help="list pending, running and failed jobs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_jobs)


def parse_moment(value: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise CliError(f"--at {value!r} is not an ISO-8601 time such as 2026-11-05T09:00:00+00:00") from None


def run_tick(args, ctx: Context) -> int:
    from relay.composition import build_scheduler
    from relay.notices import environment

    now = ctx.clock.now()
    at = parse_moment(args.at) if args.at else now
    # Only what the scheduler needs: the store and the templates. What it queues is
    # delivered by the running relay's outbound workers.
    templates = environment()
    scheduler = build_scheduler(ctx.db, FixedClock(at), templates, ctx.settings.domain, ctx.keys().secret)
    future = at > now + FUTURE_SLACK
    if args.dry_run:
        return preview(ctx, scheduler, at, future=future, templates=templates)
    ran = asyncio.run(scheduler.tick(at))
    print(f"ran {ran} job{'s' if ran != 1 else ''} due as of {at.isoformat()}")
    if future and ran:
        print(f"what they queued is due at {at.isoformat()}; 'relayctl queue retry --all' sends it now")
    return 0


def preview(ctx: Context, scheduler, at: datetime, future: bool, templates) -> int:
    """Plan and run the due jobs in one transaction that is rolled back, and list the mail they would queue."""
    outcome = ctx.dry_run(lambda session: _rehearse(session, scheduler, at, templates))
    why = "in the future" if future else "a dry run"
    print(f"dry run as of {at.isoformat()} ({why}): nothing was sent or recorded")
    for line in outcome["lines"]:
        print(f"  {line}")
    print(f"{outcome['jobs']} job(s) would run and {outcome['mail']} message(s) would be sent"
          + ("; they go out when a tick runs at that time" if future else ""))
    return 0


def _rehearse(session, scheduler, at: datetime, templates) -> dict:
    from sqlalchemy import func
    from sqlmodel import select

    from relay.outbound.content import copy_bytes
    from relay.outbound.jobs import job_of
    from relay.store.tables import Delivery, Job, Participant

    before = session.exec(select(func.max(Delivery.id))).one() or 0
    for planner in scheduler.planners:
        with session.begin_nested():
            jobs.ensure_planned(session, planner(session, at))
    due = session.exec(select(Job).where(Job.status == "pending", Job.due_at <= at).order_by(Job.due_at, Job.id)).all()
    lines, ran = [], 0
    for job in due:
        handler = scheduler.handlers.get(job.kind)
        try:
            with session.begin_nested():
                if handler is None:
                    raise LookupError(f"no handler for jobs of kind {job.kind!r}")
                handler(session, job, at)
            ran += 1
        except Exception as error:  # noqa: BLE001 - a preview reports, it does not stop
            lines.append(f"job {job.id} ({job.kind}) would fail: {describe(error)}")
    queued = session.exec(select(Delivery).where(Delivery.id > before).order_by(Delivery.id)).all()
    for delivery in queued:
        person = session.get(Participant, delivery.recipient_id) if delivery.recipient_id else None
        data = copy_bytes(job_of(delivery), templates) or b""  # what a tick queues is notices: stored or an intent
        subject = BytesHeaderParser(policy=default_policy).parsebytes(data).get("Subject", "")
        lines.append(f"{delivery.kind} to {person.handle if person else 'staff'}: {str(subject)!r}")
    return {"lines": lines, "jobs": ran, "mail": len(queued)}


def run_jobs(args, ctx: Context) -> int:
    rows = ctx.run(lambda s: [dict(id=j.id, key=j.key, kind=j.kind, status=j.status, due_at=j.due_at,
                                   attempts=j.attempts, last_error=j.last_error) for j in jobs.list_jobs(s)])
    emit(args.json, rows, lambda: table([[r["id"], r["kind"], r["status"], when(r["due_at"]), r["key"]] for r in rows],
                                        ["ID", "KIND", "STATUS", "DUE", "KEY"]))
    return 0
