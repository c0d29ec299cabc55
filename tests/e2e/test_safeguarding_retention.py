"""Retention over real SMTP: 40 days after closure with retention_days=30 the bodies are gone from the files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.test_mod_cli import env, relayctl  # noqa: F401 - fixture

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
SECRET = "the lighthouse keeper's cat is called Marmalade"
REPLY = "Marmalade is a splendid name for a lighthouse cat"


def store_bytes(world) -> bytes:
    path = Path(make_url(world.relay.settings.database_url).database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@pytest.fixture
async def closed(world, env):
    """A pairing that wrote twice and was closed (transcripts sent) on the system clock, as relayctl runs."""
    world.clock.set(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1))
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    assert (await world.send(MENTEE, mentor, "Guess what", f"Hi Sam,\n\n{SECRET}.\n\nJo\n")).code == 250
    world.clock.advance(hours=2)
    assert (await world.send(MENTOR, mentee, "Re: Guess what", f"Hi Jo,\n\n{REPLY}!\n\nSam\n")).code == 250
    await world.flush()
    relayctl(env, "program", "set", "--program", "default", "--setting", "retention_days=30")
    relayctl(env, "unpair", MENTOR, MENTEE, "--yes")  # today: closes now
    closed_at = datetime.now(timezone.utc)
    await tick(world, env, closed_at + timedelta(minutes=5))
    assert any(SECRET.encode() in r.data for r in world.sink.received if r.rcpt_tos == [MENTOR])
    return closed_at


async def tick(world, env, at: datetime) -> str:
    world.clock.set(at)
    out = relayctl(env, "scheduler", "tick", "--at", at.isoformat()).stdout
    await world.flush()
    return out


def listed(env):
    return json.loads(relayctl(env, "messages", "list", "--json").stdout)


async def test_bodies_are_purged_from_the_files_after_retention_and_the_record_stays(world, env, closed):
    assert SECRET.encode() in store_bytes(world)
    await tick(world, env, closed + timedelta(days=29))
    assert SECRET.encode() in store_bytes(world), "not before retention_days"
    before = [(m["id"], m["status"], m["received_at"]) for m in listed(env) if m["kind"] == "participant"]
    await tick(world, env, closed + timedelta(days=40))
    data = store_bytes(world)
    for text in (SECRET, REPLY, "Marmalade"):
        assert text.encode() not in data
    after = [(m["id"], m["status"], m["received_at"]) for m in listed(env) if m["kind"] == "participant"]
    assert after == before and len(after) == 2
    shown = relayctl(env, "messages", "show", str(after[0][0])).stdout
    assert f"purged on {(closed + timedelta(days=40)):%Y-%m-%d}" in shown


async def test_a_legal_hold_stops_the_purge_until_it_is_cleared(world, env, closed):
    refused = relayctl(env, "participant", "legal-hold", MENTEE, code=1)
    assert "needs --reason" in refused.stderr and "Traceback" not in refused.stderr
    out = relayctl(env, "participant", "legal-hold", MENTEE, "--reason", "records request from the county, case 42").stdout
    assert "under a legal hold" in out
    await tick(world, env, closed + timedelta(days=40))
    assert SECRET.encode() in store_bytes(world)
    assert "purged" not in relayctl(env, "messages", "show", str(listed(env)[-1]["id"])).stdout
    assert "cleared" in relayctl(env, "participant", "legal-hold", MENTEE, "--clear").stdout
    await tick(world, env, closed + timedelta(days=41))
    assert SECRET.encode() not in store_bytes(world)
