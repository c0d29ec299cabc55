"""Claims are short leases renewed while a copy is in flight: a dead host's claims go to a live one.

Two workers on one store (SQLite, and PostgreSQL when configured) stand for
two hosts: one claims and dies (its claims are never recorded), the other
delivers once the lease has run out, exactly once. Time is the FixedClock.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlmodel import select

from relay.clock import SystemClock
from relay.outbound.transports import SmarthostTransport
from relay.outbound.worker import OutboundWorker
from relay.store import queue
from relay.store.queue import Outcome
from relay.store.tables import Attempt, Delivery
from tests.e2e.test_delivery import relayctl

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
DEAD = "host-a.example:4242"  # a host killed with SIGKILL: it claimed and will never record


async def one_forward(world) -> int:
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    assert (await world.send(MENTEE, mentor, "Hello", "first letter")).code == 250
    (delivery,) = deliveries(world)
    return delivery.id


def deliveries(world) -> list[Delivery]:
    return world.relay.db.run_sync(lambda s: list(s.exec(select(Delivery).order_by(Delivery.id))))


def attempts(world, delivery_id: int) -> list[str]:
    query = select(Attempt.outcome).where(Attempt.delivery_id == delivery_id).order_by(Attempt.id)
    return world.relay.db.run_sync(lambda s: list(s.exec(query)))


async def claim_as(world, name: str) -> list[int]:
    now = world.clock.now()
    return await world.relay.writer.submit_rows(lambda c: queue.claim_due(c, now, name, 10))


def second_host(world, name: str = "host-b.example:7") -> OutboundWorker:
    relay = world.relay
    return OutboundWorker(
        relay.db, SmarthostTransport("127.0.0.1", world.sink.port, tls="none"), world.clock, world.domain,
        relay.secret, signer=relay.worker.signer, name=name, writer=relay.writer,
    )


async def test_a_dead_hosts_claim_is_delivered_by_a_live_host_after_the_lease_once(pg_world):
    world = pg_world
    delivery_id = await one_forward(world)
    assert await claim_as(world, DEAD) == [delivery_id]
    live = second_host(world)
    try:
        assert await live.run_once() == 0  # the lease is still good: the holder may yet finish
        world.clock.advance(seconds=queue.LEASE.total_seconds() - 1)
        assert await live.run_once() == 0
        world.clock.advance(seconds=2)  # past the lease, within a minute or two of the kill
        assert await live.run_once() == 1
        assert len(world.sink.received) == 1
        assert deliveries(world)[0].status == "delivered"
        # The dead host's late record (had it lived on) changes nothing: the copy is another's now.
        now = world.clock.now()
        late = Outcome("delivered", 250, "ok")
        assert await world.relay.writer.submit_rows(lambda c: queue.record_attempt(c, delivery_id, DEAD, now, late)) is False
        world.clock.advance(minutes=10)
        await live.drain()
        await world.flush()
    finally:
        await live.stop()
        await live.transport.close()
    assert len(world.sink.received) == 1
    assert attempts(world, delivery_id) == ["delivered"]


async def test_a_live_worker_renews_its_lease_so_nobody_takes_a_copy_in_flight(pg_world):
    world = pg_world
    delivery_id = await one_forward(world)
    release = asyncio.Event()
    handle = world.sink.handler.handle_DATA

    async def slow(server, session, envelope):
        await release.wait()  # the smarthost is slow to answer the final dot
        return await handle(server, session, envelope)

    world.sink.handler.handle_DATA = slow
    busy = world.relay.worker
    other = second_host(world)
    try:
        assert await busy.run_once(wait=False) == 1
        for _ in range(4):  # four leases' worth of time, renewed every third of a lease
            world.clock.advance(seconds=queue.LEASE.total_seconds() / 3)
            assert await busy.renew() == 1
            assert await other.run_once() == 0
        release.set()
        await world.sink.wait_for(1)
        await busy.stop()  # lets the copy in flight finish and be recorded
        assert await other.run_once() == 0
    finally:
        await other.stop()
        await other.transport.close()
    assert len(world.sink.received) == 1
    assert deliveries(world)[0].status == "delivered"
    assert attempts(world, delivery_id) == ["delivered"]


async def test_queue_list_shows_the_holder_and_retry_releases_only_an_expired_lease(world):
    delivery_id = await one_forward(world)
    world.clock.set(SystemClock().now())  # relayctl reads the system clock
    assert await claim_as(world, DEAD) == [delivery_id]

    listed = json.loads(relayctl(world, "queue", "list", "--json").stdout)
    (row,) = [r for r in listed if r["id"] == delivery_id]
    assert row["status"] == "sending" and row["holder"] == DEAD and row["lease_until"]
    plain = relayctl(world, "queue", "list").stdout
    assert "HOLDER" in plain and "LEASE UNTIL" in plain and DEAD in plain

    refused = relayctl(world, "queue", "retry", str(delivery_id))
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert f"being sent by {DEAD}" in refused.stderr and "not released" in refused.stderr
    assert deliveries(world)[0].status == "sending"

    # The holder stops renewing (it died): once its lease is over, retry hands the copy back.
    gone = SystemClock().now() - timedelta(seconds=1)
    await world.relay.writer.submit_rows(lambda c: queue.renew_leases(c, DEAD, [delivery_id], gone))
    released = relayctl(world, "queue", "retry", str(delivery_id))
    assert released.returncode == 0 and "1 delivery due now" in released.stdout
    (delivery,) = deliveries(world)
    assert delivery.status == "queued" and delivery.claimed_by == ""
    assert attempts(world, delivery_id) == ["interrupted"]
    world.clock.set(max(world.clock.now(), delivery.next_attempt_at))  # due at relayctl's now
    await world.flush()
    assert len(world.sink.received) == 1
    assert attempts(world, delivery_id) == ["interrupted", "delivered"]
