"""relayctl mod: the review queue, and approving, redacting, rejecting or noting a message from a terminal.

Does what a moderator's reply does, recorded the same way with ``via = cli``
and the operating-system user as the actor. A running relay's workers pick
up released copies and notices on their next poll.
"""

from __future__ import annotations

import getpass
import secrets

from relay.cli.base import CliError, Context, emit, stderr, table, when
from relay.moderation import actions
from relay.notices import environment
from relay.outbound.message_ids import new_message_id
from relay.store import messages, moderation


def register(sub) -> None:
    group = sub.add_parser("mod", help="moderation: the review queue and answers").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    listing = group.add_parser("queue", help="held and flagged messages waiting for a moderator, oldest first")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_queue)
    approve = group.add_parser("approve", help="deliver a held message")
    approve.add_argument("id", type=int, help="a message id from 'mod queue'")
    approve.set_defaults(func=run_answer, verb="approve")
    redact = group.add_parser("redact", help="deliver a held message with what held it replaced by "
                              "[removed by the program]; the sender is told what was removed")
    redact.add_argument("id", type=int, help="a message id from 'mod queue'")
    redact.set_defaults(func=run_answer, verb="redact")
    reject = group.add_parser("reject", help="do not deliver a held message; the sender is told the reason")
    reject.add_argument("id", type=int)
    reject.add_argument("--reason", required=True, help="told to the sender")
    reject.set_defaults(func=run_answer, verb="reject")
    note = group.add_parser("note", help="add a note to a message's record")
    note.add_argument("id", type=int)
    note.add_argument("text")
    note.set_defaults(func=run_answer, verb="note")


def run_queue(args, ctx: Context) -> int:
    def work(session):
        rows = []
        for m in moderation.review_queue(session):
            rows.append({
                "id": m.id, "status": m.status, "verdict": m.verdict, "urgent": m.urgent, "received_at": m.received_at,
                "pairing_id": m.pairing_id, "circle_id": m.circle_id, "subject": m.subject,
                "rules": [f.rule for f in messages.findings_of(session, m.id)],
            })
        return rows

    rows = ctx.run(work)
    emit(args.json, rows, lambda: table(
        [[r["id"], when(r["received_at"]), r["status"], r["verdict"] + (" URGENT" if r["urgent"] else ""),
          ", ".join(dict.fromkeys(r["rules"])), r["subject"][:40]] for r in rows],
        ["ID", "RECEIVED", "STATUS", "VERDICT", "RULES", "SUBJECT"]))
    return 0


def run_answer(args, ctx: Context) -> int:
    domain = ctx.settings.domain
    desk = actions.Desk(env=environment(), domain=domain, now=ctx.clock.now(),
                        new_message_id=lambda: new_message_id(domain, secrets.token_hex(12)))
    argument = {"reject": getattr(args, "reason", ""), "note": getattr(args, "text", "")}.get(args.verb, "")
    actor = f"cli:{_os_user()}"
    result = ctx.run(lambda s: _apply(s, desk, args.id, args.verb, argument, actor))
    if result.outcome == "refused":  # recorded, and said as one line on stderr
        stderr(f"relayctl: error: {' '.join(result.text.split())}")
        return 1
    print(result.text)
    return 0


def _apply(session, desk: actions.Desk, message_id: int, verb: str, argument: str, actor: str) -> actions.Result:
    if messages.get_message(session, message_id) is None:
        raise CliError(f"no message {message_id}")
    return actions.apply(session, desk, message_id=message_id, verb=verb, argument=argument, actor_id=None,
                         actor=actor, via="cli")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"
