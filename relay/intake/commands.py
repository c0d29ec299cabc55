"""What a participant asks of the service address: away, back, status, help, digests, sharing.

Participants write one short line, in the subject or at the top of the
message ("away until 5 December visiting family"); this reads that line
against ``today`` so relative dates resolve the way the writer meant them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"), ("thursday", "thu", "thurs"),
         ("friday", "fri"), ("saturday", "sat"), ("sunday", "sun")]
    )
    for name in names
}  # fmt: skip

_MONTH = "(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + ")"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_END = r"(?![\w.-])"

_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _END, re.IGNORECASE | re.ASCII)
_DOTTED_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})?" + _END, re.IGNORECASE | re.ASCII)
_DAY_MONTH_RE = re.compile(_DAY + r"\s+(?:of\s+)?" + _MONTH + _YEAR + _END, re.IGNORECASE | re.ASCII)
_MONTH_DAY_RE = re.compile(_MONTH + r"\s+" + _DAY + _YEAR + _END, re.IGNORECASE | re.ASCII)
_WEEKDAY_RE = re.compile(r"(?:next\s+)?" + _WEEKDAY + _END, re.IGNORECASE | re.ASCII)
_SPAN_RE = re.compile(
    r"(?:for\s+)?(\d{1,3}|a|one|two|three|four)\s+(days?|weeks?|months?)" + _END, re.IGNORECASE | re.ASCII
)
_WORD_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4}

_REPLY_PREFIX_RE = re.compile(r"^(?:(?:re|fwd?|aw|wg|sv|vs|tr|rv|antw)\s*:\s*)+", re.IGNORECASE)
_SPEAKER_RE = re.compile(r"^(?:i'm|i’m|im|i am|please|pls)\s+", re.IGNORECASE)
_UNTIL_RE = re.compile(r"(?:until|till|til|through|thru)\s+", re.IGNORECASE)
_CIRCLE_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_SEPARATORS = " \t,;:-–—"
_KEYWORD_RE = re.compile(
    r"([a-z]+(?:-(?:on|off|address))?|\?)(?![\w@])[\s,:;.!?-]*(.*)$", re.IGNORECASE | re.DOTALL
)
_SHARE_RE = re.compile(r"(?:my\s+)?(?:real\s+)?(?:e-?mail\s+)?address[\s.!]*", re.IGNORECASE)


@dataclass(frozen=True)
class ServiceCommand:
    verb: str  # away | back | status | help | digest-on | digest-off | leave | share-address | unknown
    until: date | None = None  # last day away; None = until further notice
    reason: str = ""  # why away; for unknown, what could not be read
    circle: str = ""  # for digest-on / digest-off ("" = all circles) and leave


def _resolve(year: int | None, month: int, day: int, today: date) -> date | None:
    """The date meant: with no year, the next such day from today on."""
    years = [year] if year else range(today.year, today.year + 5)
    for candidate_year in years:
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            continue
        if year or candidate >= today:
            return candidate
    return None


def _span(match: re.Match[str], today: date) -> date:
    count = _WORD_NUMBERS.get(match[1].lower()) or int(match[1])
    unit = match[2].lower().rstrip("s")
    days = {"day": 1, "week": 7, "month": 30}[unit] * count
    return today + timedelta(days=days)


def parse_date(text: str, today: date) -> tuple[date | None, str]:
    """A date at the start of ``text`` and the text after it; (None, text) when there is none."""
    try:
        return _parse_date(text, today)
    except OverflowError:  # past year 9999
        return None, text


def _parse_date(text: str, today: date) -> tuple[date | None, str]:
    if match := _ISO_RE.match(text):
        return _resolve(int(match[1]), int(match[2]), int(match[3]), today), text[match.end() :]
    if match := _DOTTED_RE.match(text):
        year = int(match[3]) if match[3] else None
        return _resolve(year, int(match[2]), int(match[1]), today), text[match.end() :]
    if match := _DAY_MONTH_RE.match(text):
        year = int(match[3]) if match[3] else None
        return _resolve(year, MONTHS[match[2].lower()], int(match[1]), today), text[match.end() :]
    if match := _MONTH_DAY_RE.match(text):
        year = int(match[3]) if match[3] else None
        return _resolve(year, MONTHS[match[1].lower()], int(match[2]), today), text[match.end() :]
    if match := _WEEKDAY_RE.match(text):
        ahead = (WEEKDAYS[match[1].lower()] - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead), text[match.end() :]
    if text[:8].lower() == "tomorrow" and not text[8:9].isalnum():
        return today + timedelta(days=1), text[8:]
    if match := _SPAN_RE.match(text):
        return _span(match, today), text[match.end() :]
    return None, text


def _away(rest: str, today: date, line: str) -> ServiceCommand:
    """``away``, ``away until DATE [reason]``, ``away for 2 weeks``, ``away [reason]``."""
    rest = rest.strip(_SEPARATORS)
    until_word = _UNTIL_RE.match(rest)
    candidate = rest[until_word.end() :] if until_word else rest
    until, after = parse_date(candidate, today)
    if until is None and (until_word or _SPAN_RE.match(candidate)):
        return ServiceCommand("unknown", reason=f"could not read the date in: {line}")
    if until is not None and until < today:
        return ServiceCommand("unknown", reason=f"that date has passed: {line}")
    reason = (after if until else rest).strip(_SEPARATORS).rstrip(".!")
    return ServiceCommand("away", until=until, reason=reason[:200])


def _digest(rest: str, line: str) -> ServiceCommand:
    words = rest.strip(_SEPARATORS).lower().split()
    if not words or words[0] not in ("on", "off") or len(words) > 2:
        return ServiceCommand("unknown", reason=line)
    circle = words[1].strip("#.!") if len(words) == 2 else ""
    if circle and not _CIRCLE_RE.fullmatch(circle):
        return ServiceCommand("unknown", reason=line)
    return ServiceCommand(f"digest-{words[0]}", circle=circle)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def parse_service_command(text: str, today: date) -> ServiceCommand:
    """The command on the first non-empty line of ``text`` (a subject or the new text)."""
    line = _first_line(text)
    words = _SPEAKER_RE.sub("", _REPLY_PREFIX_RE.sub("", line)).strip()
    match = _KEYWORD_RE.match(words)
    if not match:
        return ServiceCommand("unknown", reason=line[:200])
    keyword, rest = match[1].lower(), match[2]
    if keyword == "away":
        return _away(rest, today, line[:200])
    if keyword in ("back", "help", "status", "?", "commands"):
        return ServiceCommand("help" if keyword in ("?", "commands") else keyword)
    if keyword in ("digest", "digests"):
        return _digest(rest, line[:200])
    if keyword in ("digest-on", "digest-off"):
        return _digest(keyword[7:] + " " + rest, line[:200])
    if keyword == "leave":  # what a circle's List-Unsubscribe sends
        circle = rest.strip(_SEPARATORS).strip("#.!").lower()
        return ServiceCommand("leave", circle=circle) if _CIRCLE_RE.fullmatch(circle) else ServiceCommand("unknown", reason=line[:200])
    if keyword == "share-address" and not rest.strip(" .!"):
        return ServiceCommand("share-address")
    if keyword == "share" and _SHARE_RE.fullmatch(rest):
        return ServiceCommand("share-address")
    return ServiceCommand("unknown", reason=line[:200])


def parse_service_request(subject: str, new_text: str, today: date) -> ServiceCommand:
    """The subject's command, else the first line of the new text's; ``unknown`` when neither parses."""
    for text in (subject, new_text):
        command = parse_service_command(text, today)
        if command.verb != "unknown":
            return command
    # Neither parsed: answer about the body, where people write at length.
    return parse_service_command(new_text if _first_line(new_text) else subject, today)
