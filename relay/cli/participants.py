"""relayctl participant: enrolling people and looking them up."""

from __future__ import annotations

import secrets

from relay import model
from relay.addresses import validate_mailbox
from relay.cli import safeguarding
from relay.cli.base import CliError, Context, emit, table
from relay.store import directory

ROLES = [r.value for r in model.Role]


def register(sub) -> None:
    group = sub.add_parser("participant", help="enrol and list participants").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = group.add_parser("add", help="enrol a participant and print their alias")
    add.add_argument("email", help="their real address (never shown to anyone else)")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--handle", required=True, help="the name the other side sees, e.g. 'Sam (mentor)'")
    add.add_argument("--premoderate", action="store_true", help="hold every message from or to them for review")
    add.add_argument("--timezone", default="", help="IANA time zone, e.g. Europe/London (default: the program's)")
    add.add_argument("--program", default=None, help="program name (default: RELAY_PROGRAM)")
    add.add_argument("--guardian", default=None, metavar="EMAIL", help="a mentee's parent or guardian (consent, copies)")
    add.add_argument("--json", action="store_true", help="print a JSON object")
    add.set_defaults(func=run_add)
    listing = group.add_parser("list", help="list participants")
    listing.add_argument("--program", default=None)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    for verb, status in (("suspend", "suspended"), ("resume", "active")):
        cmd = group.add_parser(verb, help=f"mark a participant {status}")
        cmd.add_argument("email")
        cmd.add_argument("--program", default=None)
        cmd.set_defaults(func=run_status, status=status)
    safeguarding.register_participant(group)


def check_handle(handle: str) -> str:
    handle = handle.strip()
    if not handle or len(handle) > 64:
        raise CliError("--handle must be 1 to 64 characters")
    if any(ord(c) < 32 or c in '<>"\\@' for c in handle):
        raise CliError("--handle may not contain line breaks, quotes, <, >, \\ or @")
    return handle


def check_timezone(name: str) -> str:
    if not name:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"unknown time zone {name!r}; use an IANA name such as Europe/London") from None
    return name


def run_add(args, ctx: Context) -> int:
    email = validate_mailbox(args.email)
    handle = check_handle(args.handle)
    tz = check_timezone(args.timezone)
    settings = ctx.settings
    if email.endswith("@" + settings.domain):
        raise CliError("a participant's real address cannot be on the relay's own domain")
    now = ctx.clock.now()

    def work(session):
        program = directory.get_or_create_program(session, args.program or settings.program, now)
        row = directory.add_participant(
            session, program, email, model.Role(args.role), handle, now,
            lambda: secrets.token_bytes(16), premoderate=args.premoderate, timezone=tz,
        )
        if args.guardian:
            safeguarding.add_guardian(session, ctx, row, args.guardian, now)
        return {"id": row.id, "email": row.email, "role": row.role, "handle": row.handle,
                "alias": f"{row.alias}@{settings.domain}", "program": program.name}

    data = ctx.run(work)
    emit(args.json, data, [data["alias"]])
    return 0


def run_list(args, ctx: Context) -> int:
    settings = ctx.settings

    def work(session):
        program_id = directory.get_program(session, args.program).id if args.program else None
        return [
            {"id": p.id, "email": p.email, "alias": f"{p.alias}@{settings.domain}", "handle": p.handle,
             "role": p.role, "status": p.status, "premoderate": p.premoderate}
            for p in directory.list_participants(session, program_id)
        ]

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], r["email"], r["alias"], r["handle"], r["role"], r["status"]] for r in rows],
        ["ID", "EMAIL", "ALIAS", "HANDLE", "ROLE", "STATUS"],
    ))
    return 0


def run_status(args, ctx: Context) -> int:
    email = validate_mailbox(args.email)
    settings = ctx.settings

    def work(session):
        program = directory.get_program(session, args.program or settings.program)
        row = directory.require_participant(session, program, email)
        row.status = args.status
        return row.handle

    handle = ctx.run(work)
    print(f"{email} ({handle}) is now {args.status}")
    return 0
