"""relayctl program: create and list programs, change their settings, close them properly (or take it back)."""

from __future__ import annotations

import argparse

from relay import program_settings
from relay.cli import closing
from relay.cli.base import CliError, Context, emit, table
from relay.store import directory

parse_day = closing.parse_day  # kept for callers that import it from here


def register(sub) -> None:
    group = sub.add_parser("program", help="programs: add, list, settings, closing")
    commands = group.add_subparsers(dest="program_command", metavar="ACTION", required=True)
    add = commands.add_parser("add", help="create a program (commands name it with --program NAME)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--timezone", default="UTC", help="IANA time zone for reminders, digests and closing (default UTC)")
    add.add_argument("--response-window-hours", type=int, default=48)
    add.set_defaults(func=run_add)
    listing = commands.add_parser("list", help="list programs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    change = commands.add_parser(
        "set", help="change a program's settings",
        description="Settings (--setting KEY=VALUE, repeatable):\n  " + "\n  ".join(program_settings.describe()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    change.add_argument("--program", default=None)
    change.add_argument("--response-window-hours", type=int, default=None)
    change.add_argument("--timezone", default=None)
    change.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                        help="e.g. remind_mentees=true, quiet_pairing_days=10, guardian_copy=summary (repeatable)")
    change.set_defaults(func=run_set)
    close = commands.add_parser("close", help="close every pairing of a program on a date, with notices and transcripts")
    close.add_argument("--on", required=True, metavar="YYYY-MM-DD", help="the closing day; today needs --yes")
    close.add_argument("--yes", action="store_true", help="yes, close today, without notice ahead")
    close.add_argument("--program", default=None)
    close.set_defaults(func=run_close)
    reopen = commands.add_parser("reopen", help="withdraw a program's closing day before it comes")
    reopen.add_argument("--program", default=None)
    reopen.set_defaults(func=run_reopen)


def _timezone(name: str) -> str:
    from relay.cli.roster import timezone_problem

    problem = timezone_problem(name)
    if problem:
        raise CliError(problem)
    return name


def run_add(args, ctx: Context) -> int:
    name = args.name.strip()
    if not name or len(name) > 100 or any(ord(c) < 32 for c in name):
        raise CliError("a program name must be 1 to 100 characters on one line")
    if args.response_window_hours < 1:
        raise CliError("--response-window-hours must be at least 1")
    tz, now = _timezone(args.timezone), ctx.clock.now()

    def work(session):
        program = directory.add_program(session, name, now, tz)
        program.response_window_hours = args.response_window_hours
        return program.name

    print(f"created program {ctx.run(work)}; enrol people with --program {name!r}")
    return 0


def run_list(args, ctx: Context) -> int:
    from sqlmodel import select

    from relay.store.tables import Program

    rows = ctx.run(lambda s: [dict(name=p.name, status=p.status, timezone=p.timezone,
                                   response_window_hours=p.response_window_hours, closes_on=p.closes_on,
                                   settings=program_settings.load(p.settings).as_dict())
                              for p in s.exec(select(Program).order_by(Program.id))])
    emit(args.json, rows, lambda: table([[r["name"], r["status"], r["timezone"], r["response_window_hours"],
                                          r["closes_on"] or "-"] for r in rows],
                                        ["NAME", "STATUS", "TIMEZONE", "WINDOW_H", "CLOSES_ON"]))
    return 0


def run_set(args, ctx: Context) -> int:
    changes = program_settings.parse_assignments(args.setting)
    if args.response_window_hours is not None and args.response_window_hours < 1:
        raise CliError("--response-window-hours must be at least 1")
    tz = _timezone(args.timezone) if args.timezone else args.timezone

    def work(session):
        program = directory.get_program(session, args.program or ctx.settings.program)
        updated = program_settings.change(program_settings.load(program.settings), changes)
        if args.response_window_hours is not None:
            program.response_window_hours = args.response_window_hours
        if tz is not None:
            program.timezone = tz
        program.settings = updated.to_json()
        return program.name, updated

    name, updated = ctx.run(work)
    shown = ", ".join(f"{k}={program_settings.show(getattr(updated, k))}" for k in changes)
    print(f"updated program {name}" + (f": {shown}" if shown else ""))
    return 0


def run_close(args, ctx: Context) -> int:
    from relay.care.closure import schedule_closure

    day, now = closing.parse_day(args.on), ctx.clock.now()

    def work(session):
        program = directory.get_program(session, args.program or ctx.settings.program)
        if program.status == "closed":
            raise CliError(f"program {program.name} is already closed")
        closing.check_day(day, program.timezone, now, args.yes, f"every pairing of {program.name}")
        pairings = [p for p in directory.list_pairings(session, program.id) if p.status in ("active", "closing")]
        for pairing in pairings:
            schedule_closure(session, pairing, day, now)
        program.status, program.closes_on = "closing", day
        return program.name, len(pairings), closing.plan_text(day, program.timezone, now)

    name, count, text = ctx.run(work)
    print(f"program {name} closes on {day}: {count} pairing(s); {text}; 'relayctl program reopen' withdraws it before then")
    return 0


def run_reopen(args, ctx: Context) -> int:
    def work(session):
        program = directory.get_program(session, args.program or ctx.settings.program)
        if program.status != "closing":
            state = "closed: its pairings have ended" if program.status == "closed" else "not closing"
            raise CliError(f"program {program.name} is {state}; there is no closing day to withdraw")
        day, reopened = program.closes_on, 0
        for pairing in directory.list_pairings(session, program.id):
            if pairing.status == "closing" and pairing.closes_on == day:
                pairing.status, pairing.closes_on = "active", None  # planned notices see it and stand down
                reopened += 1
        program.status, program.closes_on = "active", None
        return program.name, day, reopened

    name, day, count = ctx.run(work)
    print(f"program {name} stays open: closing on {day} withdrawn for {count} pairing(s)")
    return 0
