"""relayctl pair, unpair and pairings: who may write to whom."""

from __future__ import annotations

from relay.addresses import validate_mailbox
from relay.cli.base import CliError, Context, emit, table, when
from relay.store import directory
from relay.store.tables import Participant


def register(sub) -> None:
    pair = sub.add_parser("pair", help="pair a mentor with a mentee so they can write to each other")
    pair.add_argument("mentor", metavar="MENTOR_EMAIL")
    pair.add_argument("mentee", metavar="MENTEE_EMAIL")
    pair.add_argument("--program", default=None)
    pair.add_argument("--json", action="store_true")
    pair.set_defaults(func=run_pair)
    unpair = sub.add_parser("unpair", help="close a pairing")
    unpair.add_argument("mentor", metavar="MENTOR_EMAIL")
    unpair.add_argument("mentee", metavar="MENTEE_EMAIL")
    unpair.add_argument("--program", default=None)
    unpair.add_argument("--on", default=None, metavar="YYYY-MM-DD", help="close on this day (default: today, now)")
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


def run_pair(args, ctx: Context) -> int:
    now = ctx.clock.now()

    def work(session):
        mentor, mentee = _two(session, args, ctx)
        pairing = directory.pair(session, mentor, mentee, now)
        return {"id": pairing.id, "mentor": mentor.handle, "mentee": mentee.handle, "status": pairing.status}

    data = ctx.run(work)
    emit(args.json, data, [f"paired {data['mentor']} with {data['mentee']} (pairing {data['id']})"])
    return 0


def run_unpair(args, ctx: Context) -> int:
    """Closing one pairing takes the program-closing path: notices ahead, transcripts on the day."""
    from relay.cli.program import parse_day
    from relay.care.closure import schedule_closure

    now = ctx.clock.now()
    day = parse_day(args.on) if args.on else now.date()
    if day < now.date():
        raise CliError(f"{day} has passed; choose today or a later day")

    def work(session):
        mentor, mentee = _two(session, args, ctx)
        pairing = directory.active_pairing(session, mentor.id, mentee.id)
        if pairing is None:
            raise CliError(f"{mentor.email} and {mentee.email} are not paired")
        schedule_closure(session, pairing, day, now)
        return mentor.handle, mentee.handle, pairing.status

    mentor, mentee, status = ctx.run(work)
    if status == "closed":
        print(f"closed the pairing of {mentor} and {mentee}; transcripts go out with the next scheduler tick")
    else:
        print(f"the pairing of {mentor} and {mentee} closes on {day}; both will be told ahead")
    return 0


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
                         "created_at": p.created_at})
        return rows

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], r["mentor"], r["mentee"], r["status"], when(r["created_at"])] for r in rows],
        ["ID", "MENTOR", "MENTEE", "STATUS", "SINCE"]))
    return 0
