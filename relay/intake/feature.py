"""Trust at the door, wired into the relay: header and depth checks, rate limits, postmaster, image policy."""

from __future__ import annotations

import json
from typing import Any

from relay.intake.hardening import DepthCheck, HeaderCheck, RateCheck
from relay.intake.postmaster_mail import PostmasterRoute
from relay.store.tables import Program


def install(relay: Any) -> None:
    ctx, settings = relay.intake_ctx, relay.settings
    relay.routes["postmaster"] = PostmasterRoute(ctx, relay.templates, settings.program)
    ctx.data_checks.extend(
        [
            HeaderCheck(relay.db.call),
            DepthCheck(settings.max_mime_depth, relay.db.call),
            RateCheck(settings.messages_per_hour, relay.clock.now),
        ]
    )
    ctx.after_store.append(ImagePolicy(relay.policies))


class ImagePolicy:
    """Keeps the program's ``strip_remote_images`` as the policy file says.

    The outbound worker reads it from the program row when it builds a
    masked copy; writing it here, in the accepting transaction, means the
    copies of every message accepted under a policy follow that policy.
    """

    def __init__(self, policies: Any) -> None:
        self.policies = policies

    def __call__(self, session: Any, stored: Any) -> None:
        program = session.get(Program, stored.program_id)
        if program is None:
            return
        wanted = bool(self.policies.for_program(program.name).strip_remote_images)
        try:
            current = json.loads(program.settings or "{}")
        except ValueError:
            current = {}
        if not isinstance(current, dict):
            current = {}
        if current.get("strip_remote_images") != wanted:
            program.settings = json.dumps({**current, "strip_remote_images": wanted})
