"""relayctl program: list programs, change their reminder window, and close them properly."""

from __future__ import annotations

import json
from datetime import date

from relay.cli.base import CliError, Context, emit, table
from relay.store import care, directory


def register(sub) -> None:
    group = sub.add_parser("program", help="programs: list, settings, closing")
    commands = group.add_subparsers(dest="program_command", metavar="ACTION", required=True)
    listing = commands.add_parser("list", help="list programs")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    change = commands.add_parser("set", help="change a program's settings")
    change.add_argument("--program", default=None)
    change.add_argument("--response-window-hours", type=int, default=None)
    change.add_argument("--timezone", default=None)
    change.add_argument("--setting", action="append", default=[], metavar="KEY=JSON",
                        help='e.g. remind_mentees=true, quiet_pairing_days=10 (repeatable)')
    change.set_defaults(func=run_set)
    close = commands.add_parser("close", help="close every pairing of a program on a date, with notices and transcripts")
    close.add_argument("--on", required=True, metavar="YYYY-MM-DD")
    close.add_argument("--program", default=None)
    close.set_defaults(func=run_close)


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{value!r} is not a date such as 2026-12-18") from None


def run_list(args, ctx: Context) -> int:
    from sqlmodel import select

    from relay.store.tables import Program

    rows = ctx.run(lambda s: [dict(name=p.name, status=p.status, timezone=p.timezone,
                                   response_window_hours=p.response_window_hours, closes_on=p.closes_on,
                                   settings=care.program_settings(p)) for p in s.exec(select(Program).order_by(Program.id))])
    emit(args.json, rows, lambda: table([[r["name"], r["status"], r["timezone"], r["response_window_hours"],
                                          r["closes_on"] or "-"] for r in rows],
                                        ["NAME", "STATUS", "TIMEZONE", "WINDOW_H", "CLOSES_ON"]))
    return 0


def run_set(args, ctx: Context) -> int:
    from relay.timezones import zone

    def work(session):
        program = directory.get_program(session, args.program or ctx.settings.program)
        if args.response_window_hours is not None:
            if args.response_window_hours < 1:
                raise CliError("--response-window-hours must be at least 1")
            program.response_window_hours = args.response_window_hours
        if args.timezone is not None:
            if args.timezone and str(zone(args.timezone)) != args.timezone:
                raise CliError(f"unknown time zone {args.timezone!r}")
            program.timezone = args.timezone
        values = care.program_settings(program)
        for item in args.setting:
            key, _, raw = item.partition("=")
            try:
                values[key.strip()] = json.loads(raw)
            except ValueError:
                raise CliError(f"--setting {item!r}: the value must be JSON (true, 14, \"text\")") from None
        program.settings = json.dumps(values, sort_keys=True)
        return program.name

    print(f"updated program {ctx.run(work)}")
    return 0


def run_close(args, ctx: Context) -> int:
    from relay.care.closure import schedule_closure

    day = parse_day(args.on)
    now = ctx.clock.now()
    if day < now.date():
        raise CliError(f"{day} has passed; choose today or a later day")

    def work(session):
        program = directory.get_program(session, args.program or ctx.settings.program)
        pairings = [p for p in directory.list_pairings(session, program.id) if p.status in ("active", "closing")]
        for pairing in pairings:
            schedule_closure(session, pairing, day, now)
        program.status, program.closes_on = "closing", day
        return program.name, len(pairings)

    name, count = ctx.run(work)
    print(f"program {name} closes on {day}: {count} pairing(s) will be told 14 and 3 days ahead and get their transcripts")
    return 0
