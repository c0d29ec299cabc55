"""The smarthost every relaying target delivers to: a small SMTP sink on loopback that counts copies.

It speaks just enough SMTP for aiosmtplib and Postfix's smtp client (EHLO with
PIPELINING, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps nothing, and notes when
each copy carrying the load generator's marker arrived, so the benchmark can
tell how long delivery lagged behind the load.
"""

from __future__ import annotations

import asyncio
import time

EHLO = b"250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n250-SMTPUTF8\r\n" \
       b"250 ENHANCEDSTATUSCODES\r\n"
REPLIES = {
    b"HELO": b"250 sink.bench.test\r\n", b"MAIL": b"250 2.1.0 OK\r\n", b"RCPT": b"250 2.1.5 OK\r\n",
    b"RSET": b"250 2.0.0 OK\r\n", b"NOOP": b"250 2.0.0 OK\r\n", b"DATA": b"354 go ahead\r\n",
    b"QUIT": b"221 2.0.0 bye\r\n",
}


class Counter:
    """Copies seen, marked copies seen and when the last marked one came."""

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        self.copies = 0
        self.marked = 0
        self.last_at = 0.0

    def reset(self, marker: bytes) -> None:
        """Count from zero, and only copies carrying ``marker`` (late copies of an earlier phase are ignored)."""
        self.marker = marker
        self.copies = self.marked = 0
        self.last_at = 0.0

    def seen(self, body: bytes) -> None:
        self.copies += 1
        if self.marker in body:
            self.marked += 1
            self.last_at = time.monotonic()


class SinkProtocol(asyncio.Protocol):
    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"220 sink.bench.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while True:
            if self.in_data:
                if self.buffer.startswith(b".\r\n"):
                    end, rest = 0, 3
                else:
                    found = self.buffer.find(b"\r\n.\r\n")
                    if found < 0:
                        break
                    end, rest = found + 2, found + 5
                self.counter.seen(self.buffer[:end])
                self.buffer = self.buffer[rest:]
                self.in_data = False
                out.append(b"250 2.0.0 stored nowhere\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2:]
            verb = line[:4].upper()
            out.append(EHLO if verb == b"EHLO" else REPLIES.get(verb, b"502 5.5.2 not here\r\n"))
            if verb == b"DATA":
                self.in_data = True
            elif verb == b"QUIT":
                self.transport.write(b"".join(out))
                self.transport.close()
                return
        if out:
            self.transport.write(b"".join(out))


async def start(counter: Counter) -> tuple[asyncio.AbstractServer, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(counter), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
