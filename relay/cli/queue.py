"""relayctl queue: deliveries waiting, deferred or failed, who holds the ones being sent, and forcing a retry."""

from __future__ import annotations

from relay.cli.base import CliError, Context, emit, table, when
from relay.store import queue


def register(sub) -> None:
    group = sub.add_parser("queue", help="the outbound queue").add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = group.add_parser("list", help="deliveries not yet delivered (queued, sending, deferred, held, failed)")
    listing.add_argument("--status", action="append", help="only these statuses (repeatable)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    retry = group.add_parser(
        "retry", help="make deferred or failed deliveries due now; release one stuck in sending once its lease ran out"
    )
    target = retry.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", type=int, help="a delivery id from 'queue list'")
    target.add_argument("--all", action="store_true", help="every deferred delivery")
    retry.set_defaults(func=run_retry)


def run_list(args, ctx: Context) -> int:
    statuses = tuple(args.status) if args.status else ("queued", "sending", "deferred", "held", "failed")

    def work(session):
        return [{"id": d.id, "message_id": d.message_id, "to": d.rcpt_email, "kind": d.kind, "status": d.status,
                 "attempts": d.attempts, "next_attempt_at": d.next_attempt_at, "expires_at": d.expires_at,
                 "holder": d.claimed_by if d.status == "sending" else "",
                 "lease_until": d.lease_until if d.status == "sending" else None,
                 "last_error": d.last_error} for d in queue.list_queue(session, statuses)]

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], r["message_id"] or "-", r["kind"], r["status"], r["attempts"], when(r["next_attempt_at"]),
          r["holder"] or "-", _second(r["lease_until"]), r["to"], r["last_error"][:60]]
         for r in rows],
        ["ID", "MSG", "KIND", "STATUS", "TRIES", "NEXT TRY", "HOLDER", "LEASE UNTIL", "TO", "LAST ERROR"]))
    return 0


def run_retry(args, ctx: Context) -> int:
    now = ctx.clock.now()
    if args.all:
        count = ctx.run(lambda s: queue.retry(s, now, None))
    else:
        count = ctx.run(lambda s: _retry_one(s, args.id, now))
    print(f"{count} deliver{'y' if count == 1 else 'ies'} due now; a running relay picks them up within a second")
    return 0


def _retry_one(session, delivery_id: int, now) -> int:
    """One delivery: deferred or failed is forced; sending is released only once its holder's lease ran out."""
    delivery = queue.get_delivery(session, delivery_id)
    if delivery is None:
        raise CliError(f"delivery {delivery_id} is not deferred or failed: there is no such delivery (see 'relayctl queue list')")
    if delivery.status == "sending":
        if queue.release_expired(session, delivery_id, now):
            return 1
        raise CliError(
            f"delivery {delivery_id} is being sent by {delivery.claimed_by or 'a live relay'}, whose lease runs "
            f"until {_second(delivery.lease_until)} and is renewed while it works; not released"
        )
    count = queue.retry(session, now, [delivery_id])
    if count == 0:
        raise CliError(f"delivery {delivery_id} is {delivery.status} and due now; only deferred, failed, later "
                       "or stuck deliveries can be retried")
    return count


def _second(value) -> str:
    """Leases are a minute long: show them to the second."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"
