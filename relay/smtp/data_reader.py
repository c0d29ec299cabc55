"""Reads the lines of SMTP DATA and says whether they may become a message.

Pure: fed the chunks the stream gives (a whole line ending in CRLF, or a
piece of one too long for the buffer), it finds the lone dot that ends the
data and records the first reason to refuse. Only CRLF ends a line: a bare
LF or CR inside one is refused, never normalised, because a relay that
turns ``\\n.\\r\\n`` into a line ending downstream lets a second message be
smuggled through it. After a refusal the rest is read and thrown away, so
memory stays bounded and the session stays in step.
"""

from __future__ import annotations

from relay.smtp.limits import DataLimits
from relay.smtp import replies
from relay.smtp.replies import Reply

END = b".\r\n"


class DataReader:
    def __init__(self, limits: DataLimits) -> None:
        self.limits = limits
        self.problem: Reply | None = None
        self._lines: list[bytes] = []
        self._fragments: list[bytes] = []
        self._size = 0
        self._header_size = 0
        self._in_header = True

    def feed(self, chunk: bytes) -> bool:
        """Take one chunk; True when it was the lone dot that ends the data."""
        if not self._fragments and chunk == END:
            return True
        self._size += len(chunk)
        if self._size > self.limits.max_size:
            self._refuse(replies.size_limit(self.limits.max_size))
        self._fragments.append(chunk)
        if chunk.endswith(b"\r\n"):
            line = b"".join(self._fragments)
            self._fragments = []
            self._check(line)
            if self.problem is None:
                self._lines.append(line)
        elif sum(map(len, self._fragments)) > self.limits.max_line:
            self._fragments = [b""]  # keep "inside a line" without keeping the bytes
            self._refuse(replies.line_too_long(self.limits.max_line))
        return False

    def content(self) -> bytes:
        """The message, dot-unstuffed (RFC 5321 4.5.2); only when there is no problem."""
        assert self.problem is None
        return b"".join(line[1:] if line.startswith(b".") else line for line in self._lines)

    def _check(self, line: bytes) -> None:
        if len(line) > self.limits.max_line:
            self._refuse(replies.line_too_long(self.limits.max_line))
        body = line[:-2]
        if b"\r" in body or b"\n" in body:
            self._refuse(replies.BARE_LINE_ENDING)
        if b"\0" in line:
            self._refuse(replies.NUL_IN_DATA)
        if self._in_header:
            if line == b"\r\n":
                self._in_header = False
            else:
                self._header_size += len(line)
                if self._header_size > self.limits.max_header:
                    self._refuse(replies.header_too_big(self.limits.max_header))

    def _refuse(self, reply: Reply) -> None:
        if self.problem is None:
            self.problem = reply
        self._lines = []
