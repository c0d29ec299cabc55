"""Guardian consent over real SMTP: requested, messages held and the writer told, released by a "yes" reply."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlmodel import select

from relay.store.tables import Guardian, Pairing
from tests.e2e.test_mod_cli import env, relayctl  # noqa: F401 - fixture
from tests.e2e.test_moderation import last_to, text_of, to

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
GUARDIAN = "kim.family@home.example.net"


@pytest.fixture
async def waiting(world, env):
    """A consent-required program, a mentee added with a guardian by relayctl, and a pairing (system clock)."""
    world.clock.set(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1))
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    relayctl(env, "program", "set", "--setting", 'guardian_consent="required"')
    out = relayctl(env, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo", "--guardian", GUARDIAN).stdout
    mentee = out.strip().splitlines()[-1]
    world.pair(MENTOR, MENTEE)
    await world.flush()
    return mentor, mentee


async def guardian_answers(world, request, text: str, sender: str = GUARDIAN):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, request["Reply-To"], "Re: " + request["Subject"]
    msg["Message-ID"] = make_msgid(domain="home.example.net")
    msg["In-Reply-To"] = request["Message-ID"]
    msg.set_content(f"{text}\n\nOn Mon, mentor-relay wrote:\n> Hello,\n> {MENTEE}\n")
    return await world.send(sender, request["Reply-To"], raw=msg.as_bytes(), rcpts=[request["Reply-To"]])


async def test_consent_is_requested_messages_held_and_yes_releases_them(world, env, waiting):
    mentor, mentee = waiting
    request = last_to(world, GUARDIAN)
    assert "Your consent, please: Jo" in request["Subject"] and request["Reply-To"].startswith("safe-")
    body = text_of(request)
    assert "kept while the mentoring lasts and for 365 days" in body and "yes" in body
    assert MENTOR not in str(request) and MENTEE not in str(request)

    assert (await world.send(MENTEE, mentor, "Hello Sam", "Hi Sam, I'm Jo!\n")).code == 250
    assert (await world.send(MENTOR, mentee, "Welcome", "Hi Jo, welcome to the program.\n")).code == 250
    await world.flush()
    assert [r for r in to(world, MENTOR) if b"I'm Jo" in r.data] == []
    assert [r for r in to(world, MENTEE) if b"welcome to the program" in r.data] == []
    assert "safe and waiting" in last_to(world, MENTEE)["Subject"]
    assert "safe and waiting" in last_to(world, MENTOR)["Subject"]
    assert "consent   requested" in relayctl(env, "participant", "consent", MENTEE).stdout

    assert (await guardian_answers(world, request, "Yes, I agree.")).code == 250
    await world.flush()
    assert [r for r in to(world, MENTOR) if b"I'm Jo" in r.data]
    assert [r for r in to(world, MENTEE) if b"welcome to the program" in r.data]
    assert "consent for Jo is recorded" in last_to(world, GUARDIAN)["Subject"]
    shown = relayctl(env, "participant", "consent", MENTEE).stdout
    assert "consent   given" in shown and f"by {GUARDIAN} (email, <" in shown
    # From now on messages flow; the used address does not record a second answer.
    assert (await world.send(MENTEE, mentor, "Again", "Second message\n")).code == 250
    await world.flush()
    assert [r for r in to(world, MENTOR) if b"Second message" in r.data]
    assert (await guardian_answers(world, request, "no")).code == 250
    await world.flush()
    assert "already recorded" in text_of(last_to(world, GUARDIAN))
    (row,) = world.relay.db.run_sync(lambda s: list(s.exec(select(Guardian))))
    assert row.consent == "given"


async def test_no_closes_the_pairing_kindly_and_strangers_are_refused(world, env, waiting):
    request = last_to(world, GUARDIAN)
    stranger = await guardian_answers(world, request, "yes", sender="someone@else.example")
    assert stranger.code == 550 and "5.7.1" in stranger.text
    assert (await guardian_answers(world, request, "No, thank you")).code == 250
    await world.flush()
    assert "answer for Jo is recorded" in last_to(world, GUARDIAN)["Subject"]
    (pairing,) = world.relay.db.run_sync(lambda s: list(s.exec(select(Pairing))))
    assert pairing.status == "closed"


async def test_consent_given_on_paper_is_recorded_from_the_terminal(world, env, waiting):
    mentor, _ = waiting
    assert (await world.send(MENTEE, mentor, "Hello Sam", "Hi Sam, I'm Jo!\n")).code == 250
    out = relayctl(env, "participant", "consent", MENTEE, "--record").stdout
    assert "consent given on paper" in out and "1 held message(s) released" in out and "(paper)" in out
    world.clock.set(datetime.now(timezone.utc) + timedelta(minutes=2))
    await world.flush()
    assert [r for r in to(world, MENTOR) if b"I'm Jo" in r.data]


async def test_a_moderators_approval_does_not_outrun_the_familys_consent(world, env, waiting):
    mentor, _ = waiting
    world.enrol("riley.moderator@staff.example.org", "moderator", "Riley")
    assert (await world.send(MENTEE, mentor, "Call me", "Hi Sam, text me on 415-867-5309.\n")).code == 250
    message_id = int(relayctl(env, "mod", "queue", "--json").stdout.split('"id": ')[1].split(",")[0])
    out = relayctl(env, "mod", "approve", str(message_id)).stdout
    assert "delivered once the family's consent is recorded" in out
    world.clock.set(datetime.now(timezone.utc) + timedelta(minutes=2))
    await world.flush()
    assert [r for r in to(world, MENTOR) if b"415-867-5309" in r.data] == []
    assert (await guardian_answers(world, last_to(world, GUARDIAN), "yes")).code == 250
    await world.flush()
    assert [r for r in to(world, MENTOR) if b"415-867-5309" in r.data]


async def test_a_guardian_added_before_consent_was_required_is_asked_at_the_next_tick(world, env):
    world.clock.set(datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1))
    relayctl(env, "program", "add", "default")  # programs are created explicitly
    relayctl(env, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo", "--guardian", GUARDIAN)
    await world.flush()
    assert to(world, GUARDIAN) == []
    relayctl(env, "program", "set", "--setting", 'guardian_consent="required"')
    for _ in range(2):
        relayctl(env, "scheduler", "tick", "--at", world.clock.now().isoformat())
        await world.flush()
    (request,) = to(world, GUARDIAN)
    assert b"Your consent, please" in request.data
