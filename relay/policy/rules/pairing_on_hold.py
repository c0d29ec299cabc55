"""pairing-on-hold: a moderator answered "hold", so this pairing's messages wait for approval one by one.

The fact comes from the store through ``PolicyContext.pairing_on_hold``. The
rule is fixed: a policy file cannot switch a moderator's decision off.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.model import Action, Finding, Inspection, PolicyContext
from relay.policy.rules.base import Rule, Settings
from relay.policy.text import Readable

NAME = "pairing-on-hold"


@dataclass(frozen=True)
class OnHoldSettings(Settings):
    action: Action = Action.HOLD


def check(
    inspection: Inspection, ctx: PolicyContext, settings: OnHoldSettings, readable: Readable | None = None
) -> list[Finding]:
    if not ctx.pairing_on_hold:
        return []
    return [Finding(rule=NAME, action=settings.action, reason="a moderator asked to hold this pairing's messages")]


RULE = Rule(
    name=NAME,
    description="A moderator holds this pairing's messages.",
    settings=OnHoldSettings,
    check=check,
    fixed=True,
)
