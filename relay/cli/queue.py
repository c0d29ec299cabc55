"""relayctl queue: deliveries waiting, deferred or failed, and forcing a retry."""

from __future__ import annotations

from relay.cli.base import CliError, Context, emit, table, when
from relay.store import queue


def register(sub) -> None:
    group = sub.add_parser("queue", help="the outbound queue").add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = group.add_parser("list", help="deliveries not yet delivered (queued, sending, deferred, held, failed)")
    listing.add_argument("--status", action="append", help="only these statuses (repeatable)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    retry = group.add_parser("retry", help="make deferred deliveries due now")
    target = retry.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", type=int, help="a delivery id from 'queue list'")
    target.add_argument("--all", action="store_true", help="every deferred delivery")
    retry.set_defaults(func=run_retry)


def run_list(args, ctx: Context) -> int:
    statuses = tuple(args.status) if args.status else ("queued", "sending", "deferred", "held", "failed")

    def work(session):
        return [{"id": d.id, "message_id": d.message_id, "to": d.rcpt_email, "kind": d.kind, "status": d.status,
                 "attempts": d.attempts, "next_attempt_at": d.next_attempt_at, "expires_at": d.expires_at,
                 "last_error": d.last_error} for d in queue.list_queue(session, statuses)]

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], r["message_id"] or "-", r["kind"], r["status"], r["attempts"], when(r["next_attempt_at"]),
          r["to"], r["last_error"][:60]] for r in rows],
        ["ID", "MSG", "KIND", "STATUS", "TRIES", "NEXT TRY", "TO", "LAST ERROR"]))
    return 0


def run_retry(args, ctx: Context) -> int:
    now = ctx.clock.now()
    count = ctx.run(lambda s: queue.retry(s, now, None if args.all else [args.id]))
    if not args.all and count == 0:
        raise CliError(f"delivery {args.id} is not deferred or failed (see 'relayctl queue list')")
    print(f"{count} deliver{'y' if count == 1 else 'ies'} due now; a running relay picks them up within a second")
    return 0
