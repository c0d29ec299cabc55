"""A multipart whose boundary is missing or wrong, read back into parts the way mail clients do.

When the declared boundary never appears, Thunderbird and Apple Mail look
for the delimiter the body itself uses ("--something" on a line of its own,
at least twice). Delivering the parts is what the sender saw; flattening
them into one text shows the recipient raw MIME instead.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from email.message import Message

# RFC 2046 boundary characters, without a trailing space; a line "-- " (a signature) is not one.
_DELIMITER = re.compile(rb"(?m)^--([0-9A-Za-z'()+_,./:=?-][0-9A-Za-z'()+_,./:=? -]{0,68}[0-9A-Za-z'()+_,./:=?-]|[0-9A-Za-z])[ \t]*\r?$")


def recover_multipart(part: Message) -> Message | None:
    """The part re-read with the delimiter its body uses, or None when there is none to find."""
    try:
        body = part.get_payload(decode=True)  # a transfer encoding on the multipart itself is undone, as clients do
    except Exception:
        return None
    if not body:
        return None
    boundary = _body_delimiter(body)
    if boundary is None:
        return None
    subtype = part.get_content_subtype().lower()
    subtype = subtype if re.fullmatch(r"[a-z0-9.+-]{1,40}", subtype) else "mixed"
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary.decode("ascii")}"\r\n\r\n'.encode()
    try:
        recovered = email.message_from_bytes(head + body, policy=email.policy.compat32)
    except Exception:
        return None
    children = recovered.get_payload()
    return recovered if isinstance(children, list) and children else None


def _body_delimiter(body: bytes) -> bytes | None:
    counts: Counter[bytes] = Counter()
    order: list[bytes] = []
    for match in _DELIMITER.finditer(body):
        value = match.group(1)
        key = value[:-2] if value.endswith(b"--") and len(value) > 2 else value
        if key.strip(b"-") == b"":
            continue
        if key not in counts:
            order.append(key)
        counts[key] += 1
    for key in order:
        if counts[key] >= 2:
            return key
    return None
