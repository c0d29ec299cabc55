"""contact_phone: phone numbers, however they are written.

The phonenumbers library finds numbers that are valid for the program's
region (and any extra regions); numbers it thinks merely possible count only
after a cue such as "call me" or "my number is", so "555 123 4567" after "text
me" is caught while page and order numbers are not. Digits spaced out one by
one or spelled as words are how people slip numbers past filters, so those
count too. Dates, times, prices, years and ranges never parse as valid numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.rules.base import MAX_FINDINGS, Rule, SettingError, Settings, finding, read_dataclass
from relay.policy.text import readable_sources

NAME = "contact_phone"

_CUE = re.compile(
    r"\b(?:call|text|txt|ring|phone|cell|mobile|mob|tel|number|num|digits|whats\s?app|"
    r"sms|facetime|signal|reach\s+me|hit\s+me\s+up|hmu)\b[^\n\d]{0,25}$",
    re.IGNORECASE,
)
# A number introduced this way is a reference, not a phone: "order #2125551234".
_REFERENCE = re.compile(
    r"(?:\b(?:order|invoice|tracking|ref|reference|confirmation|ticket|account|acct|case|"
    r"isbn|serial|po|id|student)\b[^\n\d]{0,15}|#\s*)$",
    re.IGNORECASE,
)
_SPACED_DIGITS = re.compile(r"(?<![\d\w])\d(?:[ .\-_*/]{1,3}\d){6,14}(?![\d\w])")
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_SPELLED = re.compile(
    r"\b(?:(?:%s)[\s,\-]+){6,14}(?:%s)\b" % (("|".join(_DIGIT_WORDS),) * 2), re.IGNORECASE
)


@dataclass(frozen=True)
class PhoneSettings(Settings):
    # The program's region (set by "region" in the policy), for numbers without "+".
    region: str = "US"
    # Regions besides the program's, e.g. ["GB", "IE"] for a transatlantic program.
    extra_regions: tuple[str, ...] = ()
    # Numbers anyone may share, in E.164: helplines a mentor points a mentee to.
    allowed_numbers: tuple[str, ...] = ("+18002738255", "+18004224453")


def parse(table: Mapping[str, Any]) -> PhoneSettings:
    """Settings whose regions are ones the phonenumbers library knows ("US", "GB")."""
    settings = read_dataclass(PhoneSettings, table)
    for key, region in [("region", settings.region)] + [("extra_regions", r) for r in settings.extra_regions]:
        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise SettingError(key, f"unknown region {region!r} (expected a two-letter code such as US or GB)")
    return settings


def _matcher_spans(text: str, region: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
        before = text[max(0, match.start - 40) : match.start]
        if _REFERENCE.search(before):
            continue
        if phonenumbers.is_valid_number(match.number) or _CUE.search(before):
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            spans.append((match.start, match.end, e164))
    return spans


def _obfuscated_spans(text: str) -> list[tuple[int, int, str]]:
    spans = []
    for match in _SPACED_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        counting = all(int(b) - int(a) == 1 for a, b in zip(digits, digits[1:]))
        if not counting and not _REFERENCE.search(text[max(0, match.start() - 40) : match.start()]):
            spans.append((match.start(), match.end(), digits))
    for match in _SPELLED.finditer(text):
        digits = "".join(_DIGIT_WORDS[w.lower()] for w in re.findall(r"[a-z]+", match.group(), re.I))
        spans.append((match.start(), match.end(), digits))
    return spans


def check(inspection: Inspection, ctx: PolicyContext, settings: PhoneSettings) -> list[Finding]:
    wanted = (settings.region, ctx.region, *settings.extra_regions)
    regions = dict.fromkeys(r.upper() for r in wanted if r)
    seen = {n.lstrip("+") for n in settings.allowed_numbers}
    findings: list[Finding] = []
    for source in readable_sources(inspection):
        spans = [s for region in regions for s in _matcher_spans(source.text, region)]
        taken: list[tuple[int, int]] = []
        for start, end, number in spans + _obfuscated_spans(source.text):
            overlaps = any(start < e and s < end for s, e in taken)
            if overlaps or number.lstrip("+") in seen:
                continue
            seen.add(number.lstrip("+"))
            taken.append((start, end))
            reason = f"a phone number in the {source.where}"
            findings.append(finding(NAME, settings, reason, source.text, start, end))
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="A phone number, in any common format, spaced out or spelled in words.",
    settings=PhoneSettings,
    check=check,
    parse=parse,
)
