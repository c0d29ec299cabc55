"""relayctl pair, unpair and pairings: who may write to whom, with a welcome for each new pairing."""

from __future__ import annotations

from relay.addresses import validate_mailbox
from relay.cli import bulk, closing, roster
from relay.cli.base import CliError, Context, emit, stderr, table, when
from relay.store import directory
from relay.store.tables import Participant, Program


def register(sub) -> None:
    pair = sub.add_parser(
        "pair", help="pair a mentor with a mentee (or many, from a CSV file); each side gets a welcome",
        description="Each side of every new pairing gets a welcome by email: the partner's handle and alias, "
        "what to expect, and how to get help. Replying to it writes to the partner. With --csv (columns "
        "mentor_email, mentee_email, optional program) every row is checked first: if any is wrong, nothing "
        "is paired. Pairs already paired are left unchanged.",
    )
    pair.add_argument("mentor", metavar="MENTOR_EMAIL", nargs="?")
    pair.add_argument("mentee", metavar="MENTEE_EMAIL", nargs="?")
    pair.add_argument("--csv", default=None, metavar="FILE.csv", help="pair every row of this file, all or nothing")
    pair.add_argument("--dry-run", action="store_true", help="with --csv: check every row and say what would happen")
    pair.add_argument("--no-welcome", action="store_true", help="send no welcome mail")
    pair.add_argument("--program", default=None)
    pair.add_argument("--json", action="store_true")
    pair.set_defaults(func=run_pair)
    unpair = sub.add_parser("unpair", help="close a pairing properly (notices ahead, transcripts on the day)")
    unpair.add_argument("mentor", metavar="MENTOR_EMAIL")
    unpair.add_argument("mentee", metavar="MENTEE_EMAIL")
    unpair.add_argument("--program", default=None)
    unpair.add_argument("--on", default=None, metavar="YYYY-MM-DD",
                        help="close on this day; today (the default) closes at once and needs --yes")
    unpair.add_argument("--yes", action="store_true", help="yes, close today, without notice ahead")
    unpair.add_argument("--cancel", action="store_true", help="withdraw a closing day that has not come yet")
    unpair.set_defaults(func=run_unpair)
    introduce = sub.add_parser("introduce", help="approve sharing real addresses when both sides asked")
    introduce.add_argument("pairing", type=int, metavar="PAIRING_ID")
    introduce.set_defaults(func=run_introduce)
    listing = sub.add_parser("pairings", help="list pairings")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)


def _two(session, args, ctx):
    program = directory.get_program(session, args.program or ctx.settings.program)
    mentor = directory.require_participant(session, program, validate_mailbox(args.mentor))
    mentee = directory.require_participant(session, program, validate_mailbox(args.mentee))
    return mentor, mentee


def _welcome(ctx: Context, args):
    """The function that queues both welcomes, or None with --no-welcome."""
    if args.no_welcome:
        return None
    from relay.notices import environment
    from relay.welcome import queue_welcomes

    env, domain = environment(), ctx.settings.domain
    return lambda session, pairing, mentor, mentee, now: queue_welcomes(session, env, domain, pairing, mentor, mentee, now)


def run_pair(args, ctx: Context) -> int:
    if args.csv:
        if args.mentor or args.mentee:
            raise CliError("give either MENTOR_EMAIL MENTEE_EMAIL or --csv FILE.csv, not both")
        return run_pair_csv(args, ctx)
    if not (args.mentor and args.mentee):
        raise CliError("pair needs MENTOR_EMAIL and MENTEE_EMAIL (or --csv FILE.csv)")
    if args.dry_run:
        raise CliError("--dry-run goes with --csv")
    now = ctx.clock.now()
    welcome = _welcome(ctx, args)

    def work(session):
        mentor, mentee = _two(session, args, ctx)
        pairing = directory.pair(session, mentor, mentee, now)
        sent = welcome(session, pairing, mentor, mentee, now) if welcome else []
        return {"id": pairing.id, "mentor": mentor.handle, "mentee": mentee.handle, "status": pairing.status,
                "welcomes": len(sent)}

    data = ctx.run(work)
    told = f"; a welcome is on its way to each of them" if data["welcomes"] else "; no welcome sent"
    emit(args.json, data, [f"paired {data['mentor']} with {data['mentee']} (pairing {data['id']}){told}"])
    return 0


def plan_pairs(session, couples: list, problems: list) -> list:
    """The (couple, mentor, mentee) to pair; each row that cannot be taken adds a Problem."""
    programs: dict[str, Program | None] = {}
    seen: dict[tuple[str, str, str], int] = {}
    todo = []
    for couple in couples:
        if couple.program not in programs:
            try:
                programs[couple.program] = directory.get_program(session, couple.program)
            except directory.DirectoryError:
                programs[couple.program] = None
        program = programs[couple.program]
        if program is None:
            problems.append(roster.Problem(couple.line, f"no program named {couple.program!r}"))
            continue
        key = (couple.program, couple.mentor_email, couple.mentee_email)
        if key in seen:
            problems.append(roster.Problem(couple.line, f"the same pair is already on line {seen[key]}"))
            continue
        seen[key] = couple.line
        mentor = directory.find_participant(session, program.id, couple.mentor_email)
        mentee = directory.find_participant(session, program.id, couple.mentee_email)
        for person, column, role in ((mentor, "mentor_email", "mentor"), (mentee, "mentee_email", "mentee")):
            if person is None:
                problems.append(roster.Problem(couple.line, f"{column} is not enrolled in program {program.name!r}"))
                break
            if person.role != role:
                problems.append(roster.Problem(couple.line, f"{column} belongs to {person.handle!r}, a {person.role}"))
                break
        else:
            todo.append((couple, mentor, mentee))
    return todo


