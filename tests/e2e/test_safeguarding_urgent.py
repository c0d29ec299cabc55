"""Urgent alerts over real SMTP: a coordinator at once, again every urgent_ack_minutes to all staff, until ack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from relay.store.tables import ModerationAction, UrgentAlert
from tests.e2e.test_mod_cli import env, relayctl  # noqa: F401 - fixture
from tests.e2e.test_moderation import answer, last_to, parsed, text_of, to

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
COORDINATOR = "pat.coordinator@staff.example.org"
MODERATOR = "riley.moderator@staff.example.org"
URGENT_TEXT = "Hi Sam,\n\nsome days I just want to die and nobody at home listens.\n\nJo\n"


@pytest.fixture
def people(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.enrol(COORDINATOR, "coordinator", "Pat")
    world.enrol(MODERATOR, "moderator", "Riley")
    world.pair(MENTOR, MENTEE)
    return mentor


def alerts_to(world, address):
    return [parsed(r) for r in to(world, address) if parsed(r)["Reply-To"] and parsed(r)["Reply-To"].startswith("safe-")]


async def tick(world, env, minutes: int):
    world.clock.advance(minutes=minutes)
    out = relayctl(env, "scheduler", "tick", "--at", world.clock.now().isoformat()).stdout
    await world.flush()
    return out


async def test_urgent_alert_is_resent_until_a_coordinator_acks(world, people, env):
    reply = await world.send(MENTEE, people, "today", URGENT_TEXT)
    assert reply.code == 250
    await world.flush()
    # At once, and whatever the hour: the coordinator, with a signed reply address; the mentor still gets the message.
    (first,) = alerts_to(world, COORDINATOR)
    assert first["Subject"].startswith("URGENT: M") and "needs a person now" in first["Subject"]
    assert first["Reply-To"].endswith("@" + world.domain)
    body = text_of(first)
    assert ">>want to die<<" in body and "ack" in body and "every 30 minutes" in body
    data = to(world, COORDINATOR)[-1].data.decode()
    for real in (MENTOR, MENTEE, "school.example.net", "mail.example.com"):
        assert real not in data
    assert alerts_to(world, MODERATOR) == []
    assert to(world, MENTOR), "an urgent message is flagged, not held"

    # Not yet due: nothing more.
    await tick(world, env, 29)
    assert len(alerts_to(world, COORDINATOR)) == 1
    # urgent_ack_minutes later: again, to coordinators and moderators.
    await tick(world, env, 1)
    assert len(alerts_to(world, COORDINATOR)) == 2 and len(alerts_to(world, MODERATOR)) == 1
    assert "alert 2, not yet acknowledged" in alerts_to(world, MODERATOR)[-1]["Subject"]
    await tick(world, env, 30)
    assert len(alerts_to(world, COORDINATOR)) == 3 and len(alerts_to(world, MODERATOR)) == 2

    # The moderator acknowledges from their own alert: recorded with who, and the rounds stop.
    assert (await answer(world, alerts_to(world, MODERATOR)[-1], "ack - calling the family now", MODERATOR)).code == 250
    await world.flush()
    assert "Acknowledged" in last_to(world, MODERATOR)["Subject"]
    (alert,) = world.relay.db.run_sync(lambda s: list(s.exec(select(UrgentAlert))))
    assert alert.acked_at == world.clock.now() and alert.rounds == 3 and alert.acked_via == "email"
    acks = world.relay.db.run_sync(lambda s: [(a.action, a.actor) for a in s.exec(
        select(ModerationAction).where(ModerationAction.action == "ack"))])
    assert acks == [("ack", MODERATOR)]
    for _ in range(3):
        await tick(world, env, 30)
    assert len(alerts_to(world, COORDINATOR)) == 3 and len(alerts_to(world, MODERATOR)) == 2
    # A second ack is told who took it; nothing changes.
    assert (await answer(world, alerts_to(world, COORDINATOR)[-1], "ack", COORDINATOR)).code == 250
    await world.flush()
    assert "already acknowledged by Riley" in text_of(last_to(world, COORDINATOR))


async def test_the_period_is_the_programs_urgent_ack_minutes(world, people, env):
    relayctl(env, "program", "set", "--program", "default", "--setting", "urgent_ack_minutes=10")
    await world.send(MENTEE, people, "today", URGENT_TEXT)
    await world.flush()
    assert "every 10 minutes" in text_of(alerts_to(world, COORDINATOR)[0])
    await tick(world, env, 10)
    assert len(alerts_to(world, COORDINATOR)) == 2


async def test_only_the_addressee_can_ack_and_forged_addresses_are_unknown(world, people):
    await world.send(MENTEE, people, "today", URGENT_TEXT)
    await world.flush()
    alert = alerts_to(world, COORDINATOR)[0]
    refused = await answer(world, alert, "ack", MENTOR)
    assert refused.code == 550 and "5.7.1" in refused.text
    forged = await world.send(COORDINATOR, f"safe-{'a' * 32}@{world.domain}", "ack", "ack")
    assert forged.code == 550 and "5.1.1" in forged.text
    (row,) = world.relay.db.run_sync(lambda s: list(s.exec(select(UrgentAlert))))
    assert row.acked_at is None


async def test_an_ordinary_message_raises_no_alert(world, people):
    await world.send(MENTEE, people, "essay", "Hi Sam,\n\nthis homework is killing me, but I finished the essay!\n")
    await world.flush()
    assert alerts_to(world, COORDINATOR) == []
    assert world.relay.db.run_sync(lambda s: list(s.exec(select(UrgentAlert)))) == []
