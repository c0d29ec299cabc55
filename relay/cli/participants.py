"""relayctl participant: enrolling people (one, or a whole spreadsheet) and looking them up."""

from __future__ import annotations

import secrets

from relay import model
from relay.addresses import validate_mailbox
from relay.cli import bulk, roster, safeguarding
from relay.cli.base import CliError, Context, emit, stderr, table
from relay.store import directory

ROLES = [r.value for r in model.Role]


def register(sub) -> None:
    group = sub.add_parser("participant", help="enrol, import and list participants").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = group.add_parser("add", help="enrol a participant and print their alias")
    add.add_argument("email", help="their real address (never shown to anyone else)")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--handle", required=True,
                     help="the name the other side sees, e.g. 'Sam'; unique in the program, whatever the case")
    add.add_argument("--premoderate", action="store_true", help="hold every message from or to them for review")
    add.add_argument("--timezone", default="", help="IANA time zone, e.g. Europe/London (default: the program's)")
    add.add_argument("--guardian", default=None, metavar="EMAIL", help="a mentee's parent or guardian (consent, copies; never shown)")
    add.add_argument("--program", default=None, help="an existing program (default: RELAY_PROGRAM)")
    add.add_argument("--json", action="store_true", help="print a JSON object")
    add.set_defaults(func=run_add)
    imp = group.add_parser(
        "import", help="enrol everyone in a CSV file, all or nothing",
        description="Columns: email, role, handle (required); timezone, program, guardian_email (optional). "
        "UTF-8 with or without a byte-order mark, CRLF or LF. Every row is checked first: if any is wrong, "
        "nothing is imported and each wrong row is named by its line. People already enrolled with the same "
        "role and handle are left unchanged, so importing a file again changes nothing.",
    )
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--program", default=None, help="for rows without a program column (default: RELAY_PROGRAM)")
    imp.add_argument("--dry-run", action="store_true", help="check every row and say what would happen; write nothing")
    imp.add_argument("--json", action="store_true", help="print the created participants with their aliases")
    imp.set_defaults(func=run_import)
    listing = group.add_parser("list", help="list participants")
    listing.add_argument("--program", default=None)
    listing.add_argument("--search", default=None, metavar="TEXT", help="only those whose address, handle or alias contains TEXT")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    for verb, status in (("suspend", "suspended"), ("resume", "active")):
        cmd = group.add_parser(verb, help=f"mark a participant {status}")
        cmd.add_argument("email")
        cmd.add_argument("--program", default=None)
        cmd.set_defaults(func=run_status, status=status)
    safeguarding.register_participant(group)


def check_handle(handle: str) -> str:
    problem = roster.handle_problem(handle.strip())
    if problem:
        raise CliError(f"--handle: {problem}")
    return " ".join(handle.split())


def check_timezone(name: str) -> str:
    problem = roster.timezone_problem(name)
    if problem:
        raise CliError(problem)
    return name


def program_named(session, name: str | None, ctx: Context):
    """``--program NAME`` must exist; without it, the configured program."""
    return directory.get_program(session, name or ctx.settings.program)


def run_add(args, ctx: Context) -> int:
    email = validate_mailbox(args.email)
    handle = check_handle(args.handle)
    tz = check_timezone(args.timezone)
    settings = ctx.settings
    if email.endswith("@" + settings.domain):
        raise CliError("a participant's real address cannot be on the relay's own domain")
    guardian = validate_mailbox(args.guardian) if args.guardian else None
    if guardian is not None and guardian == email:
        raise CliError("--guardian must be someone else's address")
    now = ctx.clock.now()
    mail = safeguarding.mailer(ctx) if guardian else None

    def work(session):
        program = program_named(session, args.program, ctx)
        row = directory.add_participant(
            session, program, email, model.Role(args.role), handle, now,
            lambda: secrets.token_bytes(16), premoderate=args.premoderate, timezone=tz, guardian_email=guardian,
        )
        if guardian:
            safeguarding.add_guardian(session, mail, settings.domain, row, guardian, now)
        return {"id": row.id, "email": row.email, "role": row.role, "handle": row.handle,
                "alias": f"{row.alias}@{settings.domain}", "program": program.name}

    data = ctx.run(work)
    emit(args.json, data, [data["alias"]])
    return 0


