"""The relay core end to end: real SMTP in, the store, real SMTP out to a recording server."""

from __future__ import annotations

import json

import dkim
import pytest
from email.utils import make_msgid

from relay.outbound.dkim import public_txt_value
from relay.store import messages
from relay.store.tables import Delivery, Message
from sqlmodel import select

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
OTHER = "alex.lee@home.example.org"


@pytest.fixture
def people(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam (mentor)")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    return mentor, mentee


def rows(world, model):
    return world.relay.db.run_sync(lambda s: list(s.exec(select(model).order_by(model.id))))


def forwards(world):
    return [d for d in rows(world, Delivery) if d.kind == "forward"]


def dkim_dns(world):
    record = public_txt_value(world.relay.settings.dkim_key.read_bytes()).encode()
    name = f"{world.relay.settings.dkim_selector}._domainkey.{world.domain}.".encode()
    return lambda qname, timeout=5: record if qname == name else None


async def test_message_is_stored_before_it_is_forwarded_then_masked(world, people):
    mentor_alias, mentee_alias = people
    reply = await world.send(
        MENTEE, mentor_alias, "Question about essays",
        f"Hi Sam,\n\nmy other address is {MENTEE.upper()} and yours is <{MENTOR}>.\n",
        Cc=OTHER, Reply_To=MENTEE, X_Originating_IP="[203.0.113.9]", Disposition_Notification_To=MENTEE,
    )
    assert reply.code == 250 and "queued as M" in reply.text
    stored = rows(world, Message)
    assert [m.status for m in stored] == ["queued"]
    assert world.sink.received == []  # logged first: nothing left before the flush
    await world.flush()

    (copy,) = world.sink.received
    assert copy.rcpt_tos == [MENTOR]
    assert copy.mail_from.startswith("b-") and copy.mail_from.endswith("@" + world.domain)
    msg = copy.message
    assert msg["From"] == f'"Jo" <{mentee_alias}>'
    assert MENTOR in msg["To"]
    assert msg["Subject"] == "Question about essays"
    assert msg["Message-ID"].endswith(f"@{world.domain}>")
    for absent in ("Cc", "Reply-To", "X-Originating-IP", "Disposition-Notification-To", "Received", "In-Reply-To"):
        assert msg[absent] is None, absent
    text = copy.data.decode()
    assert MENTEE.lower() not in text.lower()
    assert "school.example.net" not in text
    body = msg.get_payload(decode=True) if not msg.is_multipart() else msg.get_payload(0).get_payload(decode=True)
    assert mentee_alias.encode() in body and mentor_alias.encode() in body
    assert [m.status for m in rows(world, Message)] == ["delivered"]
    (delivery,) = rows(world, Delivery)
    assert delivery.masked_message_id == msg["Message-ID"] and delivery.attempts == 1


async def test_copy_carries_a_dkim_signature_that_verifies(world, people):
    mentor_alias, _ = people
    await world.send(MENTEE, mentor_alias, "signed", "Body with ünïcode.\n")
    await world.flush()
    data = world.sink.received[0].data
    assert data.startswith(b"DKIM-Signature:")
    assert b"d=" + world.domain.encode() in data
    assert dkim.verify(data, dnsfunc=dkim_dns(world))


async def test_threading_maps_ids_across_a_reply_and_a_reply_to_the_reply(world, people):
    mentor_alias, mentee_alias = people
    first_id = make_msgid(domain="school.example.net")
    await world.send(MENTEE, mentor_alias, "Thread", "first", message_id=first_id)
    await world.flush()
    to_mentor = world.sink.received[-1].message
    masked_first = to_mentor["Message-ID"]

    reply_id = make_msgid(domain="mail.example.com")
    await world.send(MENTOR, mentee_alias, "Re: Thread", "second", message_id=reply_id,
                     In_Reply_To=masked_first, References=masked_first)
    await world.flush()
    to_mentee = world.sink.received[-1].message
    # The mentee's client knows their own original id, so the reply threads under it.
    assert to_mentee["In-Reply-To"] == first_id
    assert to_mentee["References"].split() == [first_id]
    assert "mail.example.com" not in str(to_mentee)

    third_id = make_msgid(domain="school.example.net")
    await world.send(MENTEE, mentor_alias, "Re: Thread", "third", message_id=third_id,
                     In_Reply_To=to_mentee["Message-ID"], References=f"{first_id} {to_mentee['Message-ID']}")
    await world.flush()
    back_to_mentor = world.sink.received[-1].message
    assert back_to_mentor["In-Reply-To"] == reply_id
    assert back_to_mentor["References"].split() == [masked_first, reply_id]
    assert "school.example.net" not in back_to_mentor.as_string()


async def test_one_message_to_two_aliases_is_one_row_and_two_deliveries(world):
    world.enrol(MENTOR, "mentor", "Sam")
    a = world.enrol(MENTEE, "mentee", "Jo")
    b = world.enrol(OTHER, "mentee", "Alex")
    world.pair(MENTOR, MENTEE)
    world.pair(MENTOR, OTHER)
    reply = await world.send(MENTOR, [a, b], "To you both", "Hello both")
    assert reply.code == 250
    assert len(rows(world, Message)) == 1
    assert sorted(d.rcpt_email for d in rows(world, Delivery)) == sorted([MENTEE, OTHER])
    await world.flush()
    assert sorted(r.rcpt_tos[0] for r in world.sink.received) == sorted([MENTEE, OTHER])
    for r in world.sink.received:  # neither mentee learns the other's real address
        assert OTHER not in r.data.decode() or r.rcpt_tos == [OTHER]
        assert MENTEE not in r.data.decode() or r.rcpt_tos == [MENTEE]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("foreign-domain", "554 5.7.1"),
        ("unknown-alias", "550 5.1.1"),
        ("not-enrolled", "550 5.7.1"),
        ("not-paired", "550 5.7.1"),
        ("from-mismatch", "550 5.7.1"),
    ],
)
async def test_refusals_have_clear_codes_and_store_nothing(world, people, case, expected):
    mentor_alias, mentee_alias = people
    world.enrol(OTHER, "mentee", "Alex")  # enrolled, but paired with nobody
    sender, to, extra = {
        "foreign-domain": (MENTEE, "someone@gmail.example", {}),
        "unknown-alias": (MENTEE, f"kind-otter-zzzzzzzzz@{world.domain}", {}),
        "not-enrolled": ("intruder@evil.example", mentor_alias, {}),
        "not-paired": (OTHER, mentor_alias, {}),
        "from-mismatch": (MENTEE, mentor_alias, {"from_header": "boss@corp.example"}),
    }[case]
    reply = await world.send(sender, to, "hi", "hi", **extra)
    assert f"{reply.code} {reply.text}".startswith(expected), reply
    assert rows(world, Message) == []


