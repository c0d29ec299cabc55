"""Does a circle message ask something of the mentors? Decided from the new text alone.

Pure. A question mark in what the person wrote now (not in quoted text, not
inside a link), or the mentors addressed by name ("Mentors, ...", "Hi
mentor", "@mentors", "a question for the mentors") counts as asking.
"""

from __future__ import annotations

import re

from mailparser_reply import EmailReplyParser

REPLY_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "sv", "da")
MAX_TEXT = 20_000

_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_MENTORS = r"mentors?\b"
_ADDRESSED = re.compile(
    r"(?im)"
    rf"(?:^[ \t]*(?:(?:hi|hello|hey|dear|to)[ \t]+)?(?:(?:all|the|our|dear)[ \t]+)*{_MENTORS}[ \t]*[,:!\-–—]"
    rf"|@{_MENTORS}"
    rf"|\b(?:hi|hello|hey|dear)[ \t]+(?:(?:all|the|our)[ \t]+)*{_MENTORS}"
    rf"|\b(?:question|questions)[ \t]+(?:for|to)[ \t]+(?:(?:all|the|our|my)[ \t]+)*{_MENTORS}"
    rf"|\bask(?:ing)?[ \t]+(?:(?:all|the|our|my)[ \t]+)*{_MENTORS})"
)


def new_text(text: str) -> str:
    """What the writer added: the first reply block, without '>' lines or the attribution above them."""
    text = text[:MAX_TEXT].replace("\r\n", "\n")
    if not text.strip():
        return ""
    try:
        replies = EmailReplyParser(languages=list(REPLY_LANGUAGES)).read(text).replies
    except Exception:  # the parser is heuristic; the whole text is a safe fallback
        replies = []
    body = next((r.body for r in replies if r.body and r.body.strip()), text)
    lines = [line for line in body.split("\n") if not line.lstrip().startswith(">")]
    while lines and lines[-1].rstrip().endswith(":") and "wrote" in lines[-1].lower():
        lines.pop()
    return "\n".join(lines).strip()


def asks_mentors(text: str) -> bool:
    """True when the new text asks a question, or speaks to the mentors."""
    fresh = new_text(text)
    if "?" in _URL.sub(" ", fresh):
        return True
    return _ADDRESSED.search(fresh) is not None
