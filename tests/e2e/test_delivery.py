"""Retries, failures and private failure notices over real SMTP, with time moved by the clock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlmodel import select

from relay.outbound.transports import SmarthostTransport
from relay.store import queue
from relay.store.tables import Attempt, Delivery, Message

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
SINK_TEXT = "jane.real@example.com"  # what the sink's refusals name: a real mailbox


@pytest.fixture
def people(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    return mentor, mentee


def rows(world, table, **where):
    def work(session):
        query = select(table).order_by(table.id)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return list(session.exec(query))

    return world.relay.db.run_sync(work)


def forward(world) -> Delivery:
    (delivery,) = rows(world, Delivery, kind="forward")
    return delivery


async def wait_out(world, hours: float) -> None:
    """Move the clock in steps no longer than the longest backoff, working what falls due."""
    end = world.clock.now() + timedelta(hours=hours)
    while world.clock.now() < end:
        world.clock.advance(minutes=61)
        await world.flush()


async def test_deferred_three_times_then_delivered_exactly_once(world, people):
    mentor_alias, _ = people
    world.sink.handler.script = ["451", "451", "451", "ok"]
    assert (await world.send(MENTEE, mentor_alias, "Essay plan", "Here it is")).code == 250
    await world.flush()
    for expected in (1, 2, 3):
        delivery = forward(world)
        assert delivery.status == "deferred" and delivery.attempts == expected
        assert delivery.next_attempt_at - world.clock.now() <= timedelta(hours=1)
        await world.flush()  # nothing is due before the backoff has passed
        assert forward(world).attempts == expected
        world.clock.set(delivery.next_attempt_at)
        await world.flush()
    delivery = forward(world)
    assert delivery.status == "delivered" and delivery.attempts == 4
    assert [a.outcome for a in rows(world, Attempt)] == ["deferred"] * 3 + ["delivered"]
    assert len(world.sink.received) == 1
    assert world.sink.received[0].message["Message-ID"] == delivery.masked_message_id
    await wait_out(world, 3)
    assert len(world.sink.received) == 1
    assert rows(world, Delivery, kind="bounce-notice") == []


async def test_refused_past_the_lifetime_fails_and_tells_the_sender_privately(world, people):
    mentor_alias, mentee_alias = people
    world.sink.handler.default = "451"
    await world.send(MENTEE, mentor_alias, "Are you there?", "Waiting for news")
    await world.flush()
    await wait_out(world, 4 * 24)
    delivery = forward(world)
    assert delivery.status == "deferred" and delivery.attempts > 90
    await wait_out(world, 24 + 2)
    delivery = forward(world)
    assert delivery.status == "failed"
    assert SINK_TEXT in delivery.last_error  # coordinators see the remote words
    (message,) = rows(world, Message)
    assert message.status == "failed"

    (queued,) = rows(world, Delivery, kind="bounce-notice")  # the mailbox still refuses: it waits too
    assert queued.null_sender and queued.expires_at - queued.created_at == timedelta(days=2)
    world.sink.handler.default = "ok"
    await wait_out(world, 1)
    (notice,) = world.sink.received
    assert notice.mail_from in ("", "<>") and notice.rcpt_tos == [MENTEE]
    msg = notice.message
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "Are you there?" in msg["Subject"]
    text = notice.data.decode()
    assert "Sam" in text and "Are you there?" in text
    for secret in (MENTOR, "mail.example.com", SINK_TEXT, "Mailbox busy", "try later"):
        assert secret not in text, secret


async def test_a_5xx_fails_at_once_without_a_retry(world, people):
    mentor_alias, _ = people
    world.sink.handler.script = ["550"]
    await world.send(MENTEE, mentor_alias, "One try", "only")
    await world.flush()
    delivery = forward(world)
    assert delivery.status == "failed" and delivery.attempts == 1
    await wait_out(world, 3)
    assert forward(world).attempts == 1
    assert world.sink.handler.attempts == 2  # the copy once, then the notice
    (notice,) = world.sink.received
    assert notice.rcpt_tos == [MENTEE] and MENTOR not in notice.data.decode()
    (row,) = rows(world, Delivery, kind="bounce-notice")
    assert row.null_sender and row.status == "delivered"


async def test_a_failed_notice_is_never_reported(world, people):
    mentor_alias, _ = people
    world.sink.handler.default = "550"
    await world.send(MENTEE, mentor_alias, "Loop?", "no")
    await world.flush()
    await wait_out(world, 2)
    statuses = sorted((d.kind, d.status) for d in rows(world, Delivery))
    assert statuses == [("bounce-notice", "failed"), ("forward", "failed")]
    assert world.sink.handler.attempts == 2


async def test_a_copy_dropped_after_the_final_dot_is_sent_again_with_the_same_message_id(world, people):
    mentor_alias, _ = people
    seen: list[bytes] = []
    handle = world.sink.handler.handle_DATA

    async def recording(server, session, envelope):
        seen.append(envelope.original_content)
        return await handle(server, session, envelope)

    world.sink.handler.handle_DATA = recording
    world.sink.handler.script = ["drop"]
    await world.send(MENTEE, mentor_alias, "Dropped", "after the dot")
    await world.flush()
    assert forward(world).status == "deferred"
    world.clock.advance(minutes=6)
    await world.flush()
    assert forward(world).status == "delivered"
    first, second = (m for m in seen)
    header = lambda data: next(l for l in data.split(b"\r\n") if l.lower().startswith(b"message-id:"))  # noqa: E731
    assert header(first) == header(second)
    assert world.sink.received[0].message["Message-ID"] == forward(world).masked_message_id


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_connection_refused_defers_and_queue_retry_forces_a_try(world, people):
    mentor_alias, _ = people
    working = world.relay.worker.transport
    world.relay.worker.transport = SmarthostTransport("127.0.0.1", closed_port(), tls="none", timeout=5)
    await world.send(MENTEE, mentor_alias, "Refused", "connection refused")
    await world.flush()
    delivery = forward(world)
    assert delivery.status == "deferred" and "Connect" in delivery.last_error
    world.relay.worker.transport = working
    await world.flush()
    assert forward(world).status == "deferred"  # not due yet
    assert world.relay.db.run_sync(lambda s: queue.retry(s, world.clock.now(), [delivery.id])) == 1
    await world.flush()
    assert forward(world).status == "delivered" and forward(world).attempts == 2


def relayctl(world, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    settings = world.relay.settings
    env.update(RELAY_DATA_DIR=str(settings.data_dir), RELAY_DATABASE_URL=settings.database_url, RELAY_DOMAIN=world.domain)
    return subprocess.run(
        [sys.executable, "-m", "relay.cli.main", *args], env=env, capture_output=True, text=True, timeout=60,
        cwd=str(settings.data_dir),
    )


async def test_coordinators_see_deferred_and_failed_deliveries_in_relayctl(world, people):
    mentor_alias, _ = people
    world.sink.handler.script = ["451"]
    await world.send(MENTEE, mentor_alias, "Slow", "deferred")
    await world.flush()
    listed = json.loads(relayctl(world, "queue", "list", "--json").stdout)
    (row,) = [r for r in listed if r["status"] == "deferred"]
    assert row["attempts"] == 1 and row["next_attempt_at"] and "Mailbox busy" in row["last_error"]
    plain = relayctl(world, "queue", "list").stdout
    assert "deferred" in plain and "NEXT TRY" in plain and "LAST ERROR" in plain

    forced = relayctl(world, "queue", "retry", "--all")
    assert forced.returncode == 0 and "1 delivery due now" in forced.stdout
    due = forward(world)
    assert due.status == "queued"
    world.clock.set(max(world.clock.now(), due.next_attempt_at))  # relayctl reads the system clock
    world.sink.handler.script = ["550"]
    await world.flush()
    failed = json.loads(relayctl(world, "queue", "list", "--status", "failed", "--json").stdout)
    assert [r["id"] for r in failed] == [row["id"]]
    shown = json.loads(relayctl(world, "messages", "show", str(row["message_id"]), "--json").stdout)
    assert shown["status"] == "failed"
    kinds = {d["kind"]: d for d in shown["deliveries"]}
    assert kinds["forward"]["status"] == "failed" and "mailbox unavailable" in kinds["forward"]["last_error"]
    assert kinds["bounce-notice"]["to"] == MENTEE
    missing = relayctl(world, "queue", "retry", "99999")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
