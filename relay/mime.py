"""Reading a message into the email package's ``Message``, as its parser reads it, faster for a single part.

Both ends of the path read a message this way: intake's one parse
(``relay.intake.parse.inspect``) and the masked copy, which reads the stored
original again at send time (``relay.outbound.rewrite``). The parser hands
the body of a single-part message over line by line, in Python, only to
join the lines again: most of a 64 KB message's parse. Here such a body is
taken whole; a property test holds the result equal to the parser's
(headers, payload and defects).
"""

from __future__ import annotations

import email
import email.feedparser
import email.policy
import re
from email.message import Message

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")  # one line as the email package's parser splits them


def read_message(raw: bytes) -> Message:
    """``raw`` exactly as ``email.message_from_bytes(raw, policy=compat32)`` reads it.

    A single-part message is read as the parser reads it, header block and
    all, except that the body is taken whole. Anything else (multipart,
    message/*, a header block that might say so or lacks its blank line) is
    left to the parser, so its errors (a RecursionError for deep nesting)
    are the parser's too.
    """
    text = raw.decode("ascii", "surrogateescape")  # as BytesParser decodes it
    end = _head_end(text)
    if end is not None and not _may_have_parts(text[:end]):
        head = email.message_from_string(text[:end], policy=email.policy.compat32)
        if head.get_content_maintype() not in ("multipart", "message"):  # always so, after the look above
            head.set_payload(text[end:])
            return head
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _may_have_parts(head: str) -> bool:
    """Whether a header block can say multipart/* or message/*, so only the parser itself can read the message.

    The content type is read from the header's own characters, so "multipart"
    or "message" must occur in the block for it to be either (Message-ID
    aside). Looking first keeps a multipart message to one parse, not a parse
    of its header block and then another of the whole.
    """
    lowered = head.lower()
    return "multipart" in lowered or "message" in lowered.replace("message-id", "")


def _head_end(text: str) -> int | None:
    """Where the body starts, after the blank line that ends the header block as the parser finds it; None without one."""
    at = 0
    while (line := _LINE.match(text, at)) is not None:
        if not email.feedparser.headerRE.match(line.group()):
            return line.end() if email.feedparser.NLCRE.match(line.group()) else None
        at = line.end()
    return None
