"""sender-authentication: the sender failed the check at the door (DMARC, DKIM, SPF).

Refused at SMTP time with the check's own RFC 7372 reply, or held for a
moderator when the policy sets ``hold_on_auth_failure``. The facts come
through the context (``auth_verdict``, ``auth_reason``, ``auth_smtp_code``,
``auth_enhanced``); a temporary failure never reaches the policy, since the
intake answers it with a 451 for the client to retry. The rule is fixed: only
``hold_on_auth_failure`` changes what it does.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.model import Action, Finding, Inspection, PolicyContext
from relay.policy.rules.base import Rule, Settings
from relay.policy.text import Readable

NAME = "sender-authentication"

# When the sender check gives no code of its own: RFC 7372's "DMARC failed".
DEFAULT_CODE = 550
DEFAULT_ENHANCED = "5.7.26"


@dataclass(frozen=True)
class AuthSettings(Settings):
    action: Action = Action.REJECT
    # Hold a message whose sender failed the check, for a moderator, instead of refusing it.
    hold_on_auth_failure: bool = False


def check(
    inspection: Inspection, ctx: PolicyContext, settings: AuthSettings, readable: Readable | None = None
) -> list[Finding]:
    if ctx.auth_verdict != "fail":
        return []
    action = Action.HOLD if settings.hold_on_auth_failure else settings.action
    reason = ctx.auth_reason or "the sender could not be authenticated"
    return [Finding(rule=NAME, action=action, reason=reason)]


@dataclass(frozen=True)
class Refusal:
    """The SMTP reply for a message the sender check refused: code, enhanced status, text."""

    code: int
    enhanced: str
    text: str


def refusal(findings: tuple[Finding, ...] | list[Finding], ctx: PolicyContext) -> Refusal | None:
    """The sender check's own reply when this rule refused the message, else None.

    The intake answers with it instead of the generic policy refusal, so a
    spoofed sender gets the code the check chose (550 5.7.20-5.7.26).
    """
    for found in findings:
        if found.rule == NAME and found.action is Action.REJECT:
            return Refusal(ctx.auth_smtp_code or DEFAULT_CODE, ctx.auth_enhanced or DEFAULT_ENHANCED, found.reason)
    return None


RULE = Rule(
    name=NAME,
    description="The sender failed authentication (DMARC, DKIM, SPF): refused, or held if the policy says so.",
    settings=AuthSettings,
    check=check,
    fixed=True,
)
