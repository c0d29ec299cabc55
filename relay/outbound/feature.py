"""Nothing lost: bounce addresses answered and private failure notices, wired into the relay."""

from __future__ import annotations

from typing import Any

from relay.intake.bounce_mail import BounceRoute
from relay.outbound.failure import FailureNotices


def install(relay: Any) -> None:
    """Route mail for ``b-…`` addresses and tell senders when a copy fails for good."""
    relay.routes["bounce"] = BounceRoute(relay.intake_ctx, relay.templates)
    relay.worker.on_final.append(FailureNotices(relay))
