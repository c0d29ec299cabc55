"""The policy engine: runs the ordered rules over one message and combines a verdict.

Pure: a frozen Inspection, PolicyContext and Policy in, a Verdict out. The
message's readable sources are worked out once and shared by every rule. The
strongest action among the findings wins; with no findings the message is
delivered. Decisions taken before the message came (a suspended sender, a
pairing on hold, a failed sender check) arrive in the context and are rules
of the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from relay.model import Action, Finding, Inspection, PolicyContext, Severity, Verdict
from relay.policy.rules import RULES, RULES_BY_NAME
from relay.policy.text import Readable

@dataclass(frozen=True)
class Policy:
    """One program's policy: general settings and every rule's settings, in table order."""

    region: str = "US"  # default region for phone numbers
    notify_sender_on_hold: bool = True
    strip_remote_images: bool = False
    rule_settings: tuple[tuple[str, Any], ...] = ()  # (rule name, its settings)

    def settings(self, rule_name: str) -> Any:
        """The settings of one rule, or the rule's defaults if the policy does not name it."""
        settings = self._settings_by_name.get(rule_name)
        return settings if settings is not None else RULES_BY_NAME[rule_name].read_settings({})

    @cached_property
    def _settings_by_name(self) -> dict[str, Any]:
        """The rules' settings by name, looked up once per rule per message; the first of a name wins."""
        by_name: dict[str, Any] = {}
        for name, settings in self.rule_settings:
            by_name.setdefault(name, settings)
        return by_name

    @property
    def premoderate_first(self) -> int:
        return self.settings("premoderation").premoderate_first

    @property
    def premoderate_all(self) -> bool:
        return self.settings("premoderation").premoderate_all

    @property
    def hold_on_auth_failure(self) -> bool:
        return self.settings("sender-authentication").hold_on_auth_failure


def evaluate(inspection: Inspection, ctx: PolicyContext, policy: Policy) -> Verdict:
    """Every enabled rule's findings, in table order, combined into one verdict.

    The phone rule checks ``ctx.region`` as well as the policy's region: a
    caller can add a region, never remove one. A rule that fails holds the message instead of letting it
    through unchecked.
    """
    findings: list[Finding] = []
    try:
        readable: Readable | None = Readable.of(inspection)  # HTML parsed once, views shared by every rule
    except Exception:  # noqa: BLE001 - then each text rule tries alone, and fails into a hold
        readable = None
    for rule in RULES:
        settings = policy.settings(rule.name)
        if not settings.enabled:
            continue
        try:
            findings += rule.check(inspection, ctx, settings, readable)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not let mail through unseen
            reason = f"the {rule.name} rule failed ({type(exc).__name__}: {exc}); held to be safe"
            findings.append(Finding(rule=rule.name, action=Action.HOLD, reason=reason, severity=Severity.NORMAL))
    return Verdict.combine(findings)
