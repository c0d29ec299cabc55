"""Wires safeguarding into the relay: urgent alerts, their re-alerts, and the safe- reply addresses.

Every piece is a plain value: the after-store step, the intake route and
the scheduler's (planner, handler) pairs, so a composition table can list
them directly.
"""

from __future__ import annotations

import secrets
from typing import Any

from relay.outbound.message_ids import new_message_id
from relay.safeguarding import urgent
from relay.safeguarding.reply_mail import SafeguardingRoute


def install(relay: Any) -> None:
    ctx = relay.intake_ctx
    domain, env = ctx.domain, relay.templates

    def next_id() -> str:
        return new_message_id(domain, ctx.token())

    alerts = urgent.UrgentAlerts(env=env, domain=domain, secret=relay.secret,
                                 random_part=lambda: secrets.token_urlsafe(24), new_message_id=next_id)
    ctx.after_store.append(alerts)
    route = SafeguardingRoute(ctx)
    route.handlers["urgent"] = urgent.AckHandler(env=env, domain=domain, new_message_id=next_id)
    relay.routes["safeguarding"] = route
    if relay.scheduler is not None:
        relay.scheduler.add_planner(urgent.plan_realerts)
        relay.scheduler.add_handler(urgent.JOB_KIND, urgent.RealertHandler(alerts, urgent.stored_view))
