"""Redaction (pure): each finding's matched text becomes "[removed by the program]" in every MIME part.

A moderator who answers ``redact`` lets a held message through without the
phone number, address, handle or link that held it. Matching ignores case
and the kind of white space between words (a client may wrap a long line
inside an address); HTML parts are matched in their escaped form too.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.message import EmailMessage
from typing import Sequence

REMOVED = "[removed by the program]"
MAX_PARTS = 200  # a hostile message with thousands of parts is redacted no deeper than this


def pattern(matches: Sequence[str]) -> re.Pattern[str] | None:
    """One pattern for every match, longest first so a longer match is not cut by a shorter one."""
    forms: set[str] = set()
    for match in matches:
        words = match.split()
        if not words:
            continue
        forms.add(r"\s+".join(re.escape(w) for w in words))
        escaped = html.escape(" ".join(words), quote=False).split()
        forms.add(r"\s+".join(re.escape(w) for w in escaped))
    if not forms:
        return None
    return re.compile("|".join(sorted(forms, key=len, reverse=True)), re.IGNORECASE)


def redact_text(text: str, matches: Sequence[str]) -> tuple[str, int]:
    """(text with every match replaced, how many replacements)."""
    compiled = pattern(matches)
    if compiled is None:
        return text, 0
    return compiled.subn(REMOVED, text)


def _redact_part(part: EmailMessage, matches: Sequence[str]) -> int:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        return 0
    if not isinstance(content, str):
        return 0
    changed, count = redact_text(content, matches)
    if count:
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        part.set_content(changed, subtype=part.get_content_subtype(), charset="utf-8",
                         disposition=disposition, filename=filename)
    return count


def redact_message(raw: bytes, matches: Sequence[str]) -> tuple[bytes, int]:
    """(the message with every match removed from its subject and every text part, replacements made)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    count = 0
    subject = message.get("Subject")
    if subject is not None:
        new_subject, n = redact_text(str(subject), matches)
        if n:
            message.replace_header("Subject", new_subject)
            count += n
    for index, part in enumerate(message.walk()):
        if index >= MAX_PARTS:
            break
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        count += _redact_part(part, matches)
    return message.as_bytes(policy=email.policy.default.clone(linesep="\r\n")), count
