"""relayctl participant legal-hold | export | erase | consent, and add --guardian: a person's data and consent."""

from __future__ import annotations

import getpass

from pathlib import Path

from relay.addresses import validate_mailbox
from relay.cli.base import CliError, Context, when
from relay.safeguarding import rights, wipe
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
    export = group.add_parser("export", help="write messages.mbox and record.json: everything the relay holds about a person")
    export.add_argument("email")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into (created if missing)")
    export.set_defaults(func=run_export)
    erase = group.add_parser("erase", help="remove a person's address, handle and message text for good; "
                             "their alias is retired (refused under a legal hold)")
    erase.add_argument("email")
    erase.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    erase.set_defaults(func=run_erase)
    consent = group.add_parser("consent", help="show a mentee's guardian and consent, or --record consent given on paper")
    consent.add_argument("email", help="the mentee's address")
    consent.add_argument("--record", action="store_true", help="record that the guardian consented on paper")
    consent.add_argument("--refused", action="store_true", help="with --record: the guardian declined")
    consent.add_argument("--program", default=None)
    consent.set_defaults(func=run_consent)


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


def _everyone(session, email: str):
    people = rights.people_by_email(session, validate_mailbox(email))
    if not people:
        raise CliError(f"nobody is enrolled with the address {email}")
    return people


def run_export(args, ctx: Context) -> int:
    domain = ctx.settings.domain

    def work(session):
        people = _everyone(session, args.email)
        ids = [p.id for p in people]
        return rights.export_messages(session, ids, domain), rights.record(session, people)

    found, data = ctx.run(work)
    box, record = rights.write_export(Path(args.out), found, data)
    print(f"wrote {len(found)} message(s) to {box} and the record to {record}")
    return 0


def run_erase(args, ctx: Context) -> int:
    if not args.yes:
        raise CliError("erasure cannot be undone: add --yes to confirm")
    now = ctx.clock.now()

    def work(session):
        try:
            return rights.erase(session, _everyone(session, args.email), now)
        except rights.RightsError as error:
            raise CliError(str(error)) from None

    done = ctx.run(work)
    wipe.compact(ctx.db.engine, vacuum=True)
    print(f"erased {done.people} enrolment(s) and the text of {done.messages} message(s); the alias is retired")
    return 0


def mailer(ctx: Context):
    import secrets

    from relay.notices import environment
    from relay.outbound.message_ids import new_message_id
    from relay.safeguarding.consent import Mailer

    domain = ctx.settings.domain
    secret = ctx.keys().secret
    return Mailer(env=environment(), domain=domain, secret=secret, random_part=lambda: secrets.token_urlsafe(24),
                  new_message_id=lambda: new_message_id(domain, secrets.token_hex(12)))


def add_guardian(session, mail, domain: str, child, email: str, now) -> str:
    """``participant add --guardian`` and the bulk import: record the guardian, ask for consent if the program requires it.

    ``mail`` is ``mailer(ctx)``, made before the caller's transaction (it reads the deployment's keys).
    """
    from relay.safeguarding import consent

    address = validate_mailbox(email)
    if address.endswith("@" + domain):
        raise CliError("a guardian's address cannot be on the relay's own domain")
    try:
        return consent.add_guardian(session, child, address, now, mail).consent
    except ValueError as error:
        raise CliError(str(error)) from None


def run_consent(args, ctx: Context) -> int:
    from relay.safeguarding import consent

    now, who = ctx.clock.now(), actor()

    def work(session) -> list[str]:
        child = person(session, ctx, args.email, args.program)
        guardian = safe_store.guardian_of(session, child.id)
        if guardian is None:
            raise CliError(f"{child.handle} has no guardian; add one with participant add ... --guardian EMAIL")
        lines = []
        if args.record:
            answer = "no" if args.refused else "yes"
            released = consent.record(session, guardian, answer, who, "paper", "", now)
            lines.append(f"recorded: consent {'declined' if args.refused else 'given'} on paper, by {who}"
                         + (f"; {released} held message(s) released" if released else ""))
        lines += [f"mentee    {child.handle}", f"guardian  {guardian.email}", f"consent   {guardian.consent}",
                  f"asked     {when(guardian.requested_at)}"]
        if guardian.decided_at:
            lines.append(f"decided   {when(guardian.decided_at)} by {guardian.decided_by} ({guardian.decided_how}"
                         + (f", {guardian.decided_message_id}" if guardian.decided_message_id else "") + ")")
        return lines

    for line in ctx.run(work):
        print(line)
    return 0
