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
from relay.policy.rules.base import MAX_FINDINGS, Rule, Settings, finding
from relay.policy.text import readable_sources

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


@dataclass(frozen=True)
class AddressSettings(Settings):
    pass


def _spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _STRICT.finditer(text)]
    for intro in _INTRODUCED.finditer(text):
        match = _ANY_CASE.match(text, intro.end())
        if match:
            spans.append(match.span())
    return spans


def check(inspection: Inspection, ctx: PolicyContext, settings: AddressSettings) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for source in readable_sources(inspection):
        for start, end in _spans(source.text):
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
