"""In-flow control over real SMTP: while copies wait to be sent, a new message's MAIL waits for delivery."""

from __future__ import annotations

import asyncio

from relay.metrics_http import start_http
from relay.store.tables import Delivery
from tests.e2e.test_delivery import MENTEE, MENTOR, rows


async def until(condition, seconds: float = 10.0) -> None:
    """Poll the loop (real I/O is in flight) until ``condition()`` holds."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_mail_waits_while_the_backlog_is_over_the_limit_and_goes_on_once_delivery_catches_up(world):
    mentor_alias = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    relay = world.relay
    status = await start_http(relay)  # as `relayctl serve` does: it counts the messages that waited
    relay.inflow.limit, relay.inflow.delay = 0, 30.0
    relay.worker.batch = 1  # one copy per claim, so a backlog is left behind
    for n in (1, 2):
        assert (await world.send(MENTEE, mentor_alias, f"Message {n}", "hello")).code == 250
    assert relay.inflow.delayed == 0  # no backlog reported yet: nothing waited

    assert await relay.worker.run_once(wait=True) == 1
    assert relay.inflow.backlog == 1  # the second copy is still due

    third = asyncio.ensure_future(world.send(MENTEE, mentor_alias, "Message 3", "hello"))
    await until(lambda: relay.inflow.delayed == 1)
    await asyncio.sleep(0.05)
    assert not third.done()  # its MAIL FROM is not answered while the copy waits

    await world.flush()  # the waiting copy goes: the backlog is gone and MAIL is answered
    assert (await third).code == 250
    await world.flush()
    assert [d.status for d in rows(world, Delivery, kind="forward")] == ["delivered"] * 3
    assert relay.intake_ctx.metrics.in_flow_delays._value.get() == 1
    await status.close()


async def test_a_message_waits_no_longer_than_the_delay(world):
    mentor_alias = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    relay = world.relay
    relay.inflow.delay = 0.05
    relay.inflow.report(relay.inflow.limit + 1)  # a backlog that delivery never works off here
    assert (await world.send(MENTEE, mentor_alias, "Still taken", "hello")).code == 250
    assert relay.inflow.delayed == 1
