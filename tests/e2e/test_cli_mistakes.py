"""Every mistake a coordinator is likely to make gets one clear line and a non-zero exit, never a traceback.

Most cases run relayctl's entry point in this process; the ones about
tracebacks, drivers and closed pipes run it as a real process. Today comes
from the system clock, as relayctl itself takes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone

import pytest

from relay.cli.main import main
from relay.clock import SystemClock

RELAYCTL = [sys.executable, "-m", "relay.cli.main"]
SAM, JO = "sam@example.com", "jo@example.net"


@pytest.fixture
def relayctl(tmp_path, monkeypatch, capsys):
    """Run relayctl in this process: returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("RELAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RELAY_DOMAIN", "mentor.test")

    def run(*args: str):
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def enrolled(relayctl):
    assert relayctl("init")[0] == 0
    assert relayctl("participant", "add", SAM, "--role", "mentor", "--handle", "Sam")[0] == 0
    assert relayctl("participant", "add", JO, "--role", "mentee", "--handle", "Jo")[0] == 0
    return relayctl


def one_line(code: int, err: str, *needles: str) -> None:
    assert code != 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def process(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(RELAYCTL + list(args), env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def env(tmp_path):
    values = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    values.update(RELAY_DATA_DIR=str(tmp_path / "var"), RELAY_DOMAIN="mentor.test")
    return values


def test_version(relayctl):
    code, out, _ = relayctl("--version")
    assert code == 0 and out.startswith("relayctl (mentor-relay) ")


@pytest.mark.parametrize("args", [
    ["participant", "add", "kai@example.net", "--rol", "mentee", "--handle", "Kai"],
    ["participant", "add", "kai@example.net", "--role", "mentee", "--hand", "Kai"],
    ["participant", "add", "kai@example.net", "--role", "mentee", "--handle", "Kai", "--time", "UTC"],
])
def test_abbreviated_options_are_not_guessed(enrolled, args):
    code, _, err = enrolled(*args)
    one_line(code, err, "relayctl")
    listed = json.loads(enrolled("participant", "list", "--json")[1])
    assert [p["handle"] for p in listed] == ["Sam", "Jo"]


def test_program_set_refuses_unknown_keys_and_wrong_types_and_names_the_known_ones(enrolled):
    code, _, err = enrolled("program", "set", "--setting", "remind_mentess=true")
    one_line(code, err, "unknown setting 'remind_mentess'", "remind_mentees", "guardian_consent", "retention_days")
    for item, needle in [("retention_days=soon", "whole number"), ("retention_days=0", "at least 1"),
                         ("guardian_copy=everything", "none, summary, full"), ("remind_mentees=maybe", "true or false"),
                         ("urgent_ack_minutes=2.5", "whole number"), ("escalate", "KEY=VALUE")]:
        code, _, err = enrolled("program", "set", "--setting", item)
        one_line(code, err, needle)
    code, out, err = enrolled("program", "set", "--setting", "guardian_consent=required", "--setting", "retention_days=90")
    assert code == 0 and "guardian_consent='required'" in out and "retention_days=90" in out, err
    (program,) = json.loads(enrolled("program", "list", "--json")[1])
    assert program["settings"]["guardian_consent"] == "required" and program["settings"]["retention_days"] == 90
    assert program["settings"]["urgent_ack_minutes"] == 30 and program["settings"]["guardian_copy"] == "none"


def test_a_misspelt_program_is_an_error_and_programs_are_added_explicitly(enrolled):
    code, _, err = enrolled("participant", "add", "kai@example.net", "--role", "mentee", "--handle", "Kai",
                            "--program", "defualt")
    one_line(code, err, "no program named 'defualt'", "program add")
    one_line(*enrolled("circle", "add", "college-apps", "--handle", "Apps", "--program", "defualt")[::2], "no program named")
    assert [p["name"] for p in json.loads(enrolled("program", "list", "--json")[1])] == ["default"]
    assert enrolled("program", "add", "spring", "--timezone", "Europe/London")[0] == 0
    one_line(*enrolled("program", "add", "spring")[::2], "already a program named 'spring'")
    code, out, err = enrolled("participant", "add", "kai@example.net", "--role", "mentee", "--handle", "Sam",
                              "--program", "spring")
    assert code == 0, err  # handles are unique within a program, not across programs


def test_handles_are_unique_in_a_program_whatever_the_case(enrolled, tmp_path):
    code, _, err = enrolled("participant", "add", "sam2@example.com", "--role", "mentor", "--handle", "SAM")
    one_line(code, err, "handle 'SAM' is already taken")
    csv = tmp_path / "people.csv"
    csv.write_text("email,role,handle\nkai@example.net,mentee,Guide 0\nlee@example.net,mentee,guide  0\n")
    code, _, err = enrolled("participant", "import", str(csv))
    assert code == 1 and "line 3: the handle 'guide 0' is already taken on line 2" in err


def test_an_unknown_setting_in_the_environment_or_dotenv_is_a_one_line_warning(relayctl, tmp_path, monkeypatch):
    monkeypatch.setenv("RELAY_MESSAGE_PER_HOUR", "5")
    (tmp_path / "relay.env").write_text("RELAY_DOMIAN=mentor.test\n")
    code, out, err = relayctl("--env-file", str(tmp_path / "relay.env"), "init")
    assert code == 0
    assert err.strip().splitlines() == [
        "relayctl: warning: unknown setting RELAY_DOMIAN is ignored (did you mean RELAY_DOMAIN?)",
        "relayctl: warning: unknown setting RELAY_MESSAGE_PER_HOUR is ignored (did you mean RELAY_MESSAGES_PER_HOUR?)",
    ]


def test_a_missing_policy_file_or_env_file_is_an_error(relayctl, tmp_path, monkeypatch):
    one_line(*relayctl("--env-file", str(tmp_path / "nope.env"), "init")[::2], "--env-file names no readable file")
    monkeypatch.setenv("RELAY_POLICY", str(tmp_path / "policy.tmol"))
    one_line(*relayctl("init")[::2], "RELAY_POLICY names no readable file")


def test_a_database_without_a_driver_or_a_refused_connection_is_one_line(env):
    for url, needle in [("mysql://relay@localhost/relay", "must start with sqlite:/// or postgresql://"),
                        ("postgresql://postgres@127.0.0.1:9/test", "the database could not be used")]:
        result = process(env | {"RELAY_DATABASE_URL": url}, "participant", "list")
        one_line(result.returncode, result.stderr, needle)


def test_output_into_a_closed_pipe_ends_quietly(env, tmp_path):
    assert process(env, "init").returncode == 0
    rows = "".join(f"p{n}@school.example.net,mentee,Person {n}\n" for n in range(1500))
    (tmp_path / "many.csv").write_text("email,role,handle\n" + rows)
    assert process(env, "participant", "import", str(tmp_path / "many.csv")).returncode == 0
    reader = subprocess.Popen(RELAYCTL + ["participant", "list"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout.readline().startswith(b"ID")
    reader.stdout.close()  # like `| head -1`
    stderr = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 141 and stderr == ""


def _notice_moment(day) -> datetime:
    return datetime.combine(day, time(10, 1), tzinfo=timezone.utc)


def test_closing_today_says_so_and_needs_yes(enrolled):
    assert enrolled("pair", SAM, JO, "--no-welcome")[0] == 0
    today = SystemClock().now().date()
    one_line(*enrolled("unpair", SAM, JO, "--on", today.isoformat())[::2], "is today", "no notice ahead", "--yes")
    one_line(*enrolled("program", "close", "--on", today.isoformat())[::2], "is today", "--yes")
    one_line(*enrolled("unpair", SAM, JO, "--on", (today - timedelta(days=1)).isoformat())[::2], "has passed")
    assert [p["status"] for p in json.loads(enrolled("pairings", "--json")[1])] == ["active"]
    code, out, _ = enrolled("unpair", SAM, JO, "--yes")
    assert code == 0 and "closed the pairing of Sam and Jo" in out and "no notice ahead" in out


def test_a_later_closing_day_is_described_truthfully_and_can_be_withdrawn(enrolled):
    assert enrolled("pair", SAM, JO, "--no-welcome")[0] == 0
    today = SystemClock().now().date()
    soon = today + timedelta(days=6)
    code, out, _ = enrolled("unpair", SAM, JO, "--on", soon.isoformat())
    assert code == 0 and f"closes on {soon}" in out
    assert f"on {soon - timedelta(days=3)} (3 days ahead)" in out and "14 days" not in out
    code, out, _ = enrolled("unpair", SAM, JO, "--cancel")
    assert code == 0 and f"closing on {soon} withdrawn" in out and "nobody had been told" in out
    one_line(*enrolled("unpair", SAM, JO, "--cancel")[::2], "no closing day to withdraw")

    later = today + timedelta(days=28)
    code, out, _ = enrolled("program", "close", "--on", later.isoformat())
    assert code == 0 and "1 pairing(s)" in out and "(14 days ahead)" in out and "(3 days ahead)" in out
    assert json.loads(enrolled("pairings", "--json")[1])[0]["status"] == "closing"
    code, out, _ = enrolled("program", "reopen")
    assert code == 0 and f"closing on {later} withdrawn for 1 pairing(s)" in out
    assert json.loads(enrolled("pairings", "--json")[1])[0]["status"] == "active"
    one_line(*enrolled("program", "reopen")[::2], "no closing day to withdraw")


def test_a_tick_in_the_future_queues_its_mail_due_then_and_queue_retry_releases_it(enrolled):
    assert enrolled("pair", SAM, JO, "--no-welcome")[0] == 0
    later = SystemClock().now().date() + timedelta(days=28)
    assert enrolled("program", "close", "--on", later.isoformat())[0] == 0
    at = _notice_moment(later - timedelta(days=14))
    # --dry-run lists what would be sent and records nothing.
    code, out, err = enrolled("scheduler", "tick", "--at", at.isoformat(), "--dry-run")
    assert code == 0, err
    assert "in the future): nothing was sent or recorded" in out
    assert "notice to Sam: 'Your conversation with Jo closes on" in out
    assert "notice to Jo: 'Your conversation with Sam closes on" in out
    assert "2 message(s) would be sent" in out and SAM not in out and JO not in out
    assert json.loads(enrolled("queue", "list", "--json")[1]) == []
    # Without it the jobs run, and their mail waits in the queue until that moment ...
    code, out, err = enrolled("scheduler", "tick", "--at", at.isoformat())
    assert code == 0 and "queue retry --all" in out, (out, err)
    waiting = json.loads(enrolled("queue", "list", "--json")[1])
    assert len(waiting) == 2 and {w["status"] for w in waiting} == {"queued"}
    # ... unless queue retry releases it now.
    code, out, err = enrolled("queue", "retry", str(waiting[0]["id"]))
    assert code == 0 and "1 delivery due now" in out, (out, err)
    code, out, err = enrolled("queue", "retry", "--all")
    assert code == 0 and "1 delivery due now" in out, (out, err)
    code, _, err = enrolled("queue", "retry", str(waiting[0]["id"]))
    assert code == 1 and err.count("\n") == 1 and "due now" in err
    code, out, _ = enrolled("scheduler", "tick", "--dry-run")
    assert code == 0 and "dry run" in out and "0 message(s) would be sent" in out


def test_tick_help_says_what_a_future_moment_does(relayctl):
    code, out, _ = relayctl("scheduler", "tick", "--help")
    out = " ".join(out.split())  # argparse wraps the description
    assert code == 0 and "in the future the jobs run now" in out and "queue retry --all" in out and "--dry-run" in out


def test_the_responses_report_sorts_naturally(relayctl):
    assert relayctl("init")[0] == 0
    for n in (10, 2, 1):
        relayctl("participant", "add", f"m{n}@example.com", "--role", "mentor", "--handle", f"Mentor {n}")
        relayctl("participant", "add", f"e{n}@example.net", "--role", "mentee", "--handle", f"Mentee {n}")
        assert relayctl("pair", f"m{n}@example.com", f"e{n}@example.net", "--no-welcome")[0] == 0
    code, out, _ = relayctl("report", "responses", "--json")
    assert [r["mentor"] for r in json.loads(out)] == ["Mentor 1", "Mentor 2", "Mentor 10"]


def test_participant_list_search_finds_by_address_handle_or_alias(enrolled):
    jo = json.loads(enrolled("participant", "list", "--json")[1])[1]
    for text in ("EXAMPLE.NET", "JO@", jo["alias"], jo["alias"].split("@")[0]):
        listed = json.loads(enrolled("participant", "list", "--search", text, "--json")[1])
        assert [p["handle"] for p in listed] == ["Jo"], text
    assert json.loads(enrolled("participant", "list", "--search", "%", "--json")[1]) == []
