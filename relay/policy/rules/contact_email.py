"""contact_email: an email address other than the participants' own or the relay's."""

from __future__ import annotations

import re
from dataclasses import dataclass

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.rules.base import MAX_FINDINGS, Rule, Settings, finding, sources_of
from relay.policy.text import Readable, Source, find_all, token_windows

NAME = "contact_email"

_PLAIN = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[\w-]+\.)+[a-z]{2,24}\b", re.IGNORECASE)
# "sam dot lee at gmail dot com", "sam(at)gmail(dot)com": spelled out to slip past filters.
_SPELLED = re.compile(
    r"(?<![\w.])[\w.+-]+(?:\s*[\[(]\s*at\s*[\])]\s*|\s+at\s+)"
    r"[\w-]+(?:\s*(?:[\[(]\s*dot\s*[\])]|\s+dot\s+|\.)\s*[\w-]+)*"
    r"\s*(?:[\[(]\s*dot\s*[\])]|\s+dot\s+|\.)\s*(?:com|net|org|edu|gov|co|uk|us|ca|au|de|fr|io|me|info)\b",
    re.IGNORECASE,
)
_DOT = re.compile(r"\s*(?:[\[(]\s*dot\s*[\])]|\s+dot\s+|\.)\s*", re.IGNORECASE)
_AT = re.compile(r"\s*(?:[\[(]\s*at\s*[\])]|\s+at\s+)\s*", re.IGNORECASE)
# With a bare " at " and a real dot ("photos at flickr.com") only mail providers count.
_OBVIOUS = re.compile(r"[\[(]\s*at\s*[\])]|\sdot\s|[\[(]\s*dot", re.IGNORECASE)
# A spelled-out address ends in a top-level domain, a whole word, after a "." or a
# "dot"; a text without the word "at", such a word and one of those is not searched.
# The look-ups are made in the key, whose letters are small, without IGNORECASE:
# then a search for the pattern's first character runs in C, not a pass in Python.
_TLD = "com|net|org|edu|gov|co|uk|us|ca|au|de|fr|io|me|info"
_TLDS = frozenset(_TLD.split("|"))
_DOT_TLD_IN_KEY = re.compile(rf"\.\s*(?:{_TLD})\b")
# The "at" of a spelled-out address, alone between spaces or brackets, and all that must follow it.
_AT_IN_KEY = re.compile(
    r"at(?<=[\s\[(]at)(?=(?:\s*[\])]\s*|\s+)"
    r"[\w-]+(?:\s*(?:[\[(]\s*dot\s*[\])]|\s+dot\s+|\.)\s*[\w-]+)*"
    rf"\s*(?:[\[(]\s*dot\s*[\])]|\s+dot\s+|\.)\s*(?:{_TLD})\b)"
)
# A plain address's "@" has a name character before it and a domain's after it.
_AT_SIGN_BETWEEN = re.compile(r"[\w.%+-]@[\w-]")
_SIGN = re.compile(r"[+-]")
_MAIL_PROVIDERS = frozenset(
    "gmail googlemail yahoo ymail hotmail outlook live msn icloud me mac aol proton "
    "protonmail pm gmx mail zoho yandex".split()
)


@dataclass(frozen=True)
class EmailSettings(Settings):
    # Also catch "sam at gmail dot com" and "sam(at)gmail.com".
    spelled_out: bool = True


def _normalise(raw: str) -> str:
    return _DOT.sub(".", _AT.sub("@", raw.strip())).lower()


def _spelled_out_address(raw: str) -> str:
    """The address a spelled-out match stands for, or "" if it is ordinary prose."""
    address = _normalise(raw)
    provider = address.partition("@")[2].partition(".")[0]
    return address if _OBVIOUS.search(raw) or provider in _MAIL_PROVIDERS else ""


def _is_known(address: str, ctx: PolicyContext) -> bool:
    known = {a.lower() for a in ctx.known_addresses}
    domain = address.rpartition("@")[2]
    relay = ctx.relay_domain.lower()
    return address in known or bool(relay) and (domain == relay or domain.endswith("." + relay))


def _matches(source: Source, pattern: re.Pattern[str]) -> list[re.Match[str]]:
    """The pattern's matches, looked for only where they can be.

    A plain address has an "@" between a name and a domain and no space, so
    only the runs around such an "@" are scanned; a spelled-out one needs the
    words "at" and a top-level domain, and a "dot" or a ".tld".
    """
    text = source.text
    if pattern is _PLAIN:
        signs = [at for at in find_all(text, "@") if at and _AT_SIGN_BETWEEN.match(text, at - 1)]
        return [m for start, end in token_windows(text, signs) for m in _PLAIN.finditer(text, start, end)]
    words = source.key_words
    if "at" in words and not words.isdisjoint(_TLDS) and ("dot" in words or _DOT_TLD_IN_KEY.search(source.key)):
        return _spelled_matches(source)
    return []


def _spelled_matches(source: Source) -> list[re.Match[str]]:
    """What ``_SPELLED.finditer`` finds, tried only at the names before an "at".

    A spelled-out address is a name (word characters and ".+-"), spaces, at
    most one bracket, spaces, then "at", so every "at" has one name before
    it; a match can start only where that name starts or after a "+" or "-"
    in it, and everything after the name is the same whichever start it is.
    The "at"s are found by one search of the key that also checks what must
    follow them, which rules out nearly every "at" of ordinary prose.
    """
    text, found, pos = source.text, [], 0
    for at in (m.start() for m in _AT_IN_KEY.finditer(source.key)):
        start, end = _name_before(text, at)
        if end <= pos or start == end:
            continue
        first = max(start, pos)
        for begin in (first, *(sign.end() for sign in _SIGN.finditer(text, first, end - 1))):
            match = _SPELLED.match(text, begin)
            if match:
                found.append(match)
                pos = match.end()
                break
    return found


def _name_before(text: str, at: int) -> tuple[int, int]:
    """(start, end) of the run of name characters before the spaces and bracket ahead of an "at"."""
    end = _back_over_spaces(text, at)
    if end > 0 and text[end - 1] in "[(":
        end = _back_over_spaces(text, end - 1)
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.+-"):  # [\w.+-], as the pattern says
        start -= 1
    return start, end


def _back_over_spaces(text: str, at: int) -> int:
    while at > 0 and text[at - 1].isspace():  # str.isspace is what \s matches
        at -= 1
    return at


def check(
    inspection: Inspection, ctx: PolicyContext, settings: EmailSettings, readable: Readable | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    patterns = (_PLAIN, _SPELLED) if settings.spelled_out else (_PLAIN,)
    for source in sources_of(inspection, readable).sources:
        for pattern in patterns:
            for match in _matches(source, pattern):
                raw = match.group()
                address = _normalise(raw) if pattern is _PLAIN else _spelled_out_address(raw)
                if not address or address in seen or _is_known(address, ctx):
                    continue
                seen.add(address)
                reason = f"an email address in the {source.where}"
                findings.append(finding(NAME, settings, reason, source.text, *match.span()))
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="An email address that is not a participant's own or the relay's.",
    settings=EmailSettings,
    check=check,
)
