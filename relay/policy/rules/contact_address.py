"""contact_address: a street address, caught conservatively.

A house number, a street name and a street suffix ("42 Maple Street", "221B
Baker St, Apt 3"). Street names must be capitalised unless the address is
introduced ("I live at 12 oak lane"), so "I ran 5 miles down the road" is
left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.rules.base import MAX_FINDINGS, Rule, Settings, finding, sources_of
from relay.policy.text import Readable, Source

NAME = "contact_address"

_SUFFIX = (
    r"street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|drive|dr|court|ct|place|pl|"
    r"way|terrace|ter|circle|cir|parkway|pkwy|highway|hwy|crescent|cres|close|square|sq|"
    r"trail|trl|row|grove|gardens|gdns|mews"
)
_UNIT = r"(?:,?\s*(?i:apt|apartment|unit|suite|ste|flat|#)\.?\s*#?\s*[\w-]{1,6})?"
_NUMBER = r"(?<![\w.,/:-])\d{1,6}[a-zA-Z]?"
# Capitalised street names ("Maple", "Martin Luther King") or numbered ones ("5th").
_STRICT = re.compile(
    rf"{_NUMBER}\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?"
    rf"(?:(?:[A-Z][a-z'’]+|\d{{1,3}}(?:st|nd|rd|th))\s+){{1,4}}(?i:(?:{_SUFFIX}))\b\.?{_UNIT}",
)
_INTRODUCED = re.compile(
    r"\b(?:live|living|staying)\s+(?:at|on)\s+|\baddress\s*(?:is|:)\s*|\bhouse\s+is\s+(?:at\s+)?|"
    r"\bcome\s+(?:over\s+)?to\s+|\bmeet\s+(?:me\s+|up\s+)?at\s+",
    re.IGNORECASE,
)
_ANY_CASE = re.compile(
    rf"{_NUMBER}\s+(?:[a-z'’]+\s+){{1,4}}(?:{_SUFFIX})\b\.?{_UNIT}", re.IGNORECASE
)


# Both patterns end in a suffix after a space and before a word boundary: a whole word.
_SUFFIX_WORDS = frozenset(_SUFFIX.split("|"))
# Every introduction starts with one of these words ("address" may run into "is").
_INTRODUCING_WORDS = frozenset({"live", "living", "staying", "house", "come", "meet"})


def _may_introduce(source: Source) -> bool:
    """Whether ``_INTRODUCED`` can match: a street in any case counts only after an introduction."""
    return not source.key_words.isdisjoint(_INTRODUCING_WORDS) or "address" in source.key


@dataclass(frozen=True)
class AddressSettings(Settings):
    pass


def _spans(source: Source) -> list[tuple[int, int]]:
    """Addresses starting at a run of digits: the only places either pattern can start.

    Tried run by run with ``match``, which finds what a scan of the whole text
    finds (a house number cannot start inside another number), at a fraction
    of the cost, and in ASCII text only at the runs one search of its kinds
    leaves; introductions are looked for only when some number is followed
    by a street.
    """
    text = source.text
    spans: list[tuple[int, int]] = []
    streets: dict[int, tuple[int, int]] = {}
    if source.key_words.isdisjoint(_SUFFIX_WORDS):
        return spans
    introduced = _may_introduce(source)
    for start in _starts(source, introduced):
        if not spans or start >= spans[-1][1]:
            match = _STRICT.match(text, start)
            if match:
                spans.append(match.span())
        match = _ANY_CASE.match(text, start) if introduced else None
        if match:
            streets[start] = match.span()
    if streets:
        spans += [streets[intro.end()] for intro in _INTRODUCED.finditer(text) if intro.end() in streets]
    return spans


# Where ``_STRICT`` can start in an ASCII text's kinds: a run of at most six digits, perhaps a
# letter, spaces, then a capital or a digit (a street's name, its direction or its number).
_STRICT_START = re.compile(r"0(?<!00)0{0,5}[aAx]?(?= +[Ax0])")


def _starts(source: Source, introduced: bool) -> list[int]:
    """Where either pattern may start: every digit run, or with no introduction the runs ``_STRICT`` may start at."""
    if source.text.isascii() and not introduced:
        return [m.start() for m in _STRICT_START.finditer(source.classes)]
    return [start for start, _ in source.digit_runs]


def check(
    inspection: Inspection, ctx: PolicyContext, settings: AddressSettings, readable: Readable | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for source in sources_of(inspection, readable).sources:
        for start, end in _spans(source):
            key = source.text[start:end].lower()
            if any(key in s or s in key for s in seen):
                continue
            seen.add(key)
            reason = f"what looks like a street address in the {source.where}"
            findings.append(finding(NAME, settings, reason, source.text, start, end))
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="A street address: house number, street name and suffix.",
    settings=AddressSettings,
    check=check,
)
