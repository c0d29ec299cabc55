"""relayctl mod and messages search, run as an operator would, against a relay that holds real mail."""

from __future__ import annotations

import email
import email.policy
import getpass
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from relay.store.tables import Message, ModerationAction

RELAYCTL = [sys.executable, "-m", "relay.cli.main"]
MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
OTHER_MENTEE = "alex.lee@home.example.org"
RILEY = "riley.moderator@staff.example.org"


@pytest.fixture
def env(world):
    settings = world.relay.settings
    values = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    values.update(RELAY_DATA_DIR=str(settings.data_dir), RELAY_DATABASE_URL=settings.database_url,
                  RELAY_DOMAIN=settings.domain)
    return values


def relayctl(env, *args, code=0):
    result = subprocess.run(RELAYCTL + list(args), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
async def mail(world):
    """A held message (phone number), a flagged one (swearing) and a plain one, in that order."""
    world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    other = world.enrol(OTHER_MENTEE, "mentee", "Alex")
    world.enrol(RILEY, "moderator", "Riley")
    first = world.pair(MENTOR, MENTEE)
    second = world.pair(MENTOR, OTHER_MENTEE)
    await world.send(MENTOR, mentee, "Call me", "Text me on 415-867-5309 tonight.\n")
    world.clock.advance(hours=1)
    await world.send(MENTOR, other, "Essay", "That essay prompt was shitty.\n")
    world.clock.advance(hours=1)
    await world.send(MENTOR, mentee, "Books", "Have you read the novel about the lighthouse?\n")
    await world.flush()
    ids = [m.id for m in world.relay.db.run_sync(lambda s: list(s.exec(select(Message).order_by(Message.id))))]
    return dict(held=ids[0], flagged=ids[1], plain=ids[2], first_pairing=first, second_pairing=second)


def catch_up(world):
    """relayctl runs on the system clock: move the relay's clock to it so what it queued is due."""
    world.clock.set(datetime.now(timezone.utc) + timedelta(minutes=1))


def actions(world):
    return world.relay.db.run_sync(lambda s: [
        (a.message_id, a.action, a.via, a.actor, a.outcome, a.argument)
        for a in s.exec(select(ModerationAction).where(ModerationAction.action != "notice").order_by(ModerationAction.id))
    ])


async def test_queue_lists_held_and_flagged_oldest_first_with_rules(world, env, mail):
    listed = json.loads(relayctl(env, "mod", "queue", "--json").stdout)
    assert [(r["id"], r["status"], r["verdict"]) for r in listed] == [
        (mail["held"], "held", "hold"), (mail["flagged"], "delivered", "flag")]
    assert listed[0]["rules"] == ["contact_phone"] and listed[1]["rules"] == ["words"]
    plain = relayctl(env, "mod", "queue").stdout
    assert "contact_phone" in plain and "Call me" in plain and "Books" not in plain


async def test_approve_from_the_terminal_releases_and_is_recorded(world, env, mail):
    out = relayctl(env, "mod", "approve", str(mail["held"])).stdout
    assert "approved" in out
    catch_up(world)
    await world.flush()
    assert [r.rcpt_tos for r in world.sink.received if b"415-867-5309" in r.data and r.rcpt_tos == [MENTEE]]
    again = relayctl(env, "mod", "approve", str(mail["held"])).stdout
    assert "already approved by cli:" in again
    refused = relayctl(env, "mod", "reject", str(mail["held"]), "--reason", "late", code=1)
    assert refused.stderr.count("\n") == 1 and "cannot be rejected" in refused.stderr
    user = f"cli:{getpass.getuser()}"
    assert [(a[1], a[2], a[3], a[4]) for a in actions(world)] == [
        ("approve", "cli", user, "done"), ("approve", "cli", user, "noop"), ("reject", "cli", user, "refused")]
    assert [r["id"] for r in json.loads(relayctl(env, "mod", "queue", "--json").stdout)] == [mail["flagged"]]


async def test_reject_from_the_terminal_tells_the_sender(world, env, mail):
    relayctl(env, "mod", "reject", str(mail["held"]), "--reason", "no phone numbers, please")
    catch_up(world)
    await world.flush()
    told = [email.message_from_bytes(r.data, policy=email.policy.default) for r in world.sink.received
            if r.rcpt_tos == [MENTOR] and b"not passed on" in r.data]
    assert len(told) == 1 and "no phone numbers, please" in told[0].get_body(("plain",)).get_content()
    assert MENTEE not in told[0].as_string()


async def test_note_is_recorded_and_unknown_ids_are_one_line_errors(world, env, mail):
    relayctl(env, "mod", "note", str(mail["flagged"]), "Spoke with Sam about language.")
    assert actions(world)[-1][:2] == (mail["flagged"], "note")
    assert actions(world)[-1][-1] == "Spoke with Sam about language."
    missing = relayctl(env, "mod", "approve", "9999", code=1)
    assert missing.stderr.strip() == "relayctl: error: no message 9999"


SEARCHES = [
    (["--participant", MENTEE], ["held", "plain"]),
    (["--participant", OTHER_MENTEE], ["flagged"]),
    (["--participant", MENTOR.upper()], ["held", "flagged", "plain"]),
    (["--status", "held"], ["held"]),
    (["--text", "LIGHTHOUSE"], ["plain"]),
    (["--since", "2026-11-02T16:00:00+00:00"], ["flagged", "plain"]),
    (["--until", "2026-11-02T16:00"], ["held"]),
    (["--since", "2026-11-02T15:30", "--until", "2026-11-02T16:30"], ["flagged"]),
    (["--pairing", "first_pairing"], ["held", "plain"]),
    (["--pairing", "second_pairing", "--text", "essay"], ["flagged"]),
]


async def test_messages_search(world, env, mail, monkeypatch, capsys):
    # The same entry point as the relayctl process, called in this process to keep the table fast.
    from relay.cli.main import main

    for name, value in env.items():
        if name.startswith("RELAY_"):
            monkeypatch.setenv(name, value)
    for args, expected in SEARCHES:
        args = [str(mail[a]) if a.endswith("_pairing") else a for a in args]
        assert main(["messages", "search", *args, "--json"]) == 0
        found = json.loads(capsys.readouterr().out)
        participant_ids = sorted((r["id"] for r in found if r["kind"] == "participant"), reverse=True)
        assert participant_ids == sorted((mail[name] for name in expected), reverse=True), args
        assert all({"id", "status", "subject"} <= set(r) for r in found)


async def test_messages_search_refuses_bad_input_in_one_line(world, env, mail):
    bad_date = relayctl(env, "messages", "search", "--since", "yesterday", code=1)
    assert bad_date.stderr.strip() == "relayctl: error: not an ISO-8601 date or time: 'yesterday'"
    nobody = relayctl(env, "messages", "search", "--participant", "nobody@example.com", code=1)
    assert "no participant" in nobody.stderr and nobody.stderr.count("\n") == 1
    plain = relayctl(env, "messages", "search", "--text", "novel").stdout
    assert "Books" in plain and "Call me" not in plain
