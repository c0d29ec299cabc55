"""relayctl messages: what came in, what the rules said, and what went out."""

from __future__ import annotations

import json
from datetime import datetime

from relay.cli.base import CliError, Context, emit, table, when
from relay.store import messages, queue
from relay.store.tables import Participant


def register(sub) -> None:
    group = sub.add_parser("messages", help="list, show and search stored messages").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    listing = group.add_parser("list", help="the newest messages first")
    listing.add_argument("--status", help="only this status: queued, held, delivered, partial, failed, rejected")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    show = group.add_parser("show", help="one message: the original as received and every copy sent")
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="print the original bytes only")
    show.add_argument("--sent", type=int, metavar="COPY",
                      help="print what copy COPY carried (rebuilt from the store, before DKIM signing)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    search = group.add_parser("search", help="find messages by pairing, participant, dates, status and text")
    search.add_argument("--pairing", type=int, help="a pairing id")
    search.add_argument("--participant", help="an enrolled address: messages they sent or received")
    search.add_argument("--since", help="received at or after this ISO-8601 date or time (UTC unless it says)")
    search.add_argument("--until", help="received before this ISO-8601 date or time")
    search.add_argument("--status", help="queued, held, delivered, partial, failed, rejected, stored")
    search.add_argument("--text", help="words in the subject or the text, any case")
    search.add_argument("--limit", type=int, default=100)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=run_search)


def summary(m) -> dict:
    return {"id": m.id, "status": m.status, "verdict": m.verdict, "kind": m.kind, "received_at": m.received_at,
            "from": m.envelope_from, "subject": m.subject, "pairing_id": m.pairing_id, "urgent": m.urgent}


def run_list(args, ctx: Context) -> int:
    rows = ctx.run(lambda s: [summary(m) for m in messages.list_messages(s, args.limit, args.status)])
    emit(args.json, rows, lambda: table(
        [[r["id"], when(r["received_at"]), r["status"], r["verdict"], r["from"], r["subject"][:40]] for r in rows],
        ["ID", "RECEIVED", "STATUS", "VERDICT", "FROM", "SUBJECT"]))
    return 0


def run_show(args, ctx: Context) -> int:
    def work(session):
        m = messages.get_message(session, args.id)
        if m is None:
            raise CliError(f"no message {args.id}")
        data = summary(m)
        data["envelope_rcpts"] = json.loads(m.envelope_rcpts or "[]")
        data["findings"] = [{"rule": f.rule, "action": f.action, "severity": f.severity, "reason": f.reason,
                             "excerpt": f.excerpt} for f in messages.findings_of(session, m.id)]
        data["deliveries"] = []
        for d in messages.deliveries_of(session, m.id):
            who = session.get(Participant, d.recipient_id) if d.recipient_id else None
            data["deliveries"].append({
                "id": d.id, "to": d.rcpt_email, "handle": who.handle if who else "", "kind": d.kind,
                "status": d.status, "message_id": d.masked_message_id, "attempts": d.attempts,
                "last_error": d.last_error,
                "history": [{"at": a.at, "outcome": a.outcome, "code": a.code, "detail": a.detail}
                            for a in queue.attempts_of(session, d.id)],
            })
        data["original"] = m.raw.decode("utf-8", "replace")
        data["purged_at"] = m.purged_at
        return data

    if args.sent is not None:
        print(ctx.run(lambda s: sent_copy(s, args.id, args.sent, ctx.settings.domain)).decode("utf-8", "replace"), end="")
        return 0
    data = ctx.run(work)
    if args.raw:
        print(data["original"], end="")
        return 0
    emit(args.json, data, lambda: _show_lines(data))
    return 0


def sent_copy(session, message_id: int, delivery_id: int, domain: str) -> bytes:
    """The bytes a copy carried: relay-written ones are stored; forwards are masked again
    from the original, which gives the same bytes (the masked copy is a pure function)."""
    from relay.notices import environment
    from relay.outbound.content import copy_bytes
    from relay.outbound.jobs import load_job

    job = load_job(session, delivery_id, domain)
    if job is None or job.message_id != message_id:
        raise CliError(f"message {message_id} has no copy {delivery_id} (see 'relayctl messages show {message_id}')")
    data = copy_bytes(job, environment())
    if data is None:
        raise CliError(f"copy {delivery_id} of message {message_id} can no longer be shown: its text was purged")
    return data


def _show_lines(d: dict) -> list[str]:
    lines = [f"message {d['id']}: {d['status']} (verdict {d['verdict']}{', URGENT' if d['urgent'] else ''})",
             f"received {when(d['received_at'])} from {d['from']} for {', '.join(d['envelope_rcpts'])}",
             f"subject  {d['subject']}"]
    if d.get("purged_at"):
        lines.append(f"body     purged on {when(d['purged_at'])} UTC (retention or erasure); the record is kept")
    for f in d["findings"]:
        lines.append(f"rule     {f['rule']} -> {f['action']}: {f['reason']}" + (f" [{f['excerpt']}]" if f["excerpt"] else ""))
    for dl in d["deliveries"]:
        lines.append(f"copy {dl['id']} to {dl['handle'] or dl['to']} <{dl['to']}>: {dl['status']}, "
                     f"{dl['attempts']} attempt(s), Message-ID {dl['message_id']}")
        for h in dl["history"]:
            lines.append(f"    {when(h['at'])} {h['outcome']} {h['code'] or ''} {h['detail'][:100]}")
    lines += ["", f"(what a copy carried: relayctl messages show {d['id']} --sent COPY)",
              "", "--- original as received ---", d["original"]]
    return lines


def parse_when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        from relay.clock import as_utc

        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise CliError(f"not an ISO-8601 date or time: {value!r}") from None


def run_search(args, ctx: Context) -> int:
    since, until = parse_when(args.since), parse_when(args.until)
    if since and until and since >= until:
        raise CliError("--since must be before --until")

    def work(session):
        participant_ids: list[int | None] = [None]
        if args.participant:
            from relay.store import directory

            found = directory.participants_by_email(session, args.participant)
            if not found:
                raise CliError(f"no participant with the address {args.participant}")
            participant_ids = [p.id for p in found]
        seen: dict[int, dict] = {}
        for participant_id in participant_ids:
            for m in messages.search_messages(session, participant_id=participant_id, pairing_id=args.pairing,
                                              status=args.status, since=since, until=until, text=args.text,
                                              limit=args.limit):
                seen.setdefault(m.id, summary(m))
        return sorted(seen.values(), key=lambda r: r["id"], reverse=True)[: args.limit]

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], when(r["received_at"]), r["kind"], r["status"], r["verdict"], r["from"], r["subject"][:40]] for r in rows],
        ["ID", "RECEIVED", "KIND", "STATUS", "VERDICT", "FROM", "SUBJECT"]))
    return 0
