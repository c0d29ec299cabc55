"""The in-flow control on its own: room, waiting, and the cap on a wait."""

import asyncio

from relay.flow import InFlow


async def test_no_backlog_no_wait():
    flow = InFlow(delay=30, limit=10)
    flow.report(10)
    assert await flow.admit() is False and flow.delayed == 0


async def test_a_backlog_over_the_limit_holds_new_mail_until_a_report_finds_room():
    flow = InFlow(delay=30, limit=10)
    flow.report(11)
    waiting = asyncio.ensure_future(flow.admit())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done() and flow.delayed == 1
    flow.report(3)
    assert await waiting is True


async def test_the_wait_is_capped_and_a_zero_delay_turns_it_off():
    flow = InFlow(delay=0.01, limit=0)
    flow.report(5)
    assert await flow.admit() is True  # waited its 10 ms, then went on
    off = InFlow(delay=0, limit=0)
    off.report(5)
    assert await off.admit() is False
