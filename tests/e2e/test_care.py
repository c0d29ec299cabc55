"""Care end to end: reminders by an injected clock and by ``relayctl scheduler tick --at``, away mode by email."""

from __future__ import annotations

import asyncio

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from relay.cli.main import main as relayctl
from relay.store.tables import Job, Participant, Program, Reminder

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
COORD = "pat.coordinator@org.example"


@pytest.fixture
async def pair(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    world.enrol(COORD, "coordinator", "Pat")
    return mentor, mentee


async def mentee_writes(world, mentor_alias, subject="Can we talk about essays?"):
    reply = await world.send(MENTEE, mentor_alias, subject, "Hi Sam, I am stuck on my essay.\n")
    assert reply.code == 250, reply
    await world.flush()
    world.sink.received.clear()


async def tick_at(world, at: datetime) -> list:
    """Move the clock, run one tick, deliver; what arrived."""
    world.clock.set(at)
    await world.relay.scheduler.tick()
    await world.flush()
    arrived = list(world.sink.received)
    world.sink.received.clear()
    return arrived


def plain(msg) -> str:
    """Every text/plain part, decoded."""
    parts = msg.walk() if msg.is_multipart() else [msg]
    return "\n".join(p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
                     for p in parts if p.get_content_type() == "text/plain" and not p.get_filename())


def to(arrived, email):
    return [r.message for r in arrived if email in r.rcpt_tos]


def reminders(world):
    return world.relay.db.run_sync(lambda s: [(r.level, r.recipient_id) for r in s.exec(select(Reminder).order_by(Reminder.id))])


async def test_reminder_at_window_then_second_then_escalation(world, pair):
    mentor_alias, mentee_alias = pair
    start = world.clock.now()  # Monday 15:00 UTC; the program's window is 48 h
    await mentee_writes(world, mentor_alias)
    assert to(await tick_at(world, start + timedelta(hours=47)), MENTOR) == []
    first = to(await tick_at(world, start + timedelta(hours=48, minutes=1)), MENTOR)
    assert len(first) == 1
    msg = first[0]
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "Jo is waiting for your reply" in msg["Subject"]
    body = plain(msg)
    assert "Can we talk about essays?" in body and "2 days" in body and mentee_alias in body
    assert MENTEE not in msg.as_string()
    # The same moment again sends nothing twice.
    assert await tick_at(world, start + timedelta(hours=48, minutes=2)) == []
    second = to(await tick_at(world, start + timedelta(hours=96, minutes=1)), MENTOR)
    assert len(second) == 1 and "second reminder" in second[0]["Subject"]
    arrived = await tick_at(world, start + timedelta(hours=144, minutes=1))
    assert to(arrived, MENTOR) == []
    (escalation,) = [m for m in to(arrived, COORD) if "has waited" in m["Subject"]]
    assert "Sam" in escalation["Subject"] and MENTEE not in escalation.as_string()
    assert [level for level, _ in reminders(world)] == [1, 2, 3]
    assert to(await tick_at(world, start + timedelta(days=20)), MENTOR) == []


async def test_no_reminder_after_the_mentor_replies(world, pair):
    mentor_alias, mentee_alias = pair
    start = world.clock.now()
    await mentee_writes(world, mentor_alias)
    world.clock.set(start + timedelta(hours=30))
    assert (await world.send(MENTOR, mentee_alias, "Re: essays", "Happy to help, Jo!\n")).code == 250
    await world.flush()
    world.sink.received.clear()
    assert to(await tick_at(world, start + timedelta(hours=49)), MENTOR) == []
    assert to(await tick_at(world, start + timedelta(hours=200)), COORD) == [] or all(
        "has waited" not in m["Subject"] for m in to(await tick_at(world, start + timedelta(hours=201)), COORD))
    assert reminders(world) == []


async def test_quiet_hours_hold_the_reminder_until_morning(world, pair):
    mentor_alias, _ = pair
    world.relay.db.run_sync(lambda s: setattr(
        s.exec(select(Participant).where(Participant.email == MENTOR)).one(), "timezone", "America/New_York"))
    world.clock.set(datetime(2026, 11, 3, 3, 30, tzinfo=timezone.utc))  # 22:30 in New York
    await mentee_writes(world, mentor_alias)
    # 48 h later it is 22:30 in New York: quiet until 08:00 local (13:00 UTC).
    assert to(await tick_at(world, datetime(2026, 11, 5, 3, 31, tzinfo=timezone.utc)), MENTOR) == []
    assert to(await tick_at(world, datetime(2026, 11, 5, 12, 59, tzinfo=timezone.utc)), MENTOR) == []
    assert len(to(await tick_at(world, datetime(2026, 11, 5, 13, 0, tzinfo=timezone.utc)), MENTOR)) == 1


async def command(world, line: str, sender=MENTOR):
    reply = await world.send(sender, f"relay@{world.domain}", line, "\n")
    assert reply.code == 250, reply
    await world.flush()
    arrived = list(world.sink.received)
    world.sink.received.clear()
    return reply, arrived


async def test_away_by_email_pauses_reminders_and_tells_the_mentee_once(world, pair):
    mentor_alias, _ = pair
    start = world.clock.now()
    _, arrived = await command(world, "away until 2026-11-10 visiting family")
    (confirmation,) = to(arrived, MENTOR)
    assert confirmation["Auto-Submitted"] == "auto-generated" and "away" in confirmation["Subject"].lower()
    assert "2026-11-10" in plain(confirmation)
    assert (await world.send(MENTEE, mentor_alias, "Essay", "Hello!\n")).code == 250
    await world.flush()
    notes = [m for m in to(world.sink.received, MENTEE) if "away until" in m["Subject"]]
    assert len(notes) == 1 and "Sam" in notes[0]["Subject"] and MENTOR not in notes[0].as_string()
    world.sink.received.clear()
    assert (await world.send(MENTEE, mentor_alias, "Essay again", "Hello?\n")).code == 250
    await world.flush()
    assert [m for m in to(world.sink.received, MENTEE) if "away until" in m["Subject"]] == []
    world.sink.received.clear()
    # Away until the end of 10 November: no reminder inside the absence, one after a window past it.
    assert to(await tick_at(world, start + timedelta(days=6)), MENTOR) == []
    assert to(await tick_at(world, datetime(2026, 11, 12, 23, 0, tzinfo=timezone.utc)), MENTOR) == []
    assert len(to(await tick_at(world, datetime(2026, 11, 13, 9, 0, tzinfo=timezone.utc)), MENTOR)) == 1


async def test_back_status_help_and_refusals(world, pair):
    await command(world, "away for 2 weeks")
    _, arrived = await command(world, "back")
    assert "Welcome back" in to(arrived, MENTOR)[0]["Subject"]
    assert world.relay.db.run_sync(lambda s: s.exec(select(Participant).where(Participant.email == MENTOR)).one().away_until) is None
    _, arrived = await command(world, "status")
    assert "Paired with Jo" in plain(to(arrived, MENTOR)[0])
    _, arrived = await command(world, "please make me a sandwich")
    assert "did not understand" in to(arrived, MENTOR)[0]["Subject"]
    stranger = await world.send("stranger@else.example", f"help@{world.domain}", "help", "\n")
    assert stranger.code == 550 and "5.7.1" in stranger.text
    forged = await world.send(MENTOR, f"relay@{world.domain}", "status", "\n", from_header="someone@else.example")
    assert forged.code == 550
    await world.flush()
    assert not any("someone@else.example" in r.rcpt_tos or "stranger@else.example" in r.rcpt_tos for r in world.sink.received)


def cli_env(world, monkeypatch):
    settings = world.relay.settings
    for key in list(__import__("os").environ):
        if key.startswith("RELAY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("RELAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RELAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAY_DOMAIN", settings.domain)
    monkeypatch.setenv("RELAY_DKIM_KEY", str(settings.dkim_key))
    (settings.data_dir.parent / "none.env").write_text("")  # the tests name an empty settings file


async def test_relayctl_scheduler_tick_at_delivers_the_masked_reminder(world, pair, monkeypatch, tmp_path, capsys):
    mentor_alias, mentee_alias = pair
    await mentee_writes(world, mentor_alias, "Question about physics")
    cli_env(world, monkeypatch)
    at = world.clock.now() + timedelta(hours=49)
    assert await asyncio.to_thread(relayctl, ["--env-file", str(tmp_path / "none.env"), "scheduler", "tick", "--at", at.isoformat()]) == 0
    assert "ran" in capsys.readouterr().out
    world.clock.set(at)
    await world.flush()
    (reminder,) = to(world.sink.received, MENTOR)
    assert reminder["Auto-Submitted"] == "auto-generated"
    assert reminder["From"].endswith(f"@{world.domain}>") and "Jo" in reminder["Subject"]
    text = reminder.as_string()
    assert "Question about physics" in plain(reminder)
    assert MENTEE not in text and "school.example.net" not in text and mentee_alias in text
    assert await asyncio.to_thread(relayctl, ["--env-file", str(tmp_path / "none.env"), "scheduler", "tick", "--at", at.isoformat()]) == 0
    world.sink.received.clear()
    await world.flush()
    assert to(world.sink.received, MENTOR) == []
