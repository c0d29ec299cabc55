"""Delivery methods: a local Maildir or an SMTP smarthost. They only deliver and report.

Each returns a ``Sent`` with the outcome class (delivered, deferred, failed),
the remote code and the remote text. The remote text is kept for staff in
the queue listing; it is never copied into a notice to a participant.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib


@dataclass(frozen=True)
class Sent:
    outcome: str  # delivered | deferred | failed
    code: int = 0
    detail: str = ""


class Transport(Protocol):
    async def send(self, mail_from: str, rcpt: str, data: bytes) -> Sent: ...

    async def close(self) -> None: ...


class MaildirTransport:
    """Local delivery for the embedded default: every copy lands in one Maildir."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._counter = 0

    async def send(self, mail_from: str, rcpt: str, data: bytes) -> Sent:
        try:
            name = await asyncio.to_thread(self._write, mail_from, rcpt, data)
        except OSError as error:
            return Sent("deferred", 0, f"Maildir write failed: {error.strerror or error}")
        return Sent("delivered", 250, f"delivered to Maildir as {name}")

    def _write(self, mail_from: str, rcpt: str, data: bytes) -> str:
        # tmp/ then rename into new/ with fsyncs, as a Maildir delivery agent does,
        # so a reader never sees half a message and a crash never loses a whole one.
        self._counter += 1
        name = f"{time.time_ns()}.P{os.getpid()}Q{self._counter}.{socket.gethostname()}"
        header = f"Return-Path: <{mail_from}>\r\nDelivered-To: {rcpt}\r\n".encode()
        tmp = self.root / "tmp" / name
        with open(tmp, "wb") as handle:
            handle.write(header + data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, self.root / "new" / name)
        directory = os.open(self.root / "new", os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return name

    async def close(self) -> None:
        """Nothing to release: every write is complete when ``send`` returns."""


class SmarthostTransport:
    """SMTP to one smarthost, reusing connections across deliveries.

    Up to ``pool_size`` connections (the relay opens one per sending slot,
    ``RELAY_WORKERS``) stay open and carry one message after another. No
    PIPELINING: aiosmtplib 5.x reads exactly one reply per command it writes
    and drops replies that arrive ahead, so each message is MAIL, RCPT, DATA
    and the final dot as four round trips on a connection already greeted
    (EHLO, STARTTLS and login happen once per connection, not per message).
    """

    def __init__(
        self,
        host: str,
        port: int,
        tls: str = "starttls",
        username: str = "",
        password: str = "",
        local_hostname: str | None = None,
        pool_size: int = 8,
        timeout: float = 60,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.username, self.password = username, password
        self.local_hostname = local_hostname
        self.timeout = timeout
        self.tls_context = tls_context
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(pool_size)

    async def send(self, mail_from: str, rcpt: str, data: bytes) -> Sent:
        async with self._slots:
            try:
                client = await self._client()
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
                return _connection_failure(error)
            try:
                response = await self._transaction(client, mail_from, rcpt, data)
            except aiosmtplib.SMTPResponseException as error:
                await self._recycle(client)
                return _classify(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
                await _quietly_close(client)
                return _connection_failure(error)
            except BaseException:  # an address aiosmtplib cannot write, a cancel: never reuse a half-open envelope
                await _quietly_close(client)
                raise
            self._idle.put_nowait(client)
            return Sent("delivered", 250, response)

    async def _transaction(self, client: aiosmtplib.SMTP, mail_from: str, rcpt: str, data: bytes) -> str:
        """MAIL, RCPT, DATA and the copy: the reply to the final dot, or the refusal raised.

        The commands are aiosmtplib's own; the copy goes as ``data_lines``
        made it, because aiosmtplib's ``sendmail`` passes every message
        through two line-ending regular expressions and a dot-stuffing one
        (a millisecond for a 64 KB copy), where a copy the relay wrote needs
        one dot replacement.
        """
        body = data_lines(data)
        size = [f"SIZE={len(body) - 3}"] if client.supports_extension("size") else []
        await client.mail(mail_from, options=size)
        await client.rcpt(rcpt)
        start = await client.execute_command(b"DATA")
        if start.code != 354:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        protocol.write(body)  # no await between the write and the read: the reply cannot come first
        response = await protocol.read_response(timeout=self.timeout)
        if response.code != 250:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        return response.message

    async def _client(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.tls == "tls",
            start_tls=True if self.tls == "starttls" else False,
            local_hostname=self.local_hostname,
            timeout=self.timeout,
            tls_context=self.tls_context,
            validate_certs=self.tls_context is None,
        )
        await client.connect()
        if self.username:
            await client.login(self.username, self.password)
        return client

    async def _recycle(self, client: aiosmtplib.SMTP) -> None:
        # After a refusal the connection is still good for the next message.
        try:
            await client.rset()
            self._idle.put_nowait(client)
        except (aiosmtplib.SMTPException, OSError):
            await _quietly_close(client)

    async def close(self) -> None:
        while not self._idle.empty():
            await _quietly_close(self._idle.get_nowait())


_LINE_END = re.compile(rb"\r\n|\r|\n")


def data_lines(message: bytes) -> bytes:
    """A message as DATA carries it (RFC 5321 4.5.2): CRLF line ends, a leading dot doubled, the final dot.

    The relay's copies already end their lines with CRLF; three counts in C
    tell so, and only another message is rewritten line by line.
    """
    crlf = message.count(b"\r\n")
    if not (message.count(b"\r") == crlf == message.count(b"\n")):
        message = _LINE_END.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def _classify(code: int, text: str) -> Sent:
    if 400 <= code < 500:
        return Sent("deferred", code, text)
    if code >= 500:
        return Sent("failed", code, text)
    return Sent("deferred", code, text or "unexpected reply")


def _connection_failure(error: BaseException) -> Sent:
    """Refused, timed out, dropped, or refused while greeting, TLS or login: always a deferral.

    A failure before MAIL FROM says nothing about the recipient, and a
    smarthost that refuses our login is our own configuration to fix, so
    (as Postfix's soft bounce for SASL) the mail waits instead of failing.
    A connection dropped after the final dot is deferred too: the copy is
    sent again with the same Message-ID (at least once, never zero).
    """
    code = getattr(error, "code", 0) or 0
    return Sent("deferred", code if 400 <= code < 600 else 0, f"{type(error).__name__}: {error}")


async def _quietly_close(client: aiosmtplib.SMTP) -> None:
    try:
        client.close()
    except Exception:  # noqa: BLE001 - closing a broken connection must not fail a delivery
        pass
