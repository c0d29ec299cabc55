"""relayctl report responses: how quickly mentors answer, per mentor."""

from __future__ import annotations

from dataclasses import asdict

from relay.cli.base import Context, emit, table
from relay.cli.scheduler import parse_moment
from relay.scheduler.digests import hours_text
from relay.store import care, directory


def register(sub) -> None:
    group = sub.add_parser("report", help="reports for coordinators")
    commands = group.add_subparsers(dest="report_command", metavar="REPORT", required=True)
    responses = commands.add_parser("responses", help="per-mentor reply times, waiting threads and reminders sent")
    responses.add_argument("--since", default=None, metavar="ISO-8601")
    responses.add_argument("--program", default=None)
    responses.add_argument("--json", action="store_true")
    responses.set_defaults(func=run_responses)


def run_responses(args, ctx: Context) -> int:
    since = parse_moment(args.since) if args.since else None

    def work(session):
        program = directory.get_program(session, args.program or ctx.settings.program)
        return [asdict(f) for f in care.response_figures(session, program.id, since)]

    rows = ctx.run(work)  # in natural order: "Mentor 2" before "Mentor 10"
    for row in rows:
        row["waiting"] = list(row["waiting"])
    emit(args.json, rows, lambda: table(
        [[r["mentor"], r["answered"], r["unanswered"], hours_text(r["median_hours"]), hours_text(r["p90_hours"]),
          len(r["waiting"]), r["reminders"]] for r in rows],
        ["MENTOR", "ANSWERED", "UNANSWERED", "MEDIAN", "P90", "WAITING", "REMINDERS"]))
    return 0
