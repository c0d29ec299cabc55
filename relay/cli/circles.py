"""relayctl circle: group exchanges, their members and how each member receives them."""

from __future__ import annotations

import secrets

from relay.addresses import validate_mailbox
from relay.cli.base import Context, emit, table
from relay.cli.participants import check_handle
from relay.store import circles, directory


def register(sub) -> None:
    group = sub.add_parser("circle", help="create circles (one address for a group) and manage members").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = group.add_parser("add", help="create a circle and print its alias")
    add.add_argument("name", help="short name used in commands, e.g. college-apps")
    add.add_argument("--handle", required=True, help="the name members see, e.g. 'College applications'")
    add.add_argument("--program", default=None, help="program name (default: RELAY_PROGRAM)")
    add.add_argument("--json", action="store_true", help="print a JSON object")
    add.set_defaults(func=run_add)
    join = group.add_parser("join", help="add an enrolled participant to a circle")
    join.add_argument("name")
    join.add_argument("email")
    join.add_argument("--digest", action="store_true", help="send them a daily digest instead of every message")
    join.add_argument("--program", default=None)
    join.set_defaults(func=run_join)
    leave = group.add_parser("leave", help="take a member out of a circle")
    leave.add_argument("name")
    leave.add_argument("email")
    leave.add_argument("--program", default=None)
    leave.set_defaults(func=run_leave)
    listing = group.add_parser("list", help="list circles and their members")
    listing.add_argument("--program", default=None)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    digest = group.add_parser("digest", help="switch a member between every message and a daily digest")
    digest.add_argument("name")
    digest.add_argument("email")
    digest.add_argument("state", choices=("on", "off"))
    digest.add_argument("--program", default=None)
    digest.set_defaults(func=run_digest)


def run_add(args, ctx: Context) -> int:
    name = circles.check_name(args.name)
    handle = check_handle(args.handle)
    settings = ctx.settings
    now = ctx.clock.now()

    def work(session):
        program = directory.get_program(session, args.program or settings.program)  # programs are added explicitly
        row = circles.add_circle(session, program, name, handle, now, lambda: secrets.token_bytes(16))
        return {"id": row.id, "name": row.name, "handle": row.handle,
                "alias": f"{row.alias}@{settings.domain}", "program": program.name}

    data = ctx.run(work)
    emit(args.json, data, [data["alias"]])
    return 0


def _circle_and_person(session, args, ctx: Context):
    program = directory.get_program(session, args.program or ctx.settings.program)
    circle = circles.require_circle(session, program, args.name)
    person = directory.require_participant(session, program, validate_mailbox(args.email))
    return circle, person


def run_join(args, ctx: Context) -> int:
    now = ctx.clock.now()

    def work(session):
        circle, person = _circle_and_person(session, args, ctx)
        row = circles.join(session, circle, person, now, "digest" if args.digest else "each")
        return person.handle, circle.name, row.delivery_mode

    handle, name, mode = ctx.run(work)
    print(f"{handle} joined {name}" + (" (daily digest)" if mode == "digest" else ""))
    return 0


def run_leave(args, ctx: Context) -> int:
    now = ctx.clock.now()

    def work(session):
        circle, person = _circle_and_person(session, args, ctx)
        circles.leave(session, circle, person, now)
        return person.handle, circle.name

    handle, name = ctx.run(work)
    print(f"{handle} left {name}")
    return 0


def run_digest(args, ctx: Context) -> int:
    mode = "digest" if args.state == "on" else "each"

    def work(session):
        circle, person = _circle_and_person(session, args, ctx)
        circles.set_delivery_mode(session, circle, person, mode)
        return person.handle, circle.name

    handle, name = ctx.run(work)
    print(f"{handle} now receives {name} " + ("as a daily digest" if mode == "digest" else "message by message"))
    return 0


def run_list(args, ctx: Context) -> int:
    domain = ctx.settings.domain

    def work(session):
        program = directory.get_program(session, args.program) if args.program else None
        rows = []
        for circle in circles.list_circles(session, program.id if program else None):
            people = [{"handle": p.handle, "role": p.role, "delivery": m.delivery_mode}
                      for m, p in circles.members(session, circle.id)]
            rows.append({"id": circle.id, "name": circle.name, "handle": circle.handle,
                         "alias": f"{circle.alias}@{domain}", "status": circle.status, "members": people})
        return rows

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["name"], r["handle"], r["alias"], r["status"],
          ", ".join(m["handle"] + (" (digest)" if m["delivery"] == "digest" else "") for m in r["members"]) or "-"]
         for r in rows],
        ["NAME", "HANDLE", "ALIAS", "STATUS", "MEMBERS"]))
    return 0