def run_pair_csv(args, ctx: Context) -> int:
    settings = ctx.settings
    program = args.program or settings.program
    rows, problems, couples = bulk.checked_rows(
        args.csv, roster.PAIR_COLUMNS, lambda row: roster.check_couple(row, settings.domain, program))
    now = ctx.clock.now()
    welcome = _welcome(ctx, args)

    def work(session):
        made, unchanged, welcomes = [], 0, 0
        todo = plan_pairs(session, couples, problems)
        if problems:
            return made, unchanged, welcomes  # all or nothing: not one pairing when any row is wrong
        for couple, mentor, mentee in todo:
            if directory.active_pairing(session, mentor.id, mentee.id) is not None:
                unchanged += 1
                continue
            pairing = directory.pair(session, mentor, mentee, now)
            welcomes += len(welcome(session, pairing, mentor, mentee, now)) if welcome else 0
            made.append({"id": pairing.id, "mentor": mentor.handle, "mentee": mentee.handle, "program": couple.program})
        return made, unchanged, welcomes

    made, unchanged, welcomes = (ctx.dry_run if args.dry_run or problems else ctx.run)(work)
    if problems:
        bulk.refuse(args.csv, problems, rows, "nothing paired")
    if args.dry_run:
        made = [{k: v for k, v in row.items() if k != "id"} for row in made]
        summary = f"would pair {len(made)}, {unchanged} unchanged; dry run, nothing was written or sent"
    elif not made:
        summary = f"nothing to do: all {unchanged} pairs are already paired (0 created, {unchanged} unchanged)"
    else:
        summary = f"paired {len(made)}, {unchanged} unchanged; {welcomes} welcome(s) queued"
    if args.json:
        emit(True, made, [])
        stderr(summary)
        return 0
    verb = "would pair" if args.dry_run else "paired"
    lines = [f"{verb} {m['mentor']} with {m['mentee']}" + (f" (pairing {m['id']})" if "id" in m else "") for m in made]
    emit(False, None, lines + [summary])
    return 0


def run_unpair(args, ctx: Context) -> int:
    """Closing one pairing takes the program-closing path: notices ahead, transcripts on the day."""
    from relay.care.closure import schedule_closure

    if args.cancel:
        if args.on or args.yes:
            raise CliError("--cancel takes neither --on nor --yes")
        return run_cancel(args, ctx)
    now = ctx.clock.now()
    day = closing.parse_day(args.on) if args.on else now.date()

    def work(session):
        mentor, mentee = _two(session, args, ctx)
        pairing = directory.active_pairing(session, mentor.id, mentee.id)
        if pairing is None:
            raise CliError(f"{mentor.handle} and {mentee.handle} are not paired")
        tz = session.get(Program, pairing.program_id).timezone
        closing.check_day(day, tz, now, args.yes, "the pairing")
        text = closing.plan_text(day, tz, now)
        schedule_closure(session, pairing, day, now)
        return mentor.handle, mentee.handle, pairing.status, text

    mentor, mentee, status, text = ctx.run(work)
    if status == "closed":
        print(f"closed the pairing of {mentor} and {mentee}: {text}")
    else:
        print(f"the pairing of {mentor} and {mentee} closes on {day}: {text}; "
              "'relayctl unpair --cancel' withdraws it before then")
    return 0


def run_cancel(args, ctx: Context) -> int:
    def work(session):
        mentor, mentee = _two(session, args, ctx)
        pairing = directory.active_pairing(session, mentor.id, mentee.id)
        if pairing is None:
            raise CliError(f"{mentor.handle} and {mentee.handle} have no open pairing (a closed one stays closed; "
                           "pair them again for a new start)")
        if pairing.status != "closing":
            raise CliError(f"the pairing of {mentor.handle} and {mentee.handle} has no closing day to withdraw")
        day, told = pairing.closes_on, notices_sent(session, pairing.id, pairing.closes_on)
        pairing.status, pairing.closes_on = "active", None  # planned notices and the closure see it and stand down
        return mentor.handle, mentee.handle, day, told

    mentor, mentee, day, told = ctx.run(work)
    note = f"; they were already told it would close on {day}, so let them know it goes on" if told else \
        "; nobody had been told yet"
    print(f"the pairing of {mentor} and {mentee} stays open: closing on {day} withdrawn{note}")
    return 0


def notices_sent(session, pairing_id: int, day) -> int:
    """How many goodbye notices for this closing day have gone out already."""
    from sqlmodel import func, select

    from relay.store.tables import Job

    prefix = f"closure-notice:{pairing_id}:{day}:"
    return session.exec(select(func.count()).where(Job.key.startswith(prefix, autoescape=True), Job.status == "done")).one()


def run_introduce(args, ctx: Context) -> int:
    from relay.intake.service_mail import introduce
    from relay.notices import environment
    from relay.care.mailer import Mailer

    now = ctx.clock.now()
    mail = Mailer(environment(), ctx.settings.domain)
    print(ctx.run(lambda session: introduce(session, args.pairing, None, now, mail)))
    return 0


def run_list(args, ctx: Context) -> int:
    def work(session):
        rows = []
        for p in directory.list_pairings(session):
            mentor, mentee = session.get(Participant, p.mentor_id), session.get(Participant, p.mentee_id)
            rows.append({"id": p.id, "mentor": mentor.email, "mentee": mentee.email, "status": p.status,
                         "created_at": p.created_at, "closes_on": p.closes_on})
        return rows

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], r["mentor"], r["mentee"], r["status"], when(r["created_at"]), r["closes_on"] or "-"] for r in rows],
        ["ID", "MENTOR", "MENTEE", "STATUS", "SINCE", "CLOSES_ON"]))
    return 0
