"""uninspectable: a message the relay cannot read fully cannot be let through unseen.

Encrypted content hides everything; a signature carries the sender's
certificate or key, which names their real address; malformed MIME or an
unknown charset may hide text the other rules never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.text import Readable
from relay.policy.rules.base import Rule, Settings

NAME = "uninspectable"


@dataclass(frozen=True)
class UninspectableSettings(Settings):
    # Signed mail carries identity material; set false only if rewriting strips signatures.
    hold_signed: bool = True


def _reasons(inspection: Inspection, settings: UninspectableSettings) -> list[str]:
    reasons = []
    if inspection.encrypted:
        reasons.append("the message is encrypted, so its content cannot be checked")
    if inspection.signed and settings.hold_signed:
        reasons.append("the message is signed: the signature carries the sender's key or certificate")
    reasons += [f"the message could not be read fully: {problem}" for problem in inspection.problems]
    return reasons


def check(
    inspection: Inspection, ctx: PolicyContext, settings: UninspectableSettings, readable: Readable | None = None
) -> list[Finding]:
    return [
        Finding(rule=NAME, action=settings.action, reason=reason, severity=settings.severity)
        for reason in _reasons(inspection, settings)
    ]


RULE = Rule(
    name=NAME,
    description="Encrypted, signed or malformed content the other rules cannot fully check.",
    settings=UninspectableSettings,
    check=check,
)
