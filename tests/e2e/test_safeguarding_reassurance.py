"""Reassurance over real SMTP: a mentee waiting past the first reminder hears, once, that the mentor was reminded."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.test_care import MENTEE, MENTOR, mentee_writes, pair, plain, tick_at, to  # noqa: F401 - fixture


def notes(arrived):
    return [m for m in to(arrived, MENTEE) if "has your message" in m["Subject"]]


async def test_one_kind_note_with_the_first_reminder_and_none_after(world, pair):
    mentor_alias, _ = pair
    start = world.clock.now()
    await mentee_writes(world, mentor_alias, "Question about physics")
    assert notes(await tick_at(world, start + timedelta(hours=47))) == []
    arrived = await tick_at(world, start + timedelta(hours=48, minutes=1))
    assert len(to(arrived, MENTOR)) == 1
    (note,) = notes(arrived)
    assert "Sam has your message: Question about physics" == note["Subject"]
    assert "reminder" in plain(note) and MENTOR not in note.as_string()
    assert notes(await tick_at(world, start + timedelta(hours=48, minutes=2))) == []
    assert notes(await tick_at(world, start + timedelta(hours=96, minutes=1))) == [], "not with the second reminder"


async def test_no_note_to_a_mentor_waiting_for_the_mentee(world, pair):
    _, mentee_alias = pair
    start = world.clock.now()
    assert (await world.send(MENTOR, mentee_alias, "How was school?", "Hi Jo!\n")).code == 250
    await world.flush()
    arrived = await tick_at(world, start + timedelta(days=5))
    assert [m for m in to(arrived, MENTOR) if "has your message" in m["Subject"]] == []
    assert notes(arrived) == []
