"""suspended-sender: a moderator suspended the sender (by answering "suspend"), so their messages are held.

The fact comes from the store through ``PolicyContext.sender_status``. The
rule is fixed: a policy file cannot switch a moderator's decision off.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.model import Action, Finding, Inspection, PolicyContext
from relay.policy.rules.base import Rule, Settings
from relay.policy.text import Readable

NAME = "suspended-sender"


@dataclass(frozen=True)
class SuspendedSettings(Settings):
    action: Action = Action.HOLD


def check(
    inspection: Inspection, ctx: PolicyContext, settings: SuspendedSettings, readable: Readable | None = None
) -> list[Finding]:
    if ctx.sender_status != "suspended":
        return []
    return [Finding(rule=NAME, action=settings.action, reason="the sender is suspended by a moderator")]


RULE = Rule(
    name=NAME,
    description="The sender is suspended by a moderator: their messages are held.",
    settings=SuspendedSettings,
    check=check,
    fixed=True,
)
