"""contact_phone: phone numbers, however they are written.

The phonenumbers library finds numbers that are valid for the program's
region (and any extra regions); numbers it thinks merely possible count only
after a cue such as "call me" or "my number is", so "555 123 4567" after "text
me" is caught while page and order numbers are not. Digits spaced out one by
one or spelled as words are how people slip numbers past filters, so those
count too. Dates, times, prices, years and ranges never parse as valid numbers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneMetadata, PhoneNumberFormat, PhoneNumberMatcher

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.rules.base import MAX_FINDINGS, Rule, SettingError, Settings, finding, read_dataclass, sources_of
from relay.policy.text import Readable, Source

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
_WORD = re.compile(r"\w+")
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
# Digits further apart than this belong to different numbers; a cluster is
# matched with this much text either side, so every phone number, its leading
# "+" or "(" and its extension lie inside one cluster.
_REACH = 32
# Digits the library may read as one number: joined by at most four
# punctuation characters (its own limit; "x" is one of them).
_DIGIT_GROUP = re.compile(r"\d(?:(?:\W|[xXー]){0,4}\d)*")
# The fewest digits of any possible number after a country code: Germany's
# "49" and two digits (checked against the library's data by a test).
FEWEST_WITH_COUNTRY_CODE = 4
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


def digit_clusters(source: Source) -> list[tuple[int, int, int]]:
    """(start, end, digit count) of each stretch of text where digits cluster, with context.

    Runs of digits less than 2 × ``_REACH`` characters apart join one
    cluster; a number cannot span two clusters, so matching cluster by cluster
    finds what matching the whole text finds, without scanning the prose
    between numbers.
    """
    clusters: list[list[int]] = []
    for start, end in source.digit_runs:
        if clusters and start - clusters[-1][1] <= 2 * _REACH:
            clusters[-1][1] = end
            clusters[-1][2] += end - start
        else:
            clusters.append([start, end, end - start])
    size = len(source.text)
    return [(max(0, start - _REACH), min(size, end + _REACH), digits) for start, end, digits in clusters]


@functools.cache
def fewest_digits(region: str) -> int:
    """The fewest digits a number written without "+" can have to be possible in ``region``.

    Either a national number (the region's shortest possible length) or the
    region's international prefix, a country code and a number. Regions that
    rewrite national numbers on parsing get no shortcut.
    """
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.national_prefix_transform_rule:
        return 2
    desc = metadata.general_desc
    lengths = [n for n in (*(desc.possible_length or ()), *(desc.possible_length_local_only or ())) if n > 0]
    prefix = metadata.international_prefix
    shortest_prefix = next(
        (n for n in (1, 2, 3) if prefix and any(re.fullmatch(prefix, f"{i:0{n}d}") for i in range(10**n))), 4
    )
    return max(2, min([*lengths, shortest_prefix + FEWEST_WITH_COUNTRY_CODE]))


def _might_hold_number(text: str, lo: int, hi: int, fewest: int) -> bool:
    """Whether the cluster has a "+" or a group of digits long enough to be a phone number."""
    window = text[lo:hi]
    if "+" in window or "＋" in window:
        return True
    return any(len(g) >= fewest and sum(map(str.isdigit, g)) >= fewest for g in _DIGIT_GROUP.findall(window))


@functools.cache
def _group_of(digits: int) -> re.Pattern[str]:
    """A group (``_DIGIT_GROUP``) of at least ``digits`` digits, in an ASCII text's kinds (``Source.classes``)."""
    return re.compile("0(?:[ .x]{0,4}0){%d}" % (digits - 1))


# Seven one-digit runs one to three characters apart (``_spaces_digits``), in an ASCII text's kinds.
_SEVEN_SPACED = re.compile(r"0(?<!00)(?!0)(?:[^0]{1,3}0(?!0)){6}")


def _may_hold_number(source: Source, fewest: int) -> bool:
    """Whether some cluster of the source can pass ``_might_hold_number`` with ``fewest`` digits.

    A group of digits never reaches past its cluster, so a text with no "+"
    and no group that long anywhere (none if it has fewer digits) has no
    cluster worth matching; for ASCII text that is one search of its kinds,
    without working out the clusters.
    """
    text = source.text
    if "+" in text or not text.isascii() and "＋" in text:
        return True
    if source.digit_count < fewest:
        return False
    return not text.isascii() or _group_of(fewest).search(source.classes) is not None


def _may_space_digits(source: Source) -> bool:
    """``_spaces_digits`` of the source's digit runs, for ASCII text by one search of its kinds."""
    if source.digit_count < 7:
        return False
    if source.text.isascii():
        return _SEVEN_SPACED.search(source.classes) is not None
    return _spaces_digits(source.digit_runs)


def _has_plus(text: str, lo: int, hi: int) -> bool:
    """Whether ``text[lo:hi]`` holds a "+"; without one a number needs ``fewest_digits`` digits, and a cluster counts its own."""
    return text.find("+", lo, hi) >= 0 or text.find("＋", lo, hi) >= 0


def _matcher_spans(text: str, region: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int, str]]:
    """Numbers the library finds in ``text[lo:hi]``, as spans of ``text``."""
    spans = []
    for match in PhoneNumberMatcher(text[lo:hi], region, leniency=Leniency.POSSIBLE):
        start, end = match.start + lo, match.end + lo
        before = text[max(0, start - 40) : start]
        if _REFERENCE.search(before):
            continue
        if phonenumbers.is_valid_number(match.number) or _CUE.search(before):
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            spans.append((start, end, e164))
    return spans


