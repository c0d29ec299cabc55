"""A moderator's reply to a notice, read as one command: approve, redact, reject, hold, suspend, note or help.

Moderators answer from whatever client they have, so the new text is cut
from quotes and signatures by mail-parser-reply, which knows the quote
headers of the common clients in several languages. Around it we only do
what it leaves to its caller: choosing the part to read, normalising odd
spaces, and dropping '>' quoted lines with the one attribution line that
introduces them (bottom posting, and quote headers in forms it does not
know, such as Gmail's Spanish and Dutch ones).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from mailparser_reply import EmailReplyParser

from relay.intake.parse import html_to_text
from relay.model import Inspection

VERBS = frozenset({"approve", "redact", "reject", "hold", "suspend", "note", "help"})

# Languages whose quote headers need two header lines to match; Polish and
# Czech match on a single "Do:" or "Data:" line and would cut real text.
REPLY_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "sv", "da")

_ODD_SPACES = re.compile(r"[\u00a0\u2007\u202f\u2009\u200b\ufeff]")
_COMMAND_RE = re.compile(r"^\W*([A-Za-z]+)(?![\w@])(.*)$", re.DOTALL)
_SEPARATORS = " \t-–—:;,.!?*_"

# The reply parser's patterns grow worse than linearly with line length; a
# command sits at the top, so only the head of the text is read, in short lines.
MAX_TEXT = 8_000
MAX_LINE = 500


@dataclass(frozen=True)
class ModerationCommand:
    verb: str  # approve | redact | reject | hold | suspend | note | help | unknown
    argument: str = ""


def _body_text(found: Inspection) -> str:
    """The first text/plain part with words in it, else the first HTML part as text."""
    for text in found.texts:
        if text.strip():
            return text
    for html in found.htmls:
        text = html_to_text(html)
        if text.strip():
            return text
    return ""


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _drop_quotes(text: str) -> str:
    """Remove '>' lines and the attribution line (ending in ':') just above a quote.

    An attribution wrapped over two lines (Gmail wraps at 78 columns, often
    right after "<") loses both lines.
    """
    lines = text.split("\n")
    keep = [True] * len(lines)
    for i, line in enumerate(lines):
        if not _is_quoted(line):
            continue
        keep[i] = False
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0 and keep[j] and not _is_quoted(lines[j]) and lines[j].rstrip().endswith(":"):
            keep[j] = False
            if j > 0 and lines[j - 1].rstrip().endswith(("<", "(<")):
                keep[j - 1] = False
    return "\n".join(line for line, kept in zip(lines, keep) if kept).strip()


def _bounded(text: str) -> str:
    """The head of ``text`` with long lines wrapped, so parsing time stays small."""
    lines = []
    for line in text[:MAX_TEXT].split("\n"):
        lines.extend(textwrap.wrap(line, MAX_LINE) if len(line) > MAX_LINE else [line])
    return "\n".join(lines)


def new_text(found: Inspection) -> str:
    """What the person wrote in this reply, without quoted text or signature."""
    text = _bounded(_ODD_SPACES.sub(" ", _body_text(found).replace("\r\n", "\n")))
    if not text.strip():
        return ""
    message = EmailReplyParser(languages=list(REPLY_LANGUAGES)).read(text)
    for reply in message.replies:
        body = _drop_quotes(reply.body)
        if body:
            return body
    return ""


def parse_command_text(text: str) -> ModerationCommand:
    """Read a command from the first non-empty line; a note also keeps the lines after it."""
    lines = [line.strip() for line in text.strip().split("\n")]
    if not lines or not lines[0]:
        return ModerationCommand("unknown")
    match = _COMMAND_RE.match(lines[0])
    verb = match[1].lower() if match else ""
    if verb not in VERBS:
        return ModerationCommand("unknown", lines[0][:200])
    argument = match[2].lstrip(_SEPARATORS).rstrip() if match else ""
    if verb == "note":
        argument = "\n".join([argument, *lines[1:]]).strip()
    return ModerationCommand(verb, argument)


def parse_moderation_reply(found: Inspection) -> ModerationCommand:
    """The command in a moderator's reply; ``unknown`` (with the line read) when there is none."""
    return parse_command_text(new_text(found))