def plan_import(session, people: list, problems: list):
    """(to create by program, unchanged count); adds a Problem for each row that cannot be taken."""
    programs, taken_emails, taken_handles = {}, {}, {}
    creating: dict[str, list] = {}
    unchanged = 0
    for person in people:
        if person.program not in programs:
            try:
                programs[person.program] = directory.get_program(session, person.program)
            except directory.DirectoryError:
                programs[person.program] = None
            if programs[person.program] is not None:
                pid = programs[person.program].id
                taken_emails[person.program] = {e: (p.role, directory.handle_key(p.handle), p.handle, None)
                                                for e, p in directory.program_emails(session, pid).items()}
                taken_handles[person.program] = {k: None for k in directory.program_handles(session, pid)}
        program = programs[person.program]
        if program is None:
            problems.append(roster.Problem(person.line, f"no program named {person.program!r} ('relayctl program add' creates one)"))
            continue
        key = directory.handle_key(person.handle)
        known = taken_emails[person.program].get(person.email)
        if known is not None:
            role, handle_key, handle, line = known
            if line is not None:
                problems.append(roster.Problem(person.line, f"the same email address is already on line {line}"))
            elif (role, handle_key) == (person.role, key):
                unchanged += 1
            else:
                problems.append(roster.Problem(
                    person.line, f"already enrolled as {role} {handle!r}; this row says {person.role} {person.handle!r}"))
            continue
        if key in taken_handles[person.program]:
            line = taken_handles[person.program][key]
            where = f"on line {line}" if line else "by someone already enrolled"
            problems.append(roster.Problem(person.line, f"the handle {person.handle!r} is already taken {where}"))
            continue
        taken_emails[person.program][person.email] = (person.role, key, person.handle, person.line)
        taken_handles[person.program][key] = person.line
        creating.setdefault(person.program, []).append(person)
    return programs, creating, unchanged


def run_import(args, ctx: Context) -> int:
    settings = ctx.settings
    default_program = args.program or settings.program
    rows, problems, people = bulk.checked_rows(
        args.file, roster.PARTICIPANT_COLUMNS, lambda row: roster.check_person(row, settings.domain, default_program))
    now = ctx.clock.now()
    mail = safeguarding.mailer(ctx) if any(p.guardian_email for p in people) else None

    def work(session):
        programs, creating, unchanged = plan_import(session, people, problems)
        if problems:
            return [], unchanged  # all or nothing: not one participant when any row is wrong
        created = []
        for name, batch in creating.items():
            values = [dict(email=p.email, role=p.role, handle=p.handle, timezone=p.timezone,
                           guardian_email=p.guardian_email) for p in batch]
            for row in directory.add_participants(session, programs[name], values, now, lambda: secrets.token_bytes(16)):
                if row.guardian_email:  # the family is asked for consent when the program requires it
                    safeguarding.add_guardian(session, mail, settings.domain, row, row.guardian_email, now)
                created.append({"id": row.id, "email": row.email, "role": row.role, "handle": row.handle,
                                "alias": f"{row.alias}@{settings.domain}", "program": name})
        return created, unchanged

    created, unchanged = (ctx.dry_run if args.dry_run or problems else ctx.run)(work)
    if problems:
        bulk.refuse(args.file, problems, rows, "nothing imported")
    report_import(args, created, unchanged)
    return 0


def report_import(args, created: list[dict], unchanged: int) -> None:
    verb = "would create" if args.dry_run else "created"
    if not created:
        summary = f"nothing to do: all {unchanged} rows are already enrolled (0 created, {unchanged} unchanged)"
    else:
        summary = f"{verb} {len(created)}, {unchanged} unchanged" + ("; dry run, nothing was written" if args.dry_run else "")
    if args.dry_run:
        created = [{k: v for k, v in row.items() if k not in ("id", "alias")} for row in created]
    if args.json:
        emit(True, created, [])
        stderr(summary)
        return
    lines = []
    if created:
        lines = table([[r["handle"], r["role"], r.get("alias", "-"), r["program"]] for r in created],
                      ["HANDLE", "ROLE", "ALIAS", "PROGRAM"])
    emit(False, None, lines + [summary])


def run_list(args, ctx: Context) -> int:
    settings = ctx.settings

    def work(session):
        program_id = directory.get_program(session, args.program).id if args.program else None
        people = (directory.search_participants(session, program_id, args.search, settings.domain)
                  if args.search else directory.list_participants(session, program_id))
        return [
            {"id": p.id, "email": p.email, "alias": f"{p.alias}@{settings.domain}", "handle": p.handle,
             "role": p.role, "status": p.status, "premoderate": p.premoderate}
            for p in people
        ]

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], r["email"], r["alias"], r["handle"], r["role"], r["status"]] for r in rows],
        ["ID", "EMAIL", "ALIAS", "HANDLE", "ROLE", "STATUS"],
    ))
    return 0


def run_status(args, ctx: Context) -> int:
    email = validate_mailbox(args.email)

    def work(session):
        program = program_named(session, args.program, ctx)
        row = directory.require_participant(session, program, email)
        row.status = args.status
        return row.handle

    handle = ctx.run(work)
    print(f"{email} ({handle}) is now {args.status}")
    return 0
