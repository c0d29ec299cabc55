"""Wires moderation into the relay: notices after each stored message, and the route for answers."""

from __future__ import annotations

import secrets

from relay.intake.moderation_mail import ModerationRoute
from relay.moderation.notice import NoticePlanner
from relay.outbound.message_ids import new_message_id


def install(relay) -> None:
    ctx = relay.intake_ctx
    planner = NoticePlanner(
        env=relay.templates,
        domain=ctx.domain,
        secret=relay.secret,
        policies=relay.policies,
        random_part=lambda: secrets.token_urlsafe(24),
        new_message_id=lambda: new_message_id(ctx.domain, ctx.token()),
    )
    ctx.after_store.append(planner)
    relay.routes["moderation"] = ModerationRoute(ctx, planner)
