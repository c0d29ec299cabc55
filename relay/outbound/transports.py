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

from relay.outbound.session import Session


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
    ``RELAY_WORKERS``) stay open and carry one message after another.
    aiosmtplib opens each one (EHLO, STARTTLS and login happen once per
    connection, not per message); ``relay.outbound.session`` then carries
    the messages, with MAIL, RCPT and DATA in one write where the smarthost
    offers PIPELINING.
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
        self._idle: asyncio.LifoQueue[Session] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(pool_size)

    async def send(self, mail_from: str, rcpt: str, data: bytes) -> Sent:
        async with self._slots:
            try:
                session = await self._session()
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
                return _connection_failure(error)
            try:
                response = await session.send(mail_from, rcpt, data_lines(data))
            except aiosmtplib.SMTPResponseException as error:
                await self._recycle(session)
                return _classify(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as error:
                session.close()
                return _connection_failure(error)
            except BaseException:  # an address that cannot be written, a cancel: never reuse a half-open envelope
                session.close()
                raise
            self._idle.put_nowait(session)
            return Sent("delivered", 250, response)

    async def _session(self) -> Session:
        while not self._idle.empty():
            session = self._idle.get_nowait()
            if session.is_open:
                return session
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
        try:
            if self.username:
                await client.login(self.username, self.password)
            if client.is_ehlo_or_helo_needed:  # aiosmtplib greets on a connection's first command
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
            return Session(client, self.timeout)
        except BaseException:
            client.close()
            raise

    async def _recycle(self, session: Session) -> None:
        # After a refusal the connection is still good for the next message.
        try:
            await session.rset()
            self._idle.put_nowait(session)
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
            session.close()

    async def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


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
