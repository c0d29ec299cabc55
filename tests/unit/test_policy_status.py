"""Decisions made before a message arrives are rules in the table: suspension, pairing hold, sender check."""

from dataclasses import replace

import pytest

from relay.model import Action, Finding, Inspection, PolicyContext
from relay.policy.engine import evaluate
from relay.policy.loader import PolicyError, parse_policy
from relay.policy.rules import RULES
from relay.policy.rules.sender_authentication import Refusal, refusal

POLICY = parse_policy("").default
HOLDING = parse_policy("[default]\nhold_on_auth_failure = true\n").default
HI = Inspection(texts=("hi, see you on Tuesday",))
SPOOF = PolicyContext(
    auth_verdict="fail", auth_reason="DMARC policy of example.com says reject", auth_smtp_code=550, auth_enhanced="5.7.26"
)


def findings(ctx, policy=POLICY, inspection=HI):
    return [(f.rule, f.action, f.reason) for f in evaluate(inspection, ctx, policy).findings]


def test_a_suspended_sender_is_held_with_the_reason_moderators_know():
    verdict = evaluate(HI, PolicyContext(sender_status="suspended"), POLICY)
    assert verdict.action is Action.HOLD
    assert findings(PolicyContext(sender_status="suspended")) == [
        ("suspended-sender", Action.HOLD, "the sender is suspended by a moderator")
    ]


def test_a_pairing_on_hold_is_held():
    assert findings(PolicyContext(pairing_on_hold=True)) == [
        ("pairing-on-hold", Action.HOLD, "a moderator asked to hold this pairing's messages")
    ]


def test_a_failed_sender_check_is_refused_with_the_checks_own_reply():
    verdict = evaluate(HI, SPOOF, POLICY)
    assert verdict.action is Action.REJECT
    assert findings(SPOOF) == [("sender-authentication", Action.REJECT, "DMARC policy of example.com says reject")]
    assert refusal(verdict.findings, SPOOF) == Refusal(550, "5.7.26", "DMARC policy of example.com says reject")
    spf = replace(SPOOF, auth_enhanced="5.7.23", auth_reason="SPF fail")
    assert refusal(evaluate(HI, spf, POLICY).findings, spf) == Refusal(550, "5.7.23", "SPF fail")


def test_a_refusal_without_a_code_gets_the_dmarc_default():
    ctx = PolicyContext(auth_verdict="fail")
    assert refusal(evaluate(HI, ctx, POLICY).findings, ctx) == Refusal(550, "5.7.26", "the sender could not be authenticated")


def test_hold_on_auth_failure_holds_instead_and_nothing_is_refused():
    assert HOLDING.hold_on_auth_failure is True
    verdict = evaluate(HI, SPOOF, HOLDING)
    assert verdict.action is Action.HOLD
    assert findings(SPOOF, HOLDING) == [("sender-authentication", Action.HOLD, "DMARC policy of example.com says reject")]
    assert refusal(verdict.findings, SPOOF) is None


@pytest.mark.parametrize("verdict", ["pass", "none", "temperror"])
def test_only_a_failure_counts(verdict):
    assert findings(replace(SPOOF, auth_verdict=verdict)) == []


def test_other_refusals_are_not_the_sender_checks():
    policy = parse_policy('[default.contact_phone]\naction = "reject"\n').default
    verdict = evaluate(Inspection(texts=("call 415 555 2671",)), PolicyContext(), policy)
    assert verdict.action is Action.REJECT
    assert refusal(verdict.findings, PolicyContext()) is None


def test_decisions_combine_with_the_other_rules_and_come_after_them():
    ctx = PolicyContext(sender_status="suspended", pairing_on_hold=True, auth_verdict="fail", auth_reason="no")
    verdict = evaluate(Inspection(texts=("I feel suicidal, call 415 555 2671",)), ctx, HOLDING)
    assert [f.rule for f in verdict.findings] == [
        "words", "contact_phone", "suspended-sender", "pairing-on-hold", "sender-authentication"
    ]  # fmt: skip
    assert (verdict.action, verdict.urgent) == (Action.HOLD, True)


@pytest.mark.parametrize("name", ["suspended-sender", "pairing-on-hold", "sender-authentication"])
def test_a_policy_file_cannot_switch_a_decision_off(name):
    with pytest.raises(PolicyError, match=f"{name}: unknown setting"):
        parse_policy(f'[default."{name}"]\nenabled = false\n')
    assert next(rule for rule in RULES if rule.name == name).fixed


def test_the_findings_are_plain_findings():
    (found,) = evaluate(HI, PolicyContext(pairing_on_hold=True), POLICY).findings
    assert found == Finding("pairing-on-hold", Action.HOLD, "a moderator asked to hold this pairing's messages")
