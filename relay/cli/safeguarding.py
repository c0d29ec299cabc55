"""relayctl participant legal-hold | export | erase | consent: a person's data and the holds on it."""

from __future__ import annotations

import getpass

from relay.addresses import validate_mailbox
from relay.cli.base import CliError, Context, when
from relay.safeguarding import store as safe_store
from relay.store import directory
from relay.store.tables import LegalHold


def register_participant(group) -> None:
    """Adds the safeguarding actions to the ``participant`` group."""
    hold = group.add_parser("legal-hold", help="stop purging and erasure for a person (or --clear it), recorded with who and why")
    hold.add_argument("email")
    hold.add_argument("--reason", default="", help="why (required when placing a hold)")
    hold.add_argument("--clear", action="store_true", help="lift the hold")
    hold.add_argument("--program", default=None)
    hold.set_defaults(func=run_legal_hold)


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli:unknown"


def person(session, ctx: Context, email: str, program_name: str | None):
    program = directory.get_program(session, program_name or ctx.settings.program)
    return directory.require_participant(session, program, validate_mailbox(email))


def run_legal_hold(args, ctx: Context) -> int:
    if not args.clear and not args.reason.strip():
        raise CliError("a legal hold needs --reason (who asked, and why)")
    now, who = ctx.clock.now(), actor()

    def work(session) -> str:
        row = person(session, ctx, args.email, args.program)
        current = safe_store.active_hold(session, row.id)
        if args.clear:
            if current is None:
                return f"{row.handle} has no legal hold; nothing was changed"
            current.cleared_at, current.cleared_by = now, who
            session.add(current)
            return f"the legal hold on {row.handle} is cleared (placed {when(current.placed_at)} by {current.placed_by})"
        if current is not None:
            return f"{row.handle} is already under a legal hold since {when(current.placed_at)} ({current.reason})"
        session.add(LegalHold(participant_id=row.id, reason=args.reason.strip(), placed_by=who, placed_at=now))
        return f"{row.handle} is under a legal hold: their messages are kept and they cannot be erased"

    print(ctx.run(work))
    return 0