async def test_unknown_suspended_and_closed_aliases_answer_the_same_bytes(world, people):
    mentor_alias, mentee_alias = people
    extra = world.enrol("pat@home.example.org", "mentor", "Pat")
    world.pair("pat@home.example.org", MENTEE)
    from relay.store.tables import Participant, Pairing

    def suspend(session):
        row = session.exec(select(Participant).where(Participant.email == "pat@home.example.org")).one()
        row.status = "suspended"

    world.relay.db.run_sync(suspend)
    unknown = await world.send(MENTEE, f"brave-lynx-222222222@{world.domain}")
    suspended = await world.send(MENTEE, extra)

    def close(session):
        for p in session.exec(select(Pairing)):
            p.status = "closed"
        row = session.exec(select(Participant).where(Participant.email == MENTOR)).one()
        row.status = "left"

    world.relay.db.run_sync(close)
    closed = await world.send(MENTEE, mentor_alias)
    assert str(unknown) == str(suspended) == str(closed)
    assert unknown.code == 550 and unknown.text.startswith("5.1.1")


async def test_a_store_failure_before_the_commit_answers_451_and_keeps_nothing(world, people):
    mentor_alias, _ = people
    world.relay.writer.close()  # the store stops taking writes, as when the disk is gone
    reply = await world.send(MENTEE, mentor_alias, "lost?", "try me")
    assert reply.code == 451 and reply.text.startswith("4.3.0")
    assert "Error" not in reply.text
    assert rows(world, Message) == []


async def test_a_5xx_fails_the_delivery_and_a_4xx_defers_it(world, people):
    mentor_alias, _ = people
    world.sink.handler.script = ["550"]
    await world.send(MENTEE, mentor_alias, "one", "one")
    await world.flush()
    (first,) = forwards(world)
    assert first.status == "failed" and first.attempts == 1
    world.sink.handler.script = ["451"]
    await world.send(MENTEE, mentor_alias, "two", "two")
    await world.flush()
    second = forwards(world)[1]
    assert second.status == "deferred" and second.attempts == 1
    assert second.next_attempt_at > world.clock.now()
    world.clock.advance(minutes=10)
    await world.flush()
    assert forwards(world)[1].status == "delivered"
    assert [r.message["Subject"] for r in world.sink.to(MENTOR)] == ["two"]


async def test_store_keeps_original_envelope_and_verdict(world, people):
    mentor_alias, _ = people
    await world.send(MENTEE, mentor_alias, "keep me", "original body")
    (m,) = rows(world, Message)
    assert b"original body" in m.raw
    assert m.envelope_from == MENTEE and json.loads(m.envelope_rcpts) == [mentor_alias]
    assert m.verdict == "deliver" and m.sender_id is not None and m.pairing_id is not None
    assert world.relay.db.run_sync(lambda s: messages.count_pairing_messages(s, m.pairing_id)) == 1


async def test_messages_show_sent_gives_the_bytes_the_recipient_got(world, people, monkeypatch, capsys):
    mentor_alias, _ = people
    await world.send(MENTEE, mentor_alias, "What did you send?", f"Reach me at {MENTEE}.\n")
    await world.flush()
    (copy,) = world.sink.received
    (delivery,) = forwards(world)
    settings = world.relay.settings
    monkeypatch.setenv("RELAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RELAY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RELAY_DOMAIN", settings.domain)
    from relay.cli.main import main

    assert main(["messages", "show", str(delivery.message_id), "--sent", str(delivery.id)]) == 0
    shown = capsys.readouterr().out.encode()
    assert copy.data.startswith(b"DKIM-Signature:") and copy.data.endswith(shown)  # signed, otherwise identical
    assert MENTEE.encode() not in shown
    assert main(["messages", "show", str(delivery.message_id), "--sent", "999"]) == 1
    assert "has no copy 999" in capsys.readouterr().err
