"""A proper goodbye: notices ahead, transcripts with aliases and handles only, a kind answer afterwards."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlmodel import select

from relay.cli.main import main as relayctl
from relay.clock import SystemClock
from relay.store.tables import Message, Pairing
from tests.e2e.test_care import cli_env, plain, tick_at, to

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"


@pytest.fixture
def pair(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    return mentor, mentee


async def converse(world, mentor_alias, mentee_alias):
    await world.send(MENTEE, mentor_alias, "Hello Sam", f"Hi! My other address is {MENTEE}.\nFrom here on: thanks.\n",
                     from_header=f"Jo Kim <{MENTEE}>")
    world.clock.advance(hours=2)
    await world.send(MENTOR, mentee_alias, "Re: Hello Sam", f"Hi Jo, write to me at {MENTOR} anytime.\n",
                     from_header=f"Samuel Rivera <{MENTOR}>")
    await world.flush()
    world.sink.received.clear()


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc)


async def test_program_close_notices_transcripts_and_the_kind_answer(world, pair, monkeypatch, tmp_path):
    # relayctl judges the closing day against the system clock, so the conversation
    # happens "today" by that clock and the closing day is four weeks after it.
    today = SystemClock().now().date()
    world.clock.set(at(today, 12, 0))
    closes = today + timedelta(days=28)
    mentor_alias, mentee_alias = pair
    await converse(world, mentor_alias, mentee_alias)
    cli_env(world, monkeypatch)
    env = ["--env-file", str(tmp_path / "none.env")]
    assert await asyncio.to_thread(relayctl, env + ["program", "close", "--on", closes.isoformat()]) == 0

    # 14 days ahead (10:00 in the program's zone, UTC) both are told.
    notices = await tick_at(world, at(closes - timedelta(days=14), 10, 1))
    assert len(to(notices, MENTOR)) == 1 and len(to(notices, MENTEE)) == 1
    assert f"closes on {closes.isoformat()}" in to(notices, MENTEE)[0]["Subject"]
    assert await tick_at(world, at(closes - timedelta(days=14), 10, 2)) == []
    three = await tick_at(world, at(closes - timedelta(days=3), 10, 1))
    assert "3 days" in plain(to(three, MENTOR)[0])

    # On the day: each side receives the transcript, with aliases and handles only.
    closing = await tick_at(world, at(closes, 9, 1))
    for person in (MENTOR, MENTEE):
        (transcript,) = [m for m in to(closing, person) if "a copy to keep" in m["Subject"]]
        raw = transcript.as_string().replace(transcript["To"], "")  # the envelope's own To is the one real address
        for secret in (MENTOR, MENTEE, "Samuel Rivera", "Jo Kim", "school.example.net", "mail.example.com"):
            assert secret not in raw, (person, secret)
        parsed = email.message_from_string(raw, policy=email.policy.default)
        files = {p.get_filename(): p.get_content() for p in parsed.iter_attachments()}
        assert set(files) == {"conversation.txt", "conversation.mbox"}
        text, mbox = files["conversation.txt"], files["conversation.mbox"]
        mbox = mbox.decode() if isinstance(mbox, bytes) else mbox
        assert mentor_alias in text and mentee_alias in text and "Hi Jo" in text and "Hi! My other" in text
        assert mbox.startswith("From relay ") and mbox.count("\nFrom relay ") == 1
        assert ">From here on" in mbox
        for secret in (MENTOR, MENTEE, "Samuel Rivera", "Jo Kim"):
            assert secret not in text and secret not in mbox
    assert world.relay.db.run_sync(lambda s: s.exec(select(Pairing)).one().status) == "closed"

    # Afterwards the former partner gets a kind automatic answer, and nothing is forwarded.
    reply = await world.send(MENTEE, mentor_alias, "Miss you", "Are you there?\n")
    assert reply.code == 250 and "ended" in reply.text
    await world.flush()
    assert to(world.sink.received, MENTOR) == []
    (answer,) = to(world.sink.received, MENTEE)
    assert answer["Auto-Submitted"] == "auto-generated" and closes.isoformat() in plain(answer)
    assert world.relay.db.run_sync(lambda s: s.exec(select(Message).order_by(Message.id.desc())).first().status) == "stored"
    # Strangers still get the ordinary refusal.
    stranger = await world.send("who@else.example", mentor_alias, "hi", "hi\n")
    assert stranger.code == 550


async def test_unpair_closes_today_through_the_same_path(world, pair, monkeypatch, tmp_path, capsys):
    mentor_alias, mentee_alias = pair
    await converse(world, mentor_alias, mentee_alias)
    cli_env(world, monkeypatch)
    assert await asyncio.to_thread(relayctl, ["--env-file", str(tmp_path / "none.env"), "unpair", MENTOR, MENTEE, "--yes"]) == 0
    assert "closed the pairing" in capsys.readouterr().out
    # relayctl runs on the system clock: tick after whichever is later.
    arrived = await tick_at(world, max(world.clock.now(), datetime.now(timezone.utc)) + timedelta(minutes=1))
    assert len([m for m in to(arrived, MENTEE) if "a copy to keep" in m["Subject"]]) == 1
    assert len([m for m in to(arrived, MENTOR) if "a copy to keep" in m["Subject"]]) == 1
