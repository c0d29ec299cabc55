"""Circles end to end: one address for a group, over real SMTP in and out."""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from email.utils import parseaddr

import pytest
from sqlmodel import select

from relay.store import circles, directory
from relay.store.tables import Delivery, Message

MENTOR = "sam.rivera@mail.example.com"
JO = "jo.kim@school.example.net"
ALEX = "alex.lee@home.example.org"
RIA = "ria.patel@student.example.edu"
STRANGER = "someone@elsewhere.example"
REAL = (MENTOR, JO, ALEX, RIA)


def make_circle(world, name="college-apps", handle="College applications", digest=()):
    now = world.clock.now()

    def work(session):
        program = directory.get_program(session, "default")
        circle = circles.add_circle(session, program, name, handle, now, lambda: secrets.token_bytes(16))
        for email in REAL:
            person = directory.require_participant(session, program, email)
            circles.join(session, circle, person, now, "digest" if email in digest else "each")
        return f"{circle.alias}@{world.domain}"

    return world.relay.db.run_sync(work)


@pytest.fixture
def people(world):
    aliases = {MENTOR: world.enrol(MENTOR, "mentor", "Sam (mentor)")}
    aliases[JO] = world.enrol(JO, "mentee", "Jo")
    aliases[ALEX] = world.enrol(ALEX, "mentee", "Alex")
    aliases[RIA] = world.enrol(RIA, "mentee", "Ria")
    world.pair(MENTOR, JO)
    return aliases


def modern(copy):
    return email.message_from_bytes(copy.data, policy=email.policy.default)


def rows(world, model):
    return world.relay.db.run_sync(lambda s: list(s.exec(select(model).order_by(model.id))))


def assert_masked(received, aliases):
    """No copy names anyone's real address; each is addressed to its own recipient only."""
    for copy in received:
        text = copy.data.decode("ascii").lower()
        for real in REAL:
            if real != copy.rcpt_tos[0]:
                assert real not in text, (real, copy.rcpt_tos)
                assert real.split("@")[1] not in text


async def test_a_mentee_message_reaches_the_other_three_and_the_mentor_masked(world, people):
    circle = make_circle(world)
    reply = await world.send(
        JO, circle, "Essay deadlines", f"Hi all, my other address is {JO} and Alex is at {ALEX}.\n", Cc=RIA
    )
    assert reply.code == 250 and "queued as M" in reply.text
    (message,) = rows(world, Message)
    assert message.kind == "circle" and message.circle_id is not None and message.pairing_id is None
    await world.flush()

    received = world.sink.received
    assert sorted(c.rcpt_tos[0] for c in received) == sorted([MENTOR, ALEX, RIA])
    for copy in received:
        msg = copy.message
        assert msg["From"] == f'"Jo" <{circle}>'
        assert parseaddr(msg["Reply-To"])[1] == circle
        assert msg["List-Post"] == f"<mailto:{circle}>"
        assert msg["List-Id"].endswith(f"<{circle.split('@')[0]}.{world.domain}>")
        assert msg["List-Unsubscribe"] == f"<mailto:relay@{world.domain}?subject=leave%20college-apps>"
        assert msg["Cc"] is None
        body = modern(copy).get_body(("plain",)).get_content()
        assert people[JO] in body and people[ALEX] in body
    assert_masked(received, people)
    assert {d.status for d in rows(world, Delivery)} == {"delivered"}


