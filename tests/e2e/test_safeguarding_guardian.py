"""Guardians' copies over real SMTP: a full copy masks the mentor; a summary has counts and dates, no content."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from tests.e2e.test_mod_cli import env, relayctl  # noqa: F401 - fixture
from tests.e2e.test_moderation import parsed, text_of, to

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
GUARDIAN = "kim.family@home.example.net"


@pytest.fixture
async def pair(world, env):
    world.clock.set(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1))
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    out = relayctl(env, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo", "--guardian", GUARDIAN).stdout
    world.pair(MENTOR, MENTEE)
    return mentor, out.strip().splitlines()[-1]


async def test_a_full_copy_of_each_message_carries_no_mentor_real_address(world, env, pair):
    mentor, mentee = pair
    relayctl(env, "program", "set", "--setting", 'guardian_copy="full"')
    assert (await world.send(MENTOR, mentee, "Welcome", "Hi Jo, I'm Sam, your mentor. Write any time!\n",
                             from_header=f"Sam Rivera <{MENTOR}>")).code == 250
    assert (await world.send(MENTEE, mentor, "Re: Welcome", "Thanks Sam! Mum says hello.\n")).code == 250
    await world.flush()
    copies = to(world, GUARDIAN)
    assert len(copies) == 2
    first = next(parsed(r) for r in copies if b"your mentor" in r.data)  # copies may arrive in either order
    assert first["From"].addresses[0].addr_spec == mentor
    assert first["From"].addresses[0].display_name == "Sam" and first["X-Mentor-Relay-Copy"] == "guardian"
    assert "I'm Sam, your mentor" in text_of(first)
    for received in copies:
        data = received.data.decode()
        for real in (MENTOR, "mail.example.com", "Rivera", MENTEE):
            assert real not in data
    second = next(parsed(r) for r in copies if b"Mum says hello" in r.data)
    assert second["From"].addresses[0].display_name == "Jo"


async def test_a_weekly_summary_counts_without_content(world, env, pair):
    mentor, mentee = pair
    relayctl(env, "program", "set", "--setting", 'guardian_copy="summary"')
    assert (await world.send(MENTOR, mentee, "Welcome", "Hi Jo, a private thought.\n")).code == 250
    assert (await world.send(MENTEE, mentor, "Re: Welcome", "Thanks Sam!\n")).code == 250
    await world.flush()
    assert to(world, GUARDIAN) == []
    now = world.clock.now()
    # The summary of the week that holds the messages goes out at the first Monday 08:00 UTC after
    # them: later today when today is a Monday before eight, otherwise next week's.
    monday = datetime.combine((now + timedelta(days=-now.weekday() % 7)).date(), time(8, 1), tzinfo=timezone.utc)
    if monday <= now:
        monday += timedelta(days=7)
    world.clock.set(monday)
    relayctl(env, "scheduler", "tick", "--at", monday.isoformat())
    await world.flush()
    (summary,) = [parsed(r) for r in to(world, GUARDIAN)]
    body = text_of(summary)
    assert "This week in Jo's mentoring" in summary["Subject"]
    assert "Messages Jo wrote:     1" in body and "Messages Jo received:  1" in body
    assert f"{now:%Y-%m-%d}" in body and "private thought" not in body and MENTOR not in str(summary)
