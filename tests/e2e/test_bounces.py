"""Bounce addresses end to end: DSNs, out-of-office replies, read receipts, forgeries and loops."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlmodel import select

from relay.addresses import make_bounce_local_part
from relay.store.tables import Delivery, InboundEvent, Message
from relay.smtp import replies

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
REMOTE = "mailer-daemon@mail.example.com"


@pytest.fixture
async def sent(world):
    """A mentee's message forwarded to the mentor; returns (bounce address the sink saw, mentor alias)."""
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    assert (await world.send(MENTEE, mentor, "Homework help", "Can we talk on Tuesday?")).code == 250
    await world.flush()
    (copy,) = world.sink.received
    world.sink.handler.received.clear()
    return copy.mail_from, mentor, mentee


def rows(world, table):
    return world.relay.db.run_sync(lambda s: list(s.exec(select(table).order_by(table.id))))


def dsn(action: str, status: str) -> bytes:
    """An RFC 3464 report as Postfix writes one."""
    return f"""From: Mail Delivery System <{REMOTE}>
To: {MENTOR}
Subject: Undelivered Mail Returned to Sender
Date: Mon, 2 Nov 2026 15:05:00 +0000
Message-ID: <20261102150500.1A2B3C@mail.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to <{MENTOR}>: Recipient address rejected.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
Arrival-Date: Mon, 2 Nov 2026 15:00:01 +0000

Final-Recipient: rfc822; {MENTOR}
Original-Recipient: rfc822; {MENTOR}
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 550 {status} <{MENTOR}>: Recipient address rejected

--B1
Content-Type: text/rfc822-headers

Subject: Homework help
From: Jo <someone@mentor.test>

--B1--
""".replace("\n", "\r\n").encode()


def vacation() -> bytes:
    """An RFC 3834 out-of-office reply, carrying what must never be passed on."""
    msg = EmailMessage()
    msg["From"] = f"Samantha Rivera <{MENTOR}>"
    msg["Subject"] = "Out of Office: Homework help"
    msg["Auto-Submitted"] = "auto-replied"
    msg["Precedence"] = "auto_reply"
    msg.set_content("I am away until Monday. Call my cell 555-201-7788 or ACME Corp reception.")
    return msg.as_bytes()


def mdn() -> bytes:
    """An RFC 8098 read receipt."""
    return f"""From: {MENTOR}
Subject: Read: Homework help
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="R1"

--R1
Content-Type: text/plain

Your message was read on Monday.

--R1
Content-Type: message/disposition-notification

Final-Recipient: rfc822; {MENTOR}
Disposition: manual-action/MDN-sent-manually; displayed

--R1--
""".replace("\n", "\r\n").encode()


async def test_a_failed_dsn_marks_the_copy_failed_and_tells_the_sender_privately(world, sent):
    bounce, _, _ = sent
    reply = await world.send(REMOTE, bounce, rcpts=[bounce], raw=dsn("failed", "5.1.1"))
    assert reply.code == 250
    delivery = next(d for d in rows(world, Delivery) if d.kind == "forward")
    assert delivery.status == "failed" and "5.1.1" in delivery.last_error
    stored = rows(world, Message)[-1]
    assert stored.kind == "bounce"
    (event,) = rows(world, InboundEvent)
    assert (event.kind, event.delivery_id, event.message_id) == ("dsn", delivery.id, stored.id)
    await world.flush()
    (notice,) = world.sink.received
    assert notice.rcpt_tos == [MENTEE] and notice.mail_from in ("", "<>")
    assert notice.message["Auto-Submitted"] == "auto-generated"
    text = notice.data.decode()
    assert "Sam" in text and "Homework help" in text
    for secret in (MENTOR, "mail.example.com", "Recipient address rejected", "inform you"):
        assert secret not in text
    # a second report for the same copy tells no one again
    assert (await world.send(REMOTE, bounce, rcpts=[bounce], raw=dsn("failed", "5.1.1"))).code == 250
    await world.flush()
    assert len(world.sink.received) == 1


async def test_a_delayed_dsn_is_stored_and_changes_nothing(world, sent):
    bounce, _, _ = sent
    assert (await world.send(REMOTE, bounce, rcpts=[bounce], raw=dsn("delayed", "4.4.7"))).code == 250
    await world.flush()
    assert next(d for d in rows(world, Delivery) if d.kind == "forward").status == "delivered"
    assert [e.kind for e in rows(world, InboundEvent)] == ["dsn"]
    assert world.sink.received == []


