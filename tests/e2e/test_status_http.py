"""/metrics figures read from the store, and /healthz's reasons, on a relay on loopback."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import select

from relay.metrics_http import start_http
from relay.store.tables import Delivery
from tests.e2e.test_operations import http_get, sample

MENTOR, MENTEE = "sam@mail.example.com", "jo@school.example.net"


async def listening(world):
    world.relay.settings = replace(world.relay.settings, extra={"RELAY_METRICS_LISTEN": "127.0.0.1:0"})
    status = await start_http(world.relay)
    return status, status.server.sockets[0].getsockname()[1]


async def test_queue_held_and_age_come_from_the_store(pg_world):
    world = pg_world
    sam = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo", premoderate=True)
    world.pair(MENTOR, MENTEE)
    ana = world.enrol("ana@mail.example.com", "mentor", "Ana")
    world.enrol("kim@school.example.net", "mentee", "Kim")
    world.pair("ana@mail.example.com", "kim@school.example.net")
    status, port = await listening(world)
    try:
        assert (await world.send(MENTEE, sam, "one", "Hello")).code == 250  # held: a premoderated sender
        assert (await world.send("kim@school.example.net", ana, "two", "Hi")).code == 250  # queued
        world.clock.advance(seconds=90)
        code, text = await http_get(port, "/metrics")
        assert code == 200
        assert sample(text, "mentor_relay_held_messages") == 1
        assert sample(text, "mentor_relay_queue_depth", status="held") == 1
        queued = world.relay.db.run_sync(lambda s: len(s.exec(select(Delivery).where(Delivery.status == "queued")).all()))
        assert sample(text, "mentor_relay_queue_depth", status="queued") == queued >= 1  # the copy, and any notice
        assert sample(text, "mentor_relay_oldest_queued_delivery_seconds") == 90  # held copies are not waiting
        assert sample(text, "mentor_relay_messages_accepted_total", kind="participant", verdict="hold") == 1
        assert sample(text, "mentor_relay_messages_accepted_total", kind="participant", verdict="deliver") == 1
        assert sample(text, "mentor_relay_overdue_reminders") == 0
        await world.flush()
        text = (await http_get(port, "/metrics"))[1]
        assert sample(text, "mentor_relay_queue_depth", status="queued") == 0
        assert sample(text, "mentor_relay_oldest_queued_delivery_seconds") == 0
        assert sample(text, "mentor_relay_delivery_attempts_total", result="delivered") == queued
    finally:
        await status.close()


async def test_healthz_says_why_it_is_unhealthy(world):
    status, port = await listening(world)
    try:
        assert await http_get(port, "/healthz") == (200, "ok\n")
        assert (await http_get(port, "/nothing"))[0] == 404
        world.relay.handler.draining = True
        assert await http_get(port, "/healthz") == (503, "draining: stopping\n")
        world.relay.handler.draining = False
        world.relay.server.close()
        await world.relay.server.wait_closed()
        assert await http_get(port, "/healthz") == (503, "smtp: the listener is not up\n")
    finally:
        await status.close()
