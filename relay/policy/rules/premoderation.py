"""premoderation: hold what a moderator should see first.

The first messages of a new pairing, anything to or from a participant marked
for pre-moderation (for example a younger mentee), or a whole program.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.text import Readable
from relay.policy.rules.base import Rule, Settings

NAME = "premoderation"


@dataclass(frozen=True)
class PremoderationSettings(Settings):
    # Hold the first N messages of every pairing; 0 turns this off.
    premoderate_first: int = 0
    premoderate_all: bool = False


def _reasons(ctx: PolicyContext, settings: PremoderationSettings) -> list[str]:
    reasons = []
    if settings.premoderate_all:
        reasons.append("every message in this program is pre-moderated")
    if ctx.pairing_message_count < settings.premoderate_first:
        number = ctx.pairing_message_count + 1
        reasons.append(
            f"message {number} of a new pairing (the first {settings.premoderate_first} are pre-moderated)"
        )
    if ctx.sender is not None and ctx.sender.premoderate:
        reasons.append(f"the sender {ctx.sender.handle} is pre-moderated")
    reasons += [f"the recipient {p.handle} is pre-moderated" for p in ctx.recipients if p.premoderate]
    return reasons


def check(
    inspection: Inspection, ctx: PolicyContext, settings: PremoderationSettings, readable: Readable | None = None
) -> list[Finding]:
    return [
        Finding(rule=NAME, action=settings.action, reason=reason, severity=settings.severity)
        for reason in _reasons(ctx, settings)
    ]


RULE = Rule(
    name=NAME,
    description="A new pairing's first messages, a pre-moderated participant, or a pre-moderated program.",
    settings=PremoderationSettings,
    check=check,
)
