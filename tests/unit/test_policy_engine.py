"""The engine: every enabled rule runs, the strongest action wins, failures hold."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.model import Action, Attachment, Inspection, PolicyContext, Severity
from relay.policy.engine import Policy, evaluate
from relay.policy.loader import parse_policy

POLICY = parse_policy("").default
CTX = PolicyContext(known_addresses=frozenset({"mentor@example.com"}), relay_domain="relay.example")


@pytest.mark.parametrize(
    "inspection, action, rules, urgent",
    [
        (Inspection(subject="Re: homework", texts=("Good luck with the test on 12/05!",)), Action.DELIVER, [], False),
        (Inspection(texts=("that test was shit",)), Action.FLAG, ["words"], False),
        (Inspection(texts=("I feel suicidal",)), Action.FLAG, ["words"], True),
        (Inspection(texts=("text me 415 555 2671",)), Action.HOLD, ["contact_phone"], False),
        (
            Inspection(texts=("I feel suicidal. my snap is sadkid09",)),
            Action.HOLD,
            ["words", "contact_social"],
            True,
        ),
        (Inspection(texts=("keep this our secret",)), Action.HOLD, ["words"], True),
        (
            Inspection(
                subject="pics",
                htmls=('<a href="https://drive.google.com/x">here</a>',),
                attachments=(Attachment("big.mov", "video/quicktime", 50_000_000),),
            ),
            Action.HOLD,
            ["contact_links", "attachments"],
            False,
        ),
        (Inspection(encrypted=True), Action.HOLD, ["uninspectable"], False),
    ],
)
def test_verdicts(inspection, action, rules, urgent):
    verdict = evaluate(inspection, CTX, POLICY)
    assert verdict.action is action
    assert [f.rule for f in verdict.findings] == rules
    assert verdict.urgent is urgent


def test_disabled_rules_do_not_run():
    policy = parse_policy("[default.contact_phone]\nenabled = false\n").default
    assert evaluate(Inspection(texts=("text me 415 555 2671",)), CTX, policy).action is Action.DELIVER


def test_actions_come_from_the_policy():
    policy = parse_policy('[default.contact_phone]\naction = "reject"\n[default.words.flag]\naction = "hold"\n').default
    verdict = evaluate(Inspection(texts=("damn shit, call 415 555 2671",)), CTX, policy)
    assert verdict.action is Action.REJECT
    assert [(f.rule, f.action) for f in verdict.findings] == [("words", Action.HOLD), ("contact_phone", Action.REJECT)]


def test_context_region_adds_to_the_policy_region():
    inspection = Inspection(texts=("ring me on 07911 123456",))
    assert evaluate(inspection, CTX, POLICY).action is Action.DELIVER
    assert evaluate(inspection, replace(CTX, region="GB"), POLICY).action is Action.HOLD


def test_a_failing_rule_holds_the_message_instead_of_passing_it():
    # A settings value of the wrong shape makes the attachments rule fail at check time.
    broken = tuple(
        (name, replace(settings, allowed_types=None) if name == "attachments" else settings)
        for name, settings in POLICY.rule_settings
    )
    policy = replace(POLICY, rule_settings=broken)
    verdict = evaluate(Inspection(attachments=(Attachment("a.pdf", "application/pdf", 1),)), CTX, policy)
    assert verdict.action is Action.HOLD
    assert verdict.findings[0].rule == "attachments"
    assert "failed" in verdict.findings[0].reason


def test_a_policy_without_rule_settings_uses_rule_defaults():
    verdict = evaluate(Inspection(texts=("sam@gmail.com",)), CTX, Policy())
    assert verdict.action is Action.HOLD
    assert verdict.findings[0].severity is Severity.NORMAL



@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=80), text=st.text(max_size=400), html=st.text(max_size=200))
def test_no_rule_fails_on_any_text(subject, text, html):
    verdict = evaluate(Inspection(subject=subject, texts=(text,), htmls=(html,)), CTX, POLICY)
    assert not [f for f in verdict.findings if "rule failed" in f.reason]