async def test_an_out_of_office_reply_becomes_a_short_masked_note_once(world, sent):
    bounce, _, _ = sent
    assert (await world.send(MENTOR, bounce, rcpts=[bounce], raw=vacation())).code == 250
    await world.flush()
    (note,) = world.sink.received
    assert note.rcpt_tos == [MENTEE]
    msg = note.message
    assert msg["Auto-Submitted"] == "auto-generated"
    text = note.data.decode()
    assert "your mentor's mailbox says they are away" in " ".join(text.split())
    for leaked in ("555-201-7788", "ACME", "Samantha", MENTOR, "mail.example.com", "Out of Office"):
        assert leaked not in text, leaked
    assert next(d for d in rows(world, Delivery) if d.kind == "forward").status == "delivered"
    assert [e.kind for e in rows(world, InboundEvent)] == ["autoreply"]
    # a second auto-reply within a few days adds no second note
    assert (await world.send(MENTOR, bounce, rcpts=[bounce], raw=vacation())).code == 250
    await world.flush()
    assert len(world.sink.received) == 1


async def test_a_read_receipt_is_stored_and_dropped(world, sent):
    bounce, _, _ = sent
    assert (await world.send(MENTOR, bounce, rcpts=[bounce], raw=mdn())).code == 250
    await world.flush()
    assert world.sink.received == []
    assert [e.kind for e in rows(world, InboundEvent)] == ["mdn"]


async def test_forged_expired_and_malformed_bounce_addresses_answer_like_an_unknown_alias(world, sent):
    bounce, _, _ = sent
    local = bounce.split("@")[0]
    delivery_id, day, mac = local[2:].split("-")
    secret = world.relay.secret
    today = int(world.clock.now().timestamp() // 86400)
    cases = [
        f"b-{delivery_id}-{day}-{'a' * 10}@{world.domain}",  # forged tag
        f"{make_bounce_local_part(secret, int(delivery_id), today - 60)}@{world.domain}",  # expired
        f"{make_bounce_local_part(secret, 99999, today)}@{world.domain}",  # signed, but no such delivery
        f"{make_bounce_local_part(b'another-secret', int(delivery_id), today)}@{world.domain}",
        f"b-{delivery_id}@{world.domain}",  # malformed
    ]
    unknown = await world.send(MENTEE, f"brave-lynx-222222222@{world.domain}")
    assert (unknown.code, unknown.text) == (replies.UNKNOWN_RECIPIENT.code, f"{replies.UNKNOWN_RECIPIENT.enhanced} {replies.UNKNOWN_RECIPIENT.text}")
    for address in cases:
        reply = await world.send(REMOTE, address, rcpts=[address], raw=dsn("failed", "5.1.1"))
        assert str(reply) == str(unknown), address
    assert rows(world, InboundEvent) == []
    assert next(d for d in rows(world, Delivery) if d.kind == "forward").status == "delivered"


async def test_the_relay_never_answers_mail_to_a_bounce_address(world, sent):
    bounce, _, _ = sent
    for raw in (dsn("failed", "5.1.1"), vacation(), mdn()):
        await world.send(MENTOR, bounce, rcpts=[bounce], raw=raw)
    await world.flush()
    assert all(r.rcpt_tos == [MENTEE] for r in world.sink.received)  # never to the machine that wrote


async def test_a_dsn_from_the_null_sender_is_accepted(world, sent):
    bounce, _, _ = sent
    assert (await world.send("", bounce, rcpts=[bounce], raw=dsn("failed", "5.1.1"))).code == 250
    assert [e.kind for e in rows(world, InboundEvent)] == ["dsn"]


async def test_a_copy_that_comes_back_to_an_alias_is_refused_as_a_loop(world, sent):
    """A participant's auto-forward sends our own masked copy back to an alias."""
    _, _, mentee_alias = sent
    reply = await world.send(MENTOR, mentee_alias, "Fwd", "looping", X_Mentor_Relay_Loop=world.domain)
    assert reply.code == 554 and reply.text.startswith("5.4.6")


async def test_more_than_fifty_received_headers_is_refused_as_a_loop(world, sent):
    _, mentor_alias, _ = sent
    msg = world.message(MENTEE, mentor_alias, "hops", "many hops")
    for hop in range(51):
        msg["Received"] = f"from hop{hop}.example.net by hop{hop + 1}.example.net; Mon, 2 Nov 2026 15:00:00 +0000"
    reply = await world.send(MENTEE, mentor_alias, raw=msg.as_bytes())
    assert reply.code == 554 and reply.text.startswith("5.4.6")