def _obfuscated_spans(source: Source, clusters: list[tuple[int, int, int]]) -> list[tuple[int, int, str]]:
    """Digits spaced out (only in clusters of seven or more) and digits spelled as words."""
    text = source.text
    spaced = [
        m for lo, hi, digits in clusters if digits >= 7 for m in _SPACED_DIGITS.finditer(text, lo, hi)
    ] if any(digits >= 7 for _, _, digits in clusters) and _may_space_digits(source) else []  # fmt: skip
    spans = []
    for match in spaced:
        digits = re.sub(r"\D", "", match.group())
        counting = all(int(b) - int(a) == 1 for a, b in zip(digits, digits[1:]))
        if not counting and not _REFERENCE.search(text[max(0, match.start() - 40) : match.start()]):
            spans.append((match.start(), match.end(), digits))
    for match in _SPELLED.finditer(text) if _spells_digits(source) else ():
        digits = "".join(_DIGIT_WORDS[w.lower()] for w in re.findall(r"[a-z]+", match.group(), re.I))
        spans.append((match.start(), match.end(), digits))
    return spans


def _spaces_digits(runs: tuple[tuple[int, int], ...]) -> bool:
    """Whether seven one-digit runs follow one another, one to three characters apart.

    Spaced-out digits are that and more (each digit alone between separators
    without digits), so a text without it is not searched for them.
    """
    chain, previous = 0, 0
    for start, end in runs:
        if end - start != 1:
            chain = 0
        elif chain and start - previous <= 3:
            chain += 1
        else:
            chain = 1
        previous = end
        if chain >= 7:
            return True
    return False


def _spells_digits(source: Source) -> bool:
    """Whether seven digit words follow one another: what a spelled-out number needs at least.

    Only the digit words are visited, found as whole words of the key, so
    prose that says "one" and "two" now and then costs a few searches; of
    seven in a row the last pair is looked at first, so a pair apart skips
    the six before it.
    """
    words = source.key_words
    spots = sorted((at, at + len(w)) for w in _DIGIT_WORDS if w in words for at in source.find_word(w))
    key, first = source.key, 0
    while first + 6 < len(spots):
        for pair in range(first + 5, first - 1, -1):  # spots[pair] and spots[pair + 1], from the right
            if _WORD.search(key, spots[pair][1], spots[pair + 1][0]) is not None:
                first = pair + 1
                break
        else:
            return True
    return False


def check(
    inspection: Inspection, ctx: PolicyContext, settings: PhoneSettings, readable: Readable | None = None
) -> list[Finding]:
    wanted = (settings.region, ctx.region, *settings.extra_regions)
    regions = dict.fromkeys(r.upper() for r in wanted if r)
    seen = {n.lstrip("+") for n in settings.allowed_numbers}
    findings: list[Finding] = []
    fewest = min((fewest_digits(region) for region in regions), default=2)
    for source in sources_of(inspection, readable).sources:
        may_match = _may_hold_number(source, fewest)
        clusters = digit_clusters(source) if may_match or _may_space_digits(source) else []
        spans = [
            s for region in regions if may_match for lo, hi, digits in clusters
            if digits >= 2
            and (digits >= fewest_digits(region) or _has_plus(source.text, lo, hi))  # cheap, and it must hold
            and _might_hold_number(source.text, lo, hi, fewest_digits(region))
            for s in _matcher_spans(source.text, region, lo, hi)
        ]  # fmt: skip
        taken: list[tuple[int, int]] = []
        for start, end, number in spans + _obfuscated_spans(source, clusters):
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
