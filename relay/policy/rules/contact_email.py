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
_OBVIOUS = re.compile(r"[\[(]\s*at\s*[\])]|\sdot\s|[\[(]\s*dot", re.IGNORECASE)
# With a bare " at " and a real dot ("photos at flickr.com") only mail providers count.
# A spelled-out address ends in a top-level domain after a "." or a "dot";
# with neither "at" nor that in a text, the spelled-out pattern is not run.
_DOT_TLD = re.compile(r"\.\s*(?:com|net|org|edu|gov|co|uk|us|ca|au|de|fr|io|me|info)\b", re.IGNORECASE)
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

    A plain address has an "@" and no space, so only the runs around each "@"
    are scanned; a spelled-out one needs the word "at" and a "dot" or a ".tld".
    """
    text = source.text
    if pattern is _PLAIN:
        windows = token_windows(text, find_all(text, "@")) if "@" in text else []
        return [m for start, end in windows for m in _PLAIN.finditer(text, start, end)]
    words = source.key_words
    if "at" in words and ("dot" in words or _DOT_TLD.search(text)):
        return _spelled_matches(source)
    return []


def _spelled_matches(source: Source) -> list[re.Match[str]]:
    """What ``_SPELLED.finditer`` finds, tried only at the names before an "at".

    A spelled-out address is a name (word characters and ".+-"), spaces, at
    most one bracket, spaces, then "at", so every "at" has one name before
    it; a match can start only where that name starts or after a "+" or "-"
    in it, and everything after the name is the same whichever start it is.
    """
    text, found, pos = source.text, [], 0
    for at in source.find_word("at"):
        if not _may_spell_at(text, at):
            continue
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


def _may_spell_at(text: str, at: int) -> bool:
    """Whether the "at" at ``at`` stands alone as the pattern needs: a space or bracket either side."""
    before, after = at - 1, at + 2
    return (
        before >= 0 and after < len(text)
        and (text[before].isspace() or text[before] in "[(")
        and (text[after].isspace() or text[after] in "])")
    )  # fmt: skip


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
