"""aiosmtpd's SMTP protocol with the relay's door: strict DATA, clear replies, per-address limits.

Three changes to the stock protocol, each for a reason:

* DATA is read by ``DataReader``, in blocks rather than line by line: bare
  CR or LF and NUL are refused instead of passed on, and the size, header
  and line limits answer with the relay's own replies once the client has
  sent the final dot.
* Every reply aiosmtpd writes by itself ("500 Error: bad syntax", "552
  Error: Too much mail data", ...) is translated into the catalogue's
  wording with an enhanced status code; nothing says "Error: (...)".
* A 421 closes the connection (RFC 5321 4.2.3), and each client address
  may hold only so many connections at once.

And one for speed: a MAIL or RCPT path in its plain form is read by one
regular expression, others by aiosmtpd's own parser (``plain_path``).
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiosmtpd.smtp import MISSING, SMTP

from relay.smtp.limits import Door
from relay.smtp import replies
from relay.smtp.data_reader import END, DataReader

log = logging.getLogger(__name__)

# aiosmtpd's own texts (by prefix) and what the relay says instead.
_TRANSLATIONS: tuple[tuple[str, str], ...] = (
    ("500 Command line too long", str(replies.COMMAND_TOO_LONG)),
    ("500 Error: bad syntax", str(replies.BAD_SYNTAX)),
    ("500 Error: strict ASCII mode", str(replies.NON_ASCII_COMMAND)),
    ("500 Error: command", str(replies.UNKNOWN_COMMAND)),
    ("500 Line too long", str(replies.BAD_SYNTAX)),
    ("552 Error: message size exceeds", ""),  # filled in per instance: names the limit
    ("552 Error: Too much mail data", ""),
    ("553 5.1.3 Error: malformed address", "553 5.1.3 The address is malformed; write it as <name@example.org>"),
    ("503 Error: need MAIL command", "503 5.5.1 Send MAIL FROM first"),
    ("503 Error: need RCPT command", "503 5.5.1 Send RCPT TO first"),
    ("503 Error: nested MAIL command", "503 5.5.1 A transaction is already open; send RSET first"),
    ("501 Error: ", "501 5.5.4 Syntax error in parameters"),
    ("555 ", "555 5.5.4 Parameters not recognized"),
    ("500 Error", str(replies.BAD_SYNTAX)),
)


# The plain form of a MAIL or RCPT path: <local@domain> in dot-atoms, then parameters or nothing.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_PLAIN_PATH_RE = re.compile(rf"[ \t]*<({_DOT_ATOM}@{_DOT_ATOM})>(?:[ \t]+([^ \t(].*))?", re.DOTALL)


def plain_path(arg: str) -> tuple[str, str] | None:
    """(address, parameters) of a path in its plain form, as aiosmtpd's parser reads it; None otherwise.

    aiosmtpd reads every path with the full RFC 5322 address parser (about
    0.1 ms a call); nearly all paths are this simple. The others (quoted
    local parts, comments, domain literals, UTF-8) still go to that parser.
    """
    match = _PLAIN_PATH_RE.fullmatch(arg)
    if match is None:
        return None
    return match[1], match[2] or ""


def translate(status: str, max_size: int) -> str:
    """The relay's wording for one of aiosmtpd's stock replies; others pass unchanged."""
    for prefix, ours in _TRANSLATIONS:
        if status.startswith(prefix):
            return ours or str(replies.size_limit(max_size))
    return status


class RelaySMTP(SMTP):
    def __init__(self, handler, *, door: Door, **kwargs) -> None:
        self.door = door
        # The stream's line limit bounds both commands and data lines.
        self.line_length_limit = max(door.data.max_line, 1001)
        super().__init__(handler, data_size_limit=door.data.max_size, **kwargs)

    @property
    def peer_ip(self) -> str:
        peer = self.session.peer if self.session else None
        return str(peer[0]) if isinstance(peer, (tuple, list)) and peer else str(peer or "")

    async def push(self, status) -> None:
        if isinstance(status, bytes):
            status = status.decode("utf-8", "replace")
        status = translate(status, self.door.data.max_size)
        self.event_handler.on_reply(status)
        await super().push(status)
        if status.startswith("421") and self.transport is not None:
            self.transport.close()

    async def _handle_client(self) -> None:
        key = self.peer_ip
        if not self.door.connections.open(key):
            log.warning("%s: too many connections, refused", key)
            await self.push(str(replies.TOO_MANY_CONNECTIONS))
            return
        try:
            await super()._handle_client()
        finally:
            self.door.connections.close(key)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        plain = plain_path(arg) if arg else None
        if plain is None or (self.local_part_limit and len(plain[0].rpartition("@")[0]) > self.local_part_limit):
            return super()._getaddr(arg)
        return plain

    async def smtp_MAIL(self, arg):
        if await self._refuse_argument(arg, "FROM:", recipient=False):
            return
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        if await self._refuse_argument(arg, "TO:", recipient=True):
            return
        await super().smtp_RCPT(arg)

    async def _refuse_argument(self, arg: str | None, keyword: str, recipient: bool) -> bool:
        """NUL anywhere, or a source route, which aiosmtpd would strip silently before the handler saw it."""
        if arg and "\0" in arg:
            await self.push(str(replies.NUL_IN_COMMAND))
            return True
        path = (arg or "")[len(keyword):].strip() if (arg or "").upper().startswith(keyword) else ""
        if path.startswith("<@"):
            await self.push(str(replies.bad_address("source routes are not accepted", recipient=recipient)))
            return True
        return False

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Send RCPT TO first")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA takes no arguments")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        reader = DataReader(self.door.data)
        while self.transport is not None:
            try:
                # Up to the next ".<CR><LF>", which the lone dot ends with: one read takes every
                # line up to it (or all the stream holds), never a byte past the end of the data.
                chunk = await self._reader.readuntil(END)
            except asyncio.LimitOverrunError as error:
                chunk = await self._reader.read(error.consumed)
            except asyncio.CancelledError:
                self._writer.close()
                raise
            if reader.feed(chunk):
                break
        if reader.problem is not None:
            log.info("%s: DATA refused: %s", self.peer_ip, reader.problem)
            self._set_post_data_state()
            await self.push(str(reader.problem))
            return
        content = reader.content()
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)
