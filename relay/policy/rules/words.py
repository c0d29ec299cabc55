"""words: named word lists, each with its own action and severity.

Words and phrases match whole words only ("class" never matches "ass"),
ignoring case and accents ("Suïcide" is "suicide"), in the subject, the text
parts and the text of HTML parts. A trailing ``*`` matches any ending
("suicid*" finds "suicidal"). Lists are tables under ``words`` in the policy
file; a file changes a shipped list by naming it and adds a list by a new name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relay.model import Action, Finding, Inspection, PolicyContext, Severity
from relay.policy.rules.base import MAX_FINDINGS, Rule, SettingError, Settings, finding, read_dataclass
from relay.policy.text import Source, Word, fold, fold_with_map, original_span, readable_sources, words

NAME = "words"

_TOKEN = re.compile(r"\w+(?:'\w+)*\*?")


@dataclass(frozen=True)
class WordList:
    name: str = ""
    enabled: bool = True
    action: Action = Action.FLAG
    severity: Severity = Severity.NORMAL
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class WordsSettings(Settings):
    lists: tuple[WordList, ...] = ()


# The shipped lists: a starting point for staff to extend, kept short on purpose.
DEFAULT_LISTS: dict[str, dict[str, Any]] = {
    "urgent": {
        "action": "flag",
        "severity": "urgent",
        "words": [
            "suicide", "suicidal", "kill myself", "killing myself", "end my life", "want to die",
            "wanna die", "better off dead", "self harm", "cut myself", "cutting myself",
            "hurt myself", "overdose", "abuse", "abused", "abusing", "rape", "raped",
            "molested", "touched me", "not safe at home", "scared to go home",
        ],
    },
    "secrecy": {
        "action": "hold",
        "severity": "urgent",
        "words": [
            "our secret", "our little secret", "don't tell your parents", "dont tell your parents",
            "don't tell anyone", "dont tell anyone", "delete this message", "delete this email",
            "meet up alone", "send nudes", "nudes", "send me a pic*",
        ],
    },
    "flag": {
        "action": "flag",
        "severity": "normal",
        "words": [
            "fuck*", "shit", "shitty", "bullshit", "bitch*", "bastard", "ass", "asshole", "dick",
            "cunt", "slut", "whore", "wank*", "retard*", "porn*", "sexy", "sext", "sexting", "horny",
        ],
    },
}  # fmt: skip


def parse(table: Mapping[str, Any]) -> WordsSettings:
    """The shipped lists with the file's tables laid over them, name by name."""
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SettingError("enabled", f"expected true or false, got {enabled!r}")
    merged = {name: dict(values) for name, values in DEFAULT_LISTS.items()}
    for name, values in table.items():
        if name == "enabled":
            continue
        if not isinstance(values, Mapping):
            raise SettingError(name, "expected a table of words ([...words.NAME] with action and words)")
        merged.setdefault(name, {}).update(values)
    lists = tuple(read_dataclass(WordList, {**values, "name": name}, f"{name}.") for name, values in merged.items())
    return WordsSettings(enabled=enabled, lists=tuple(wl for wl in lists if wl.enabled and wl.words))


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(phrase).replace("’", "'")))


def _matches_at(tokens: tuple[str, ...], found: tuple[Word, ...], i: int) -> bool:
    if i + len(tokens) > len(found):
        return False
    for want, word in zip(tokens, found[i : i + len(tokens)]):
        ok = word.text.startswith(want[:-1]) if want.endswith("*") else word.text == want
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class _Scanned:
    """A source's words, folded once and indexed by word, for every list to search."""

    text: str
    where: str
    index: tuple[int, ...]
    found: tuple[Word, ...]
    positions: Mapping[str, tuple[int, ...]]


def _scan(source: Source) -> _Scanned:
    folded, index = fold_with_map(source.text)
    found = words(folded)
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(found):
        positions.setdefault(word.text, []).append(i)
    return _Scanned(source.text, source.where, index, found, {w: tuple(p) for w, p in positions.items()})


def _first_hit(scanned: _Scanned, phrase: str) -> tuple[int, int] | None:
    """Where ``phrase`` first occurs, as a span of the original text."""
    tokens = _phrase_tokens(phrase)
    if not tokens:
        return None
    first = tokens[0]
    if first.endswith("*"):
        prefix = first[:-1]
        candidates = sorted(i for w, at in scanned.positions.items() if w.startswith(prefix) for i in at)
    else:
        candidates = scanned.positions.get(first, ())
    for i in candidates:
        if _matches_at(tokens, scanned.found, i):
            last = scanned.found[i + len(tokens) - 1]
            return original_span(scanned.index, scanned.found[i].start, last.end)
    return None


def check(inspection: Inspection, ctx: PolicyContext, settings: WordsSettings) -> list[Finding]:
    findings: list[Finding] = []
    readable = [s for s in readable_sources(inspection) if s.where in ("subject", "text", "HTML")]
    scanned = [_scan(source) for source in readable]
    for word_list in settings.lists:
        list_settings = Settings(action=word_list.action, severity=word_list.severity)
        for phrase in word_list.words:
            for source in scanned:
                span = _first_hit(source, phrase)
                if span is not None:
                    reason = f'"{phrase}" from the {word_list.name} word list, in the {source.where}'
                    findings.append(finding(NAME, list_settings, reason, source.text, *span))
                    break
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="A word or phrase from one of the policy's word lists.",
    settings=WordsSettings,
    check=check,
    parse=parse,
)