async def test_reply_all_from_an_ordinary_client_delivers_once_to_everyone(world, people):
    circle = make_circle(world)
    await world.send(JO, circle, "Essay deadlines", "When are the deadlines?\n")
    await world.flush()
    original = next(c.message for c in world.sink.received if c.rcpt_tos == [ALEX])
    world.sink.received.clear()

    # Alex's client: To the circle (Reply-To), Cc the writer's alias (From), threaded on Alex's copy.
    reply = await world.send(
        ALEX, [circle, people[JO]], "Re: Essay deadlines", "Mine is 1 December.\n",
        In_Reply_To=original["Message-ID"], References=original["Message-ID"],
    )
    assert reply.code == 250, reply
    assert len(rows(world, Message)) == 2
    await world.flush()
    counts = Counter(c.rcpt_tos[0] for c in world.sink.received)
    assert counts == Counter({JO: 1, MENTOR: 1, RIA: 1})
    to_jo = next(c.message for c in world.sink.received if c.rcpt_tos == [JO])
    assert to_jo["From"] == f'"Alex" <{circle}>'
    assert to_jo["In-Reply-To"] is not None  # Jo's own original id: the reply threads in Jo's mailbox
    assert_masked(world.sink.received, people)


async def test_reply_all_with_the_writer_named_first_is_one_circle_message(world, people):
    circle = make_circle(world)
    # Jo and Sam are paired, so Sam's client may list Jo's alias before the circle's.
    reply = await world.send(MENTOR, [people[JO], circle], "Re: deadlines", "Let's talk on Friday.\n")
    assert reply.code == 250, reply
    (message,) = rows(world, Message)
    assert message.kind == "circle"
    await world.flush()
    assert Counter(c.rcpt_tos[0] for c in world.sink.received) == Counter({JO: 1, ALEX: 1, RIA: 1})


@pytest.mark.parametrize("sender, expected", [(STRANGER, "not enrolled"), ("kim@other.example", "not a member")])
async def test_non_members_are_refused_at_rcpt(world, people, sender, expected):
    circle = make_circle(world)
    if sender != STRANGER:
        world.enrol(sender, "mentee", "Kim")
    reply = await world.send(sender, circle, "hello", "Can I join?\n")
    assert reply.code == 550 and "5.7.1" in reply.text and expected in reply.text, reply
    assert rows(world, Message) == []


async def test_unknown_and_closed_circles_answer_like_unknown_aliases(world, people):
    circle = make_circle(world)

    def close(session):
        row = circles.circle_by_alias(session, circle.split("@")[0])
        row.status = "closed"

    world.relay.db.run_sync(close)
    closed = await world.send(JO, circle, "hello", "Anyone?\n")
    unknown = await world.send(JO, f"no-such-alias-1234@{world.domain}", "hello", "Anyone?\n")
    assert closed.code == unknown.code == 550 and closed.text == unknown.text


async def test_a_held_circle_message_is_held_for_everyone_and_released_at_once(world, people):
    from relay.store import queue

    circle = make_circle(world)
    reply = await world.send(JO, circle, "call me", "Call me on +1 415 555 0134 tonight.\n")
    assert reply.code == 250 and "moderator" in reply.text, reply
    (message,) = rows(world, Message)
    forwards = [d for d in rows(world, Delivery) if d.kind == "forward"]
    assert len(forwards) == 3 and {d.status for d in forwards} == {"held"}
    await world.flush()
    assert not [c for c in world.sink.received if c.rcpt_tos[0] in REAL and c.message["List-Id"]]

    released = world.relay.db.run_sync(lambda s: queue.release_held(s, message.id, world.clock.now()))
    assert released == 3
    await world.flush()
    copies = [c for c in world.sink.received if c.message["List-Id"]]
    assert sorted(c.rcpt_tos[0] for c in copies) == sorted([MENTOR, ALEX, RIA])


