"""The smarthost transport against a real receiving server: what arrives, what each refusal means, what is reused.

Each test runs against a server that offers PIPELINING and one that does
not: the commands go together to the first and one at a time to the other.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest

from relay.outbound.transports import SmarthostTransport
from tests.fixtures.certs import self_signed
from tests.fixtures.sink import Sink


@pytest.fixture(params=[True, False], ids=["pipelining", "one-at-a-time"])
async def sink(request):
    server = await Sink().start()
    server.handler.pipelining = request.param
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


async def test_a_refused_recipient_is_the_reason_given_not_the_refused_data_after_it(sink) -> None:
    transport = SmarthostTransport("127.0.0.1", sink.port, tls="none", timeout=5)
    sink.handler.refused_rcpts = {"gone@school.example"}
    gone = await transport.send("b@relay.test", "gone@school.example", b"Subject: a\r\n\r\nx\r\n")
    fine = await transport.send("b@relay.test", "jo@school.example", b"Subject: b\r\n\r\nx\r\n")
    assert (gone.outcome, gone.code) == ("failed", 550) and "no such mailbox" in gone.detail
    assert fine.outcome == "delivered" and [r.rcpt_tos for r in sink.received] == [["jo@school.example"]]
    assert sink.handler.attempts == 1 and len(sink.sessions) == 1
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


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-at-a-time"])
async def test_after_starttls_the_connection_carries_copies(tmp_path, pipelining) -> None:
    cert, key = self_signed(tmp_path, "sink.test")
    offered = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    offered.load_cert_chain(cert, key)
    server = await Sink(tls_context=offered).start()
    server.handler.pipelining = pipelining
    trusting = ssl.create_default_context(cafile=str(cert))
    transport = SmarthostTransport("127.0.0.1", server.port, tls="starttls", timeout=5, tls_context=trusting)
    try:
        for n in range(3):
            sent = await transport.send("b@relay.test", "jo@school.example", f"Subject: {n}\r\n\r\nx\r\n".encode())
            assert sent.outcome == "delivered", sent
        assert len(server.received) == 3 and len(server.sessions) == 1
        assert server.sessions[0]._tls_protocol is not None  # the copies went inside TLS
    finally:
        await transport.close()
        await server.stop()


class BatchingServer(asyncio.Protocol):
    """Answers MAIL, RCPT and DATA only once all three are in: a client that waits for each reply waits forever.

    RFC 2920 lets a server hold its replies so; Postfix's smtpd does, up to DATA.
    """

    def __init__(self, log: list[bytes]) -> None:
        self.log, self.buffer, self.in_data = log, b"", False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"220 batching.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.log.append(self.buffer[:end + 2])
                self.buffer, self.in_data = self.buffer[end + 5:], False
                self.transport.write(b"250 2.0.0 queued\r\n")
            elif self.buffer.startswith((b"EHLO", b"RSET", b"QUIT")) and b"\r\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\r\n", 1)
                self.transport.write({b"EHLO": b"250-batching.test\r\n250-PIPELINING\r\n250 SIZE 1000000\r\n",
                                      b"RSET": b"250 2.0.0 OK\r\n", b"QUIT": b"221 2.0.0 bye\r\n"}[line[:4]])
            elif self.buffer.count(b"\r\n") >= 3 and self.buffer.split(b"\r\n")[2] == b"DATA":
                _, _, _, self.buffer = self.buffer.split(b"\r\n", 3)
                self.transport.write(b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 go ahead\r\n")
                self.in_data = True
            else:
                return


async def test_with_pipelining_offered_mail_rcpt_and_data_go_in_one_write() -> None:
    copies: list[bytes] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: BatchingServer(copies), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = SmarthostTransport("127.0.0.1", port, tls="none", timeout=2)
    try:
        first = await transport.send("b@relay.test", "jo@school.example", b"Subject: a\r\n\r\nx\r\n")
        second = await transport.send("b@relay.test", "jo@school.example", b"Subject: b\r\n\r\ny\r\n")
    finally:
        await transport.close()
        server.close()
        await server.wait_closed()
    assert (first.outcome, first.detail, second.outcome) == ("delivered", "2.0.0 queued", "delivered")
    assert copies == [b"Subject: a\r\n\r\nx\r\n", b"Subject: b\r\n\r\ny\r\n"]
