"""Reads SMTP DATA and says whether it may become a message.

Pure: fed the bytes of DATA in whatever pieces the stream gives, it finds
the lone dot that ends the data and records the first reason to refuse.
Only CRLF ends a line: a bare LF or CR inside one is refused, never
normalised, because a relay that turns ``\\n.\\r\\n`` into a line ending
downstream lets a second message be smuggled through it. After a refusal
the rest is read and thrown away, so memory stays bounded and the session
stays in step.

The checks run on whole blocks of lines at once (a few passes in C over the
bytes); only a block in which something is wrong is read line by line, so
the reply names the first problem in the order the lines came.
"""

from __future__ import annotations

from relay.smtp.limits import DataLimits
from relay.smtp import replies
from relay.smtp.replies import Reply

END = b".\r\n"
_CRLF = b"\r\n"


class DataReader:
    def __init__(self, limits: DataLimits) -> None:
        self.limits = limits
        self.problem: Reply | None = None
        self.ended = False
        self.rest = b""  # bytes fed after the end of the data: not part of it
        self._blocks: list[bytes] = []  # accepted lines, still dot-stuffed, each block starting a line
        self._carry = b""  # the line being read, until its CRLF arrives
        self._long = 0  # bytes dropped from a line already longer than the limit (0: none)
        self._size = 0
        self._header_size = 0
        self._in_header = True

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes of the data; True once the lone dot that ends it has come."""
        if self.ended:
            self.rest += chunk
            return True
        buf = self._carry + chunk if self._carry else chunk
        if not self._long and buf.startswith(END):
            end = 0  # the lone dot right at the start of a line
        else:
            end = buf.find(b"\r\n.\r\n")
            end = -1 if end < 0 else end + 2
        if end >= 0:
            self._carry = b""
            self._lines(buf[:end])
            self.ended, self.rest = True, buf[end + len(END) :]
            return True
        last = buf.rfind(_CRLF) + 2  # 1 when there is no CRLF: the whole buffer is one unfinished line
        cut = last if last > 1 else 0
        self._lines(buf[:cut])
        self._carry = buf[cut:]
        if len(self._carry) > self.limits.max_line:
            # Too long whatever follows: count its bytes, keep only a CR that a LF may complete.
            keep = 1 if self._carry.endswith(b"\r") else 0
            self._long += len(self._carry) - keep
            self._carry = self._carry[len(self._carry) - keep :]
        return False

    def content(self) -> bytes:
        """The message, dot-unstuffed (RFC 5321 4.5.2); only when the data ended without a problem."""
        assert self.ended and self.problem is None
        data = b"".join(self._blocks)
        if data.startswith(b"."):
            data = data[1:]
        return data.replace(b"\r\n.", b"\r\n")  # every CRLF in accepted data ends a line

    def _lines(self, block: bytes) -> None:
        """Whole lines (each ending in CRLF), the first one continuing a too-long line if any."""
        if not block:
            return
        if self._long:
            cut = block.find(_CRLF) + 2
            self._long_line_ends(cut)
            block = block[cut:]
        if not block or self.problem is not None:
            return
        if self._clean(block):
            self._size += len(block)
            self._blocks.append(block)
            return
        for line in block.split(_CRLF)[:-1]:  # something is wrong in here: find it line by line
            self._line(line + _CRLF)
            if self.problem is not None:
                return

    def _clean(self, block: bytes) -> bool:
        """Whether no line of ``block`` gives a reason to refuse, judged in a few passes over it."""
        limits = self.limits
        if self._size + len(block) > limits.max_size or b"\0" in block:
            return False
        crlfs = block.count(_CRLF)
        if block.count(b"\r") != crlfs or block.count(b"\n") != crlfs:
            return False  # a bare CR or LF
        if len(block) > limits.max_line and max(map(len, block.split(_CRLF))) + 2 > limits.max_line:
            return False
        if self._in_header:
            blank = 0 if block.startswith(_CRLF) else block.find(b"\r\n\r\n") + 2
            header = len(block) if blank == 1 else blank  # find gave -1: no blank line here
            if self._header_size + header > limits.max_header:
                return False
            self._header_size += header
            self._in_header = blank == 1
        return True

    def _long_line_ends(self, rest: int) -> None:
        """A line already too long has ended, ``rest`` bytes (with its CRLF) after the dropped ones."""
        length = self._long + rest
        self._long = 0
        self._size += length
        if self._size > self.limits.max_size:
            self._refuse(replies.size_limit(self.limits.max_size))
        self._refuse(replies.line_too_long(self.limits.max_line))

    def _line(self, line: bytes) -> None:
        """One line's checks, in the order a refusal names them."""
        limits = self.limits
        self._size += len(line)
        if self._size > limits.max_size:
            self._refuse(replies.size_limit(limits.max_size))
        if len(line) > limits.max_line:
            self._refuse(replies.line_too_long(limits.max_line))
        body = line[:-2]
        if b"\r" in body or b"\n" in body:
            self._refuse(replies.BARE_LINE_ENDING)
        if b"\0" in line:
            self._refuse(replies.NUL_IN_DATA)
        if self._in_header:
            if line == _CRLF:
                self._in_header = False
            else:
                self._header_size += len(line)
                if self._header_size > limits.max_header:
                    self._refuse(replies.header_too_big(limits.max_header))
        if self.problem is None:
            self._blocks.append(line)

    def _refuse(self, reply: Reply) -> None:
        if self.problem is None:
            self.problem = reply
        self._blocks = []
