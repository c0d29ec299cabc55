"""Wires safeguarding into the relay: consent holds, guardians' copies, urgent alerts, safe- replies, retention,
reassurance.

Every piece is a plain value: the after-store step, the intake route and
the scheduler's (planner, handler) pairs, so a composition table can list
them directly.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from relay.outbound.message_ids import new_message_id
from relay.safeguarding import consent, guardian_copy, reassurance, retention, urgent
from relay.safeguarding.reply_mail import SafeguardingRoute


def install(relay: Any) -> None:
    ctx = relay.intake_ctx
    domain, env = ctx.domain, relay.templates

    def next_id() -> str:
        return new_message_id(domain, ctx.token())

    alerts = urgent.UrgentAlerts(env=env, domain=domain, secret=relay.secret,
                                 random_part=lambda: secrets.token_urlsafe(24), new_message_id=next_id)
    mail = consent.Mailer(env=env, domain=domain, secret=relay.secret, random_part=lambda: secrets.token_urlsafe(24),
                          new_message_id=next_id)
    ctx.after_store.append(guardian_copy.GuardianSteps(
        hold=consent.ConsentHold(env=env, domain=domain, new_message_id=next_id),
        copies=guardian_copy.GuardianCopies(domain=domain, new_message_id=next_id, lifetime=ctx.lifetime)))
    ctx.after_store.append(alerts)
    route = SafeguardingRoute(ctx)
    route.handlers["urgent"] = urgent.AckHandler(env=env, domain=domain, new_message_id=next_id)
    route.handlers["consent"] = consent.ConsentAnswer(mail)
    relay.routes["safeguarding"] = route
    scheduler = relay.scheduler
    if scheduler is None:
        return
    scheduler.add_planner(consent.plan_requests)
    scheduler.add_handler(consent.REQUEST_JOB, consent.RequestHandler(mail))
    scheduler.add_planner(urgent.plan_realerts)
    scheduler.add_handler(urgent.JOB_KIND, urgent.RealertHandler(alerts, urgent.stored_view))
    scheduler.add_planner(guardian_copy.plan_summaries)
    scheduler.add_handler(guardian_copy.SUMMARY_JOB, guardian_copy.SummaryHandler(env, domain, next_id))
    reminder = scheduler.handlers.get("reminder")
    if reminder is not None:  # the mentee's note goes with the mentor's first reminder, in its transaction
        scheduler.add_handler("reminder", reassurance.AfterReminder(reminder, env, domain, next_id))
    purge = retention.PurgeHandler()
    scheduler.add_planner(retention.plan_purges)
    scheduler.add_handler(retention.JOB_KIND, purge)
    scheduler.after_tick.append(lambda: _in_thread(purge.compact_after, relay.db.engine))


def _in_thread(work, *args) -> None:
    """Compaction waits on the database's files: never on the event loop."""
    asyncio.get_running_loop().run_in_executor(None, work, *args)
