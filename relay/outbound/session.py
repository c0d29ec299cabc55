"""One greeted smarthost connection and the mail transactions on it, pipelined where the server offers it.

aiosmtplib opens the connection (TCP or TLS, EHLO, STARTTLS, AUTH), the
part that is easy to get wrong. It cannot pipeline (RFC 2920): it reads
exactly one reply per command it writes and drops replies that arrive
ahead. So once the connection is greeted, ``Session`` takes its transport
over (``set_protocol``, public asyncio) and ``Replies`` reads the replies
in order however the server batches them. Against a server that offers
PIPELINING, as Postfix and most smarthosts do, a copy then costs two round
trips (MAIL, RCPT and DATA in one write; the copy and its final dot in
another) instead of four; to any other server the commands go one at a
time, each waiting for its reply.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

import aiosmtplib

MAX_REPLY = 64 * 1024  # a reply longer than this is not SMTP: the connection is dropped


@dataclass(frozen=True)
class Reply:
    code: int
    text: str  # the lines' texts, joined by newlines


def split_replies(buffer: bytes | bytearray) -> tuple[list[Reply], int]:
    """Pure: the complete replies at the start of ``buffer`` and how many bytes they took.

    A reply is lines "250-..." ending with a line "250 ..." (RFC 5321 4.2.1);
    a line whose first three characters are not a code is a protocol error.
    """
    replies: list[Reply] = []
    texts: list[str] = []
    start = at = 0
    while (end := buffer.find(b"\n", at)) >= 0:
        line = bytes(buffer[at:end + 1])
        at = end + 1
        if not line[:3].isdigit():
            raise aiosmtplib.SMTPResponseException(-1, f"Malformed SMTP reply line: {line[:80]!r}")
        texts.append(line[4:].strip(b" \t\r\n").decode("utf-8", "surrogateescape"))
        if line[3:4] != b"-":
            replies.append(Reply(int(line[:3]), "\n".join(texts)))
            texts, start = [], at
    return replies, start


class Replies(asyncio.Protocol):
    """The connection's protocol once ``Session`` holds it: replies queue up in order until they are read."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self._buffer = bytearray()
        self._ready: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: Exception | None = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            replies, used = split_replies(self._buffer)
        except aiosmtplib.SMTPResponseException as error:
            self._fail(error)
            return
        if used:
            del self._buffer[:used]
            self._ready.extend(replies)
            self._wake()
        elif len(self._buffer) > MAX_REPLY:
            self._fail(aiosmtplib.SMTPResponseException(-1, "Reply too long"))

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(aiosmtplib.SMTPServerDisconnected("Connection lost"))

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        if not self.transport.is_closing():
            self.transport.close()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self, timeout: float) -> Reply:
        """The next reply; the connection's failure if it failed first; a timeout if none comes in time."""
        while not self._ready:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._waiter
            except TimeoutError:
                raise aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response") from None
            finally:
                self._waiter = None
        return self._ready.popleft()


def envelope(mail_from: str, rcpt: str, size: int | None) -> tuple[bytes, bytes]:
    """Pure: the MAIL and RCPT command lines of one copy (the null sender is ``""``).

    An address must fit on a command line: no CR, LF or angle brackets, and
    ASCII only (UnicodeEncodeError otherwise), as the relay's addresses are.
    """
    for address in (mail_from, rcpt):
        if any(c in address for c in "\r\n<>") or address != address.strip():
            raise ValueError(f"an address that cannot be written on a command line: {address!r}")
    options = f" SIZE={size}" if size is not None else ""
    return f"MAIL FROM:<{mail_from}>{options}\r\n".encode("ascii"), f"RCPT TO:<{rcpt}>\r\n".encode("ascii")


def refusal(replies: list[Reply]) -> Reply | None:
    """Pure: the first reply of MAIL, RCPT, DATA that is not what the step needs (250, 250/251, 354); None if all are.

    After a refused MAIL or RCPT a pipelining server refuses DATA too (503,
    554): the first refusal is the one that names the reason.
    """
    for reply, wanted in zip(replies, ((250,), (250, 251), (354,))):
        if reply.code not in wanted:
            return reply
    return None


class Session:
    """A smarthost connection after its greeting, taken over from the aiosmtplib client that opened it."""

    def __init__(self, client: aiosmtplib.SMTP, timeout: float) -> None:
        transport = client.transport
        if transport is None or transport.is_closing():
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        self.timeout = timeout
        self.pipelining = client.supports_extension("pipelining")
        self.size = client.supports_extension("size")
        self._transport: asyncio.WriteTransport = transport  # type: ignore[assignment]
        self._replies = Replies(transport)
        transport.set_protocol(self._replies)

    @property
    def is_open(self) -> bool:
        return not self._transport.is_closing()

    def _write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        self._transport.write(data)

    async def send(self, mail_from: str, rcpt: str, body: bytes) -> str:
        """One copy, ``body`` as ``transports.data_lines`` made it: the text of the 250 to its final dot.

        A refusal at any step raises ``SMTPResponseException`` with the
        server's code and text, and leaves the connection ready for RSET.
        """
        commands = (*envelope(mail_from, rcpt, len(body) - 3 if self.size else None), b"DATA\r\n")
        replies: list[Reply] = []
        if self.pipelining:
            self._write(b"".join(commands))
            for _ in commands:
                replies.append(await self._replies.next(self.timeout))
        else:
            for command in commands:
                self._write(command)
                replies.append(await self._replies.next(self.timeout))
                if refusal(replies) is not None:
                    break
        refused = refusal(replies)
        if refused is not None:
            if replies[-1].code == 354:  # DATA taken without a recipient: end it empty (RFC 2920 3.1)
                self._write(b".\r\n")
                await self._replies.next(self.timeout)
            raise aiosmtplib.SMTPResponseException(refused.code, refused.text)
        self._write(body)
        done = await self._replies.next(self.timeout)
        if done.code != 250:
            raise aiosmtplib.SMTPResponseException(done.code, done.text)
        return done.text

    async def rset(self) -> None:
        """Back to a clean state after a refusal; raises if the server will not."""
        self._write(b"RSET\r\n")
        reply = await self._replies.next(self.timeout)
        if reply.code != 250:
            raise aiosmtplib.SMTPResponseException(reply.code, reply.text)

    def close(self) -> None:
        """QUIT without waiting for the goodbye, then close (the transport sends what it holds first)."""
        if not self._transport.is_closing():
            self._transport.write(b"QUIT\r\n")
            self._transport.close()
