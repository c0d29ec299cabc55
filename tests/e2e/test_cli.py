"""relayctl as an operator runs it: a real process, real settings, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

RELAYCTL = [sys.executable, "-m", "relay.cli.main"]


@pytest.fixture
def env(tmp_path):
    values = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    values.update(RELAY_DATA_DIR=str(tmp_path / "var"), RELAY_DOMAIN="mentor.test")
    return values


def relayctl(env, *args, ok=True, cwd=None):
    result = subprocess.run(
        RELAYCTL + list(args), env=env, capture_output=True, text=True, timeout=60, cwd=cwd or os.getcwd()
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_init_is_idempotent_and_creates_secrets_and_key(env, tmp_path):
    first = relayctl(env, "init")
    assert "created" in first.stdout
    key = (tmp_path / "var" / "dkim" / "relay.pem").read_bytes()
    second = relayctl(env, "init")
    assert "created" not in second.stdout and "kept" in second.stdout
    assert (tmp_path / "var" / "dkim" / "relay.pem").read_bytes() == key
    assert oct((tmp_path / "var" / "secret.key").stat().st_mode & 0o777) == "0o600"


def test_enrol_pair_and_list_with_json(env):
    relayctl(env, "init")
    added = json.loads(relayctl(env, "participant", "add", "Sam@Example.com", "--role", "mentor", "--handle", "Sam", "--json").stdout)
    assert added["alias"].endswith("@mentor.test") and added["email"] == "sam@example.com"
    plain = relayctl(env, "participant", "add", "jo@example.net", "--role", "mentee", "--handle", "Jo").stdout.strip()
    assert plain.endswith("@mentor.test") and plain != added["alias"]
    assert "paired Sam with Jo" in relayctl(env, "pair", "sam@example.com", "jo@example.net").stdout
    listed = json.loads(relayctl(env, "participant", "list", "--json").stdout)
    assert {p["handle"] for p in listed} == {"Sam", "Jo"}
    assert json.loads(relayctl(env, "messages", "list", "--json").stdout) == []
    # pairing queues one welcome to each side, and nothing else
    queued = json.loads(relayctl(env, "queue", "list", "--json").stdout)
    assert sorted((q["kind"], q["to"]) for q in queued) == [("welcome", "jo@example.net"), ("welcome", "sam@example.com")]
    today = relayctl(env, "unpair", "sam@example.com", "jo@example.net", ok=False)
    assert today.returncode == 1 and "--yes" in today.stderr  # today means at once, without notice: say so first
    assert "closed the pairing" in relayctl(env, "unpair", "sam@example.com", "jo@example.net", "--yes").stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["participant", "add", "not-an-address", "--role", "mentor", "--handle", "X"], "not a single mailbox"),
        (["participant", "add", "a@b.example\r\nBcc: x@y.example", "--role", "mentor", "--handle", "X"], "line break"),
        (["participant", "add", "a@b.example", "--role", "mentor", "--handle", "X\nY"], "--handle"),
        (["participant", "add", "a@b.example", "--role", "mentor", "--handle", "X", "--timezone", "Mars/Base"], "time zone"),
        (["pair", "nobody@example.com", "jo@example.net"], "not enrolled"),
        (["messages", "show", "999"], "no message 999"),
        (["queue", "retry", "999"], "not deferred"),
    ],
)
def test_bad_arguments_give_one_line_and_a_non_zero_exit(env, args, message):
    relayctl(env, "init")
    relayctl(env, "participant", "add", "jo@example.net", "--role", "mentee", "--handle", "Jo")
    result = relayctl(env, *args, ok=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_duplicate_enrolment_is_refused(env):
    relayctl(env, "init")
    relayctl(env, "participant", "add", "jo@example.net", "--role", "mentee", "--handle", "Jo")
    result = relayctl(env, "participant", "add", "JO@example.net", "--role", "mentee", "--handle", "Jo", ok=False)
    assert result.returncode == 1 and "already enrolled" in result.stderr


def test_bad_settings_are_one_line(env):
    env["RELAY_LISTEN"] = "nowhere"
    result = relayctl(env, "init", ok=False)
    assert result.returncode == 1 and "RELAY_LISTEN must be host:port" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_dkim_record_prints_a_txt_record(env):
    relayctl(env, "init")
    out = relayctl(env, "dkim-record").stdout
    assert out.startswith("relay._domainkey.mentor.test.") and "v=DKIM1" in out and "p=" in out


def test_help_lists_every_command(env):
    out = relayctl(env, "--help").stdout
    for command in ("init", "participant", "pair", "unpair", "messages", "queue", "dkim-record", "serve"):
        assert command in out
