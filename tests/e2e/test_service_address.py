"""The service address: sharing real addresses by consent and approval, daily digests to staff, the report."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from relay.cli.main import main as relayctl
from relay.store.tables import Consent, Pairing
from tests.e2e.test_care import cli_env, command, mentee_writes, plain, tick_at, to

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
MOD = "mo.moderator@org.example"


@pytest.fixture
def pair(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    world.enrol(MOD, "moderator", "Mo")
    return mentor, mentee


async def test_share_my_address_needs_both_sides_and_a_moderator(world, pair, monkeypatch, tmp_path, capsys):
    _, arrived = await command(world, "share my address", sender=MENTOR)
    assert "If Jo agrees too" in plain(to(arrived, MENTOR)[0]) and to(arrived, MOD) == []
    _, arrived = await command(world, "share my address", sender=MENTEE)
    (request,) = to(arrived, MOD)
    assert "Introduction requested" in request["Subject"] and MENTEE not in request.as_string()
    assert world.relay.db.run_sync(lambda s: len(list(s.exec(select(Consent))))) == 2
    pairing_id = world.relay.db.run_sync(lambda s: s.exec(select(Pairing)).one().id)
    cli_env(world, monkeypatch)
    env = ["--env-file", str(tmp_path / "none.env")]
    assert await asyncio.to_thread(relayctl, env + ["introduce", str(pairing_id)]) == 0
    assert "introduced Sam and Jo" in capsys.readouterr().out
    world.clock.set(max(world.clock.now(), __import__("datetime").datetime.now(__import__("datetime").timezone.utc)))
    await world.flush()
    assert MENTEE in plain(to(world.sink.received, MENTOR)[-1]) and MENTOR in plain(to(world.sink.received, MENTEE)[-1])


async def test_daily_digest_only_when_there_is_news_and_the_response_report(world, pair, monkeypatch, tmp_path, capsys):
    mentor_alias, mentee_alias = pair
    enrolled = world.clock.now()  # 15:00 UTC, after today's digest hour (08:00)
    assert to(await tick_at(world, enrolled), MOD) == []  # not the minute a moderator is enrolled
    start = enrolled.replace(hour=8, minute=1) + timedelta(days=1)  # the next morning, at the digest hour
    arrived = await tick_at(world, start)
    (digest,) = to(arrived, MOD)  # the new pairing is news
    assert "Daily digest" in digest["Subject"] and "Sam and Jo" in plain(digest)
    assert await tick_at(world, start + timedelta(hours=1)) == []  # once a day
    assert to(await tick_at(world, start + timedelta(days=1, hours=2)), MOD) == []  # nothing new: nothing sent

    await mentee_writes(world, mentor_alias)
    world.clock.advance(hours=5)
    await world.send(MENTOR, mentee_alias, "Re: essays", "Sure!\n")
    await world.flush()
    cli_env(world, monkeypatch)
    assert await asyncio.to_thread(relayctl, ["--env-file", str(tmp_path / "none.env"), "report", "responses", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["mentor"] == "Sam" and row["answered"] == 1 and row["median_hours"] == 5.0 and row["unanswered"] == 0
