"""relayctl scheduler tick and jobs: run the scheduler once (cron, tests) and see what is planned."""

from __future__ import annotations

import asyncio
from datetime import datetime

from relay.cli.base import CliError, Context, emit, table, when
from relay.clock import FixedClock, as_utc
from relay.store import jobs


def register(sub) -> None:
    group = sub.add_parser("scheduler", help="reminders, digests and closures")
    commands = group.add_subparsers(dest="scheduler_command", metavar="ACTION", required=True)
    tick = commands.add_parser("tick", help="plan and run every job due now (or at --at), once")
    tick.add_argument("--at", default=None, metavar="ISO-8601", help="run as of this moment (default: now)")
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

    at = parse_moment(args.at) if args.at else ctx.clock.now()
    # Only what the scheduler needs: the store and the templates. What it queues is
    # delivered by the running relay's outbound workers.
    scheduler = build_scheduler(ctx.db, FixedClock(at), environment(), ctx.settings.domain)
    ran = asyncio.run(scheduler.tick(at))
    print(f"ran {ran} job{'s' if ran != 1 else ''} due as of {at.isoformat()}")
    return 0


def run_jobs(args, ctx: Context) -> int:
    rows = ctx.run(lambda s: [dict(id=j.id, key=j.key, kind=j.kind, status=j.status, due_at=j.due_at,
                                   attempts=j.attempts, last_error=j.last_error) for j in jobs.list_jobs(s)])
    emit(args.json, rows, lambda: table([[r["id"], r["kind"], r["status"], when(r["due_at"]), r["key"]] for r in rows],
                                        ["ID", "KIND", "STATUS", "DUE", "KEY"]))
    return 0
