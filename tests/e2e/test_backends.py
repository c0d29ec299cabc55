"""The whole relay on every configured store: SQLite always, PostgreSQL when RELAY_TEST_DATABASE_URL is set."""

from __future__ import annotations

from email.utils import make_msgid

from sqlmodel import select

from relay.store import queue
from relay.store.tables import Delivery, Message

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"


def rows(world, model):
    return world.relay.db.run_sync(lambda s: list(s.exec(select(model).order_by(model.id))))


async def test_a_conversation_with_a_hold_and_a_release(pg_world):
    world = pg_world
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)

    first_id = make_msgid(domain="school.example.net")
    assert (await world.send(MENTEE, mentor, "Hello", f"Hi! I am {MENTEE}.", message_id=first_id)).code == 250
    await world.flush()
    to_mentor = world.sink.received[-1].message
    assert to_mentor["From"] == f'"Jo" <{mentee}>' and MENTEE not in world.sink.received[-1].data.decode()

    held = await world.send(MENTOR, mentee, "Re: Hello", "Call me on +44 7911 123456", In_Reply_To=to_mentor["Message-ID"])
    assert held.code == 250 and "review" in held.text
    await world.flush()
    assert all(r.message["Subject"] != "Re: Hello" for r in world.sink.to(MENTEE))  # held: nothing yet
    message = rows(world, Message)[-1]
    assert message.status == "held"
    world.relay.db.run_sync(lambda s: queue.release_held(s, message.id, world.clock.now()))
    await world.flush()
    reply = [r for r in world.sink.to(MENTEE) if r.message["Subject"] == "Re: Hello"]
    assert len(reply) == 1 and reply[0].message["In-Reply-To"] == first_id
    assert {d.status for d in rows(world, Delivery) if d.kind == "forward"} == {"delivered"}
    assert [m.status for m in rows(world, Message)] == ["delivered", "delivered"]


async def test_a_refused_copy_fails_and_its_sender_is_told_in_the_same_commit(pg_world):
    world = pg_world
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    world.sink.handler.script = ["550"]
    assert (await world.send(MENTEE, mentor, "Lost?", "Hello")).code == 250
    await world.flush()
    deliveries = rows(world, Delivery)
    assert [(d.kind, d.status) for d in deliveries] == [("forward", "failed"), ("bounce-notice", "delivered")]
    (notice,) = world.sink.to(MENTEE)
    assert notice.mail_from in ("", "<>") and notice.message["Auto-Submitted"] == "auto-generated"  # the null sender
    assert MENTOR not in notice.data.decode() and "mailbox unavailable" not in notice.data.decode()
