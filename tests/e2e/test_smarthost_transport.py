"""The smarthost transport against a real receiving server: what arrives, what each refusal means, what is reused."""

from __future__ import annotations

import asyncio

import pytest

from relay.outbound.transports import SmarthostTransport
from tests.fixtures.sink import Sink


@pytest.fixture
async def sink():
    server = await Sink().start()
    yield server
    await server.stop()


async def test_a_copy_arrives_byte_for_byte_with_its_dot_lines_and_the_connection_is_kept(sink) -> None:
    transport = SmarthostTransport("127.0.0.1", sink.port, tls="none", timeout=5)
    copy = b"Subject: dots\r\n\r\n.one leading dot\r\n..two\r\n.\r\nlast line\r\n"
    first = await transport.send("bounce@relay.test", "jo@school.example", copy)
    second = await transport.send("", "sam@mail.example", copy)
    assert (first.outcome, first.code) == ("delivered", 250) and second.outcome == "delivered"
    assert [r.data for r in sink.received] == [copy, copy]
    assert sink.received[1].mail_from == "<>"  # the null sender of a notice
    assert len(sink.sessions) == 1  # one connection carried both
    await transport.close()


async def test_refusals_are_classified_and_the_connection_carries_the_next_copy(sink) -> None:
    transport = SmarthostTransport("127.0.0.1", sink.port, tls="none", timeout=5)
    sink.handler.script = ["451", "550"]
    busy = await transport.send("b@relay.test", "jo@school.example", b"Subject: a\r\n\r\nx\r\n")
    gone = await transport.send("b@relay.test", "jo@school.example", b"Subject: b\r\n\r\nx\r\n")
    fine = await transport.send("b@relay.test", "jo@school.example", b"Subject: c\r\n\r\nx\r\n")
    assert (busy.outcome, busy.code) == ("deferred", 451)
    assert (gone.outcome, gone.code) == ("failed", 550)
    assert fine.outcome == "delivered" and len(sink.received) == 1
    assert len(sink.sessions) == 1
    await transport.close()


async def test_an_address_it_cannot_write_closes_the_connection_instead_of_reusing_it(sink) -> None:
    transport = SmarthostTransport("127.0.0.1", sink.port, tls="none", timeout=5)
    with pytest.raises(UnicodeError):
        await transport.send("b@relay.test", "jö@school.example", b"Subject: a\r\n\r\nx\r\n")
    for _ in range(50):  # the server sees the connection go
        if sink.open_sessions == 0:
            break
        await asyncio.sleep(0.01)
    assert sink.open_sessions == 0
    after = await transport.send("b@relay.test", "jo@school.example", b"Subject: b\r\n\r\nx\r\n")
    assert after.outcome == "delivered" and len(sink.received) == 1
    assert len(sink.sessions) == 2  # the next copy took a fresh connection
    await transport.close()
