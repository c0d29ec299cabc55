"""Program settings: one typed value, defaults for every key, operator input refused when it does not fit."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from relay import program_settings as ps


def test_every_key_has_a_spec_and_the_defaults_are_the_documented_ones():
    assert set(ps.KEYS) == set(ps.SPEC) == {f.name for f in fields(ps.ProgramSettings)}
    d = ps.DEFAULTS
    assert (d.guardian_consent, d.guardian_copy, d.retention_days, d.urgent_ack_minutes) == ("off", "none", 365, 30)
    assert (d.escalate, d.remind_mentees, d.mentee_window_factor, d.quiet_pairing_days, d.strip_remote_images) == (
        True, False, 2.0, 14, False)
    assert len(ps.describe()) == len(ps.KEYS)


@pytest.mark.parametrize("stored, expected", [
    (None, {}),
    ("", {}),
    ("not json", {}),
    ("[1, 2]", {}),
    ('{"remind_mentees": true, "quiet_pairing_days": 10}', {"remind_mentees": True, "quiet_pairing_days": 10}),
    ('{"quiet_pairing_days": "10"}', {"quiet_pairing_days": 10}),  # written by hand before settings were typed
    ('{"quiet_pairing_days": "soon", "guardian_copy": "all"}', {}),  # unusable values: the defaults
    ('{"someone_elses_key": 1}', {}),
    ('{"mentee_window_factor": 3}', {"mentee_window_factor": 3.0}),
])
def test_load_is_forgiving_so_reading_never_stops_a_reminder(stored, expected):
    value = ps.load(stored)
    assert {k: v for k, v in value.as_dict().items() if ps.DEFAULTS.as_dict()[k] != v} == expected


@pytest.mark.parametrize("raw, expected", [
    ({"remind_mentees": "true"}, {"remind_mentees": True}),
    ({"remind_mentees": "yes"}, {"remind_mentees": True}),
    ({"escalate": "off"}, {"escalate": False}),
    ({"quiet_pairing_days": "10"}, {"quiet_pairing_days": 10}),
    ({"mentee_window_factor": "1.5"}, {"mentee_window_factor": 1.5}),
    ({"guardian_copy": "summary"}, {"guardian_copy": "summary"}),
    ({"guardian_copy": '"full"'}, {"guardian_copy": "full"}),
    ({"guardian_consent": "required", "retention_days": "30"}, {"guardian_consent": "required", "retention_days": 30}),
])
def test_change_takes_typed_values(raw, expected):
    changed = ps.change(ps.DEFAULTS, raw)
    for key, value in expected.items():
        assert getattr(changed, key) == value and type(getattr(changed, key)) is type(value)


@pytest.mark.parametrize("raw, message", [
    ({"remind_mentess": "true"}, "unknown setting 'remind_mentess'; the known settings are escalate"),
    ({"remind_mentees": "maybe"}, "must be true or false"),
    ({"retention_days": "1.5"}, "whole number"),
    ({"retention_days": "0"}, "at least 1"),
    ({"retention_days": "true"}, "whole number"),
    ({"urgent_ack_minutes": "NaN"}, "finite"),
    ({"mentee_window_factor": "0.5"}, "at least 1"),
    ({"guardian_copy": "everything"}, "one of none, summary, full"),
    ({"guardian_consent": "1"}, "one of off, required"),
])
def test_change_refuses_what_does_not_fit_and_says_what_would(raw, message):
    with pytest.raises(ps.SettingError, match=message):
        ps.change(ps.DEFAULTS, raw)


def test_only_changed_values_are_stored_and_read_back_equal():
    value = ps.change(ps.DEFAULTS, {"guardian_copy": "full", "escalate": "true"})
    assert json.loads(value.to_json()) == {"guardian_copy": "full"}
    assert ps.load(value.to_json()) == value


@pytest.mark.parametrize("items, message", [(["escalate"], "KEY=VALUE"), (["=1"], "KEY=VALUE")])
def test_assignments_need_a_key_and_an_equals_sign(items, message):
    with pytest.raises(ps.SettingError, match=message):
        ps.parse_assignments(items)