def relayctl_tick(tmp_path, sqlite_url, at: str) -> str:
    """``relayctl scheduler tick --at`` as an operator (or cron) runs it, on the test relay's store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_DATA_DIR=str(tmp_path / "var"), RELAY_DATABASE_URL=sqlite_url, RELAY_DOMAIN="mentor.test",
               RELAY_SENDER_AUTH="none")
    result = subprocess.run([sys.executable, "-m", "relay.cli.main", "scheduler", "tick", "--at", at], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_a_digest_member_gets_nothing_now_and_one_masked_digest_next_morning(world, people, tmp_path, sqlite_url):
    circle = make_circle(world, digest=(RIA,))
    await world.send(JO, circle, "Essay deadlines", f"When are they? I am {JO}.\n")
    world.clock.advance(hours=2)
    await world.send(ALEX, circle, "Re: Essay deadlines", "Mine is 1 December.\n")
    await world.send(MENTOR, circle, "Reading list", "Three books for the winter.\n")
    await world.flush()
    assert RIA not in {c.rcpt_tos[0] for c in world.sink.received}
    world.sink.received.clear()

    relayctl_tick(tmp_path, sqlite_url, "2026-11-02T20:00:00Z")  # the same evening: not yet
    world.clock.set(datetime(2026, 11, 2, 20, 0, tzinfo=timezone.utc))
    await world.flush()
    assert world.sink.received == []
    for at in ("2026-11-03T07:30:00Z", "2026-11-03T07:45:00Z"):  # twice: still one digest
        relayctl_tick(tmp_path, sqlite_url, at)
        world.clock.set(datetime.fromisoformat(at.replace("Z", "+00:00")))
        await world.flush()
    digests = [c for c in world.sink.received if c.rcpt_tos == [RIA]]
    assert len(digests) == 1
    msg = modern(digests[0])
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for needle in ("When are they?", "Mine is 1 December.", "Three books for the winter.", "Jo", "Alex", "Sam (mentor)"):
        assert needle in text and needle in html
    assert text.index("When are they?") < text.index("Mine is 1 December.") < text.index("Three books")
    assert text.count("=== ") == 2  # two threads: the deadlines and the reading list
    assert people[JO] in text
    assert_masked(digests, people)


async def test_a_quiet_day_sends_no_digest(world, people):
    make_circle(world, digest=(RIA,))
    await world.relay.scheduler.tick(datetime(2026, 11, 3, 7, 30, tzinfo=timezone.utc))
    await world.flush()
    assert world.sink.received == []


@pytest.mark.parametrize("mentor_answers", [False, True])
async def test_an_unanswered_question_to_the_mentors_reminds_them_once(world, people, mentor_answers):
    from datetime import timedelta

    circle = make_circle(world)
    asked_at = world.clock.now()
    await world.send(ALEX, circle, "Interviews", "Mentors, how should I prepare for an interview?\n")
    await world.send(RIA, circle, "Thanks", "Thanks for the list, it was great.\n")  # no question: no reminder
    if mentor_answers:
        world.clock.advance(hours=3)
        await world.send(MENTOR, circle, "Re: Interviews", "Practise out loud with a friend.\n")
    await world.flush()
    world.sink.received.clear()

    for hours in (47, 49, 50):
        at = asked_at + timedelta(hours=hours)
        world.clock.set(at)
        await world.relay.scheduler.tick(at)
        await world.flush()
    reminders = [modern(c) for c in world.sink.received if "waiting" in str(c.message["Subject"])]
    if mentor_answers:
        assert reminders == []
        return
    assert len(reminders) == 1 and reminders[0]["To"].addresses[0].addr_spec == MENTOR
    text = reminders[0].get_body(("plain",)).get_content()
    assert "Alex" in text and "how should I prepare" in text
    assert_masked([c for c in world.sink.received if "waiting" in str(c.message["Subject"])], people)


@pytest.fixture
def relayctl(tmp_path, monkeypatch, capsys):
    """relayctl's own entry point in this process (test_cli runs it as a separate process)."""
    from relay.cli.main import main

    for name in [k for k in os.environ if k.startswith("RELAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RELAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("RELAY_DOMAIN", "mentor.test")
    monkeypatch.chdir(tmp_path)

    def run(*args, ok=True):
        code = main(list(args))
        out = capsys.readouterr()
        if ok:
            assert code == 0, out.err
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return run


def test_relayctl_circle_commands(relayctl):
    import json

    relayctl("init")
    relayctl("participant", "add", MENTOR, "--role", "mentor", "--handle", "Sam")
    relayctl("participant", "add", JO, "--role", "mentee", "--handle", "Jo")
    added = json.loads(relayctl("circle", "add", "college-apps", "--handle", "College apps", "--json").stdout)
    assert added["alias"].endswith("@mentor.test") and added["name"] == "college-apps"
    assert "Sam joined college-apps" in relayctl("circle", "join", "college-apps", MENTOR).stdout
    assert "(daily digest)" in relayctl("circle", "join", "college-apps", JO, "--digest").stdout
    listed = json.loads(relayctl("circle", "list", "--json").stdout)
    assert [(m["handle"], m["delivery"]) for m in listed[0]["members"]] == [("Sam", "each"), ("Jo", "digest")]
    assert MENTOR not in json.dumps(listed) and JO not in json.dumps(listed)  # members by handle
    assert "message by message" in relayctl("circle", "digest", "college-apps", JO, "off").stdout
    assert "Jo left college-apps" in relayctl("circle", "leave", "college-apps", JO).stdout
    assert "Sam" in relayctl("circle", "list").stdout

    for args, message in [
        (("circle", "add", "College Apps!", "--handle", "X"), "lower-case letters"),
        (("circle", "add", "college-apps", "--handle", "X"), "already has a circle"),
        (("circle", "join", "nope", MENTOR), "no circle named"),
        (("circle", "join", "college-apps", MENTOR), "already a member"),
        (("circle", "leave", "college-apps", JO), "not a member"),
        (("circle", "join", "college-apps", "nobody@example.com"), "not enrolled"),
    ]:
        result = relayctl(*args, ok=False)
        assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


async def test_the_list_unsubscribe_address_takes_a_member_out(world, people):
    circle = make_circle(world)
    await world.send(JO, circle, "Essay deadlines", "When are they?")
    await world.flush()
    header = modern(world.sink.to(ALEX)[0])["List-Unsubscribe"]
    target, _, query = header.strip("<>").removeprefix("mailto:").partition("?subject=")
    subject = query.replace("%20", " ")
    assert target == f"relay@{world.domain}" and subject == "leave college-apps"
    reply = await world.send(ALEX, target, subject, "", rcpts=[target])
    assert reply.code == 250
    await world.flush()
    assert "You have left college-apps" in modern(world.sink.to(ALEX)[-1]).get_body(("plain",)).get_content()
    before = len(world.sink.to(ALEX))
    await world.send(JO, circle, "Another one", "Anyone?")
    await world.flush()
    assert len(world.sink.to(ALEX)) == before  # no longer a member
    assert world.sink.to(RIA)[-1].message["Subject"] == "Another one"


async def test_a_question_reminder_waits_for_the_mentors_morning(world, people):
    from datetime import timedelta

    from relay.store.tables import Participant

    def tokyo(session):
        session.exec(select(Participant).where(Participant.email == MENTOR)).one().timezone = "Asia/Tokyo"

    world.relay.db.run_sync(tokyo)
    circle = make_circle(world)
    asked_at = world.clock.now()  # Monday 15:00 UTC; the 48-hour window ends at midnight in Tokyo
    await world.send(ALEX, circle, "Interviews", "Mentors, how should I prepare for an interview?\n")
    await world.flush()
    world.sink.received.clear()

    def reminders():
        return [c for c in world.sink.received if "waiting" in str(c.message["Subject"])]

    for hours in (49, 50, 55):  # 01:00, 02:00 and 07:00 in Tokyo: all inside its quiet hours
        at = asked_at + timedelta(hours=hours)
        world.clock.set(at)
        await world.relay.scheduler.tick(at)
        await world.flush()
        assert reminders() == [], hours
    morning = datetime(2026, 11, 4, 23, 5, tzinfo=timezone.utc)  # 08:05 in Tokyo
    world.clock.set(morning)
    await world.relay.scheduler.tick(morning)
    await world.flush()
    assert len(reminders()) == 1 and reminders()[0].rcpt_tos == [MENTOR]
