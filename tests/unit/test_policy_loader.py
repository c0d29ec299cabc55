"""The policy file: defaults, per-program overrides, clear errors, and the shipped file."""

from pathlib import Path

import pytest

from relay.model import Action, Attachment, Inspection, PolicyContext, Severity
from relay.policy.engine import evaluate
from relay.policy.loader import PolicyError, PolicySet, load_policy, parse_policy

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "policy.toml"


def test_no_file_and_missing_file_give_the_built_in_defaults(tmp_path):
    assert load_policy(None) == load_policy(tmp_path / "absent.toml") == parse_policy("")


def test_shipped_file_equals_the_built_in_defaults():
    assert load_policy(SHIPPED) == load_policy(None)


def test_shipped_file_behaves_as_documented():
    policy = load_policy(SHIPPED).for_program("any-program")
    assert policy.region == "US"
    assert policy.notify_sender_on_hold is True
    assert policy.strip_remote_images is False
    assert policy.hold_on_auth_failure is False
    assert policy.premoderate_first == 0
    assert policy.premoderate_all is False
    ctx = PolicyContext(relay_domain="mentor.example.org")

    def verdict(**parts):
        return evaluate(Inspection(**parts), ctx, policy)

    assert verdict(texts=("see you on 2026-12-05 at 10:30!",)).action is Action.DELIVER
    for contact in ("sam@gmail.com", "call 415 555 2671", "my snap is sk8r22", "I live at 42 Maple Street", "zoom.us/j/1"):
        assert verdict(texts=(contact,)).action is Action.HOLD, contact
    assert verdict(texts=("this is shit",)).action is Action.FLAG
    urgent = verdict(texts=("I want to die",))
    assert (urgent.action, urgent.urgent) == (Action.FLAG, True)
    assert verdict(attachments=(Attachment("a.pdf", "application/pdf", 10 * 1024 * 1024),)).action is Action.DELIVER
    assert verdict(attachments=(Attachment("a.pdf", "application/pdf", 10 * 1024 * 1024 + 1),)).action is Action.HOLD
    assert verdict(attachments=(Attachment("a.zip", "application/zip", 10),)).action is Action.HOLD
    assert evaluate(Inspection(texts=("hi",)), PolicyContext(pairing_message_count=0), policy).action is Action.DELIVER


def test_the_documented_premoderation_switch_holds_the_first_three():
    text = SHIPPED.read_text().replace("premoderate_first = 0", "premoderate_first = 3")
    policy = parse_policy(text).for_program("x")
    assert policy.premoderate_first == 3
    held = [evaluate(Inspection(texts=("hi",)), PolicyContext(pairing_message_count=n), policy).action for n in range(5)]
    assert held == [Action.HOLD] * 3 + [Action.DELIVER] * 2


PROGRAMS = """
[default]
notify_sender_on_hold = false
premoderate_first = 1

[default.attachments]
max_size_mb = 5

[program.juniors]
premoderate_first = 3
region = "GB"

[program.juniors.attachments]
allowed_types = ["image/*"]

[program.juniors.words.flag]
words = ["darn"]
severity = "urgent"
"""


def test_program_tables_override_default_key_by_key():
    policies = parse_policy(PROGRAMS, "test.toml")
    assert isinstance(policies, PolicySet)
    default, juniors = policies.for_program("seniors"), policies.for_program("juniors")
    assert (default.premoderate_first, default.region, default.notify_sender_on_hold) == (1, "US", False)
    assert (juniors.premoderate_first, juniors.region, juniors.notify_sender_on_hold) == (3, "GB", False)
    assert juniors.settings("attachments").max_size_mb == 5.0  # inherited from [default]
    assert juniors.settings("attachments").allowed_types == ("image/*",)
    assert default.settings("attachments").allowed_types != ("image/*",)
    flag = {wl.name: wl for wl in juniors.settings("words").lists}["flag"]
    assert (flag.words, flag.action, flag.severity) == (("darn",), Action.FLAG, Severity.URGENT)
    assert evaluate(Inspection(texts=("ring 07911 123456",)), PolicyContext(), juniors).action is Action.HOLD


def test_messages_are_counted_one_past_the_largest_premoderation_of_any_program():
    assert parse_policy(PROGRAMS, "test.toml").count_bound == 4  # juniors hold their first 3
    assert parse_policy("").count_bound == 1  # nobody pre-moderates: "none yet?" is all that is asked


@pytest.mark.parametrize(
    "text, message",
    [
        ("[default\n", "test.toml: not valid TOML: "),
        ("[defaults]\n", "test.toml: unknown top-level table [defaults]"),
        ("[default]\npremoderate_frist = 3\n", "test.toml: [default] premoderate_frist: unknown setting"),
        ("[default]\npremoderate_first = -1\n", "test.toml: [default] premoderate_first: expected a whole number"),
        ("[default]\npremoderate_first = true\n", "test.toml: [default] premoderate_first: expected a whole number"),
        ('[default]\nregion = "Narnia"\n', "test.toml: [default] region: unknown region 'Narnia'"),
        ('[default]\nnotify_sender_on_hold = "yes"\n', "test.toml: [default] notify_sender_on_hold: expected true or false"),
        ('[default.contact_phone]\naction = "block"\n', "test.toml: [default.contact_phone] action: expected one of"),
        ("[default.attachments]\nmax_size_mb = 'ten'\n", "test.toml: [default.attachments] max_size_mb: expected a number"),
        ('[default.words.urgent]\nwords = "suicide"\n', "test.toml: [default.words.urgent] words: expected a list"),
        ("[default]\ncontact_email = 3\n", "test.toml: [default.contact_email] must be a table"),
        ('[program.kids]\npremoderate_all = "always"\n', "test.toml: [program.kids] premoderate_all: expected true or false"),
        ("[program]\nkids = 1\n", "test.toml: [program.kids] must be a table"),
    ],
)
def test_bad_files_raise_one_clear_line(text, message):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "test.toml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unreadable_file_names_the_file(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xff\xfe[default]")
    with pytest.raises(PolicyError, match="policy.toml: cannot read the policy file"):
        load_policy(path)


def test_load_reads_the_file_and_names_it_in_errors(tmp_path):
    path = tmp_path / "custom.toml"
    path.write_text("[default]\nstrip_remote_images = true\n")
    assert load_policy(str(path)).for_program("x").strip_remote_images is True
    path.write_text("[default]\nstrip_remote_images = 1\n")
    with pytest.raises(PolicyError, match=r"custom\.toml: \[default\] strip_remote_images"):
        load_policy(path)
