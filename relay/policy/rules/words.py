"""words: named word lists, each with its own action and severity.

Words and phrases match whole words only ("class" never matches "ass"),
ignoring case and accents ("Suïcide" is "suicide"), in the subject, the text
parts and the text of HTML parts. A trailing ``*`` matches any ending
("suicid*" finds "suicidal"); brackets give choices ("(he|she|my dad) hits
me") and an empty choice makes a word optional ("i (really |)want to die").
Lists are tables under ``words`` in the policy file; a file changes a shipped
list by naming it and adds a list by a new name.

Each list is indexed once, when the policy is read, by a word every way of
writing a phrase holds (one word per choice of its most telling piece); a
message's words are looked up in that index, so an ordinary message costs
one set intersection per list. A phrase the index names is looked for only
when every word of some way of writing it is in the source; then one pattern
per first word finds where, as the word splitter would cut the text.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from relay.model import Action, Finding, Inspection, PolicyContext, Severity
from relay.policy.rules.base import (
    MAX_FINDINGS,
    Rule,
    SettingError,
    Settings,
    finding,
    read_dataclass,
    sources_of,
)
from relay.policy.text import Readable, Source, fold, original_span

NAME = "words"

_TOKEN = re.compile(r"\w+(?:'\w+)*\*?")


@dataclass(frozen=True)
class WordList:
    name: str = ""
    enabled: bool = True
    action: Action = Action.FLAG
    severity: Severity = Severity.NORMAL
    words: tuple[str, ...] = ()

    @cached_property
    def phrases(self) -> tuple[tuple[str, Pieces], ...]:
        """Each phrase with its pieces, worked out once per loaded policy."""
        return tuple((phrase, phrase_pieces(phrase)) for phrase in self.words)

    @cached_property
    def settings(self) -> Settings:
        """The action and severity of the list's findings, built once per loaded policy."""
        return Settings(action=self.action, severity=self.severity)

    @cached_property
    def index(self) -> "PhraseIndex":
        """The phrases by the words they need, worked out once per loaded policy."""
        return phrase_index(tuple(pieces for _, pieces in self.phrases))


@dataclass(frozen=True)
class WordsSettings(Settings):
    lists: tuple[WordList, ...] = ()


# Who a young person may name when telling of harm at home (one choice).
_PEOPLE = (
    "he|she|they|dad|daddy|mum|mummy|mom|mommy|mother|father|stepdad|stepmum|stepmom|step dad|step mum|"
    "step mom|brother|sister|uncle|aunt|grandad|grandpa|grandma|boyfriend|girlfriend|foster dad|foster mum|"
    "foster mom|parents"
)
# The shipped lists: a starting point for staff to extend, kept short on purpose.
# "(a|b)" is a choice and "(a |)" an optional word; config/policy.toml explains.
DEFAULT_LISTS: dict[str, dict[str, Any]] = {
    "urgent": {
        "action": "flag",
        "severity": "urgent",
        "words": [
            # self-harm and suicide
            "suicide", "suicidal", "kill myself", "killing myself", "end my life", "want to die",
            "wanna die", "better off dead", "self harm", "cut myself", "cutting myself",
            "hurt myself", "overdose",
            "(kil|hurting|harm|harming|burn|burning|starve|starving) myself", "self (harming|harmed|harms)",
            "selfharm*", "(ending|take|taking) my (own |)life", "end my own life", "end it all",
            "(wanted|going|planning) to die", "(wish|wished) i (was|were) dead",
            "(wish|wished) i (was|had) never (been |)born", "(wish|wished) i (wasn't|wasnt|weren't) (alive|here)",
            "(don't|dont|do not) want to (live|be here) (anymore|any more)", "(don't|dont|do not) want to be alive",
            "no reason to live", "nothing to live for", "(can't|cant|cannot) (go on|take it|do this) (anymore|any more)",
            "(nobody|no one|noone|no body) (would|will|is going to|gonna) (even |)(miss|notice) me",
            "(nobody|no one|noone|no body) (would|will) (even |)(care|notice) if i "
            "(died|was gone|were gone|disappeared|was dead|wasn't here)",
            "better off without me", "(took|take|taking|swallowed) (too many|all my|all the|a bunch of) pills",
            # abuse
            "abuse", "abused", "abusing", "rape", "raped", "molested", "touched me", "not safe at home",
            "scared to go home", "abusive", "molesting", "molests", "(touches|touching) me", "afraid to go home",
            f"({_PEOPLE}) (always |often |sometimes |still |)"
            "(hits|hit|hurts|hurt|punches|punched|slaps|slapped|kicks|kicked|chokes|choked|strangles|strangled|burns|burned|burnt) me",
            f"({_PEOPLE}) (keeps|kept|is always|was always) (hitting|hurting|punching|slapping|kicking|choking) me",
            "(beats|beat|beating) me up",
            "(scared|afraid|frightened|terrified) of my "
            "(dad|mum|mom|father|mother|stepdad|stepmum|stepmom|parents|brother|uncle|boyfriend)",
            # running away
            "(going to|gonna|want to|wanna|wanted to|planning to|plan to|about to|decided to|i'll|i will) run away",
            "(thinking of|thinking about|thought about|planning on) running away", "(i'm|im|i am) running away",
            "ran away from home", "(leave|leaving|left) home (for good|forever|and never come back)",
        ],
    },
    # The program's own urgent words (nicknames, local places, its own concerns): empty as shipped.
    "urgent_program": {"action": "flag", "severity": "urgent", "words": []},
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
    for word_list in lists:
        try:
            word_list.index  # noqa: B018 - a phrase that cannot be read stops the relay at start
        except SettingError as exc:
            raise SettingError(f"{word_list.name}.words", exc.message) from None
    return WordsSettings(enabled=enabled, lists=tuple(wl for wl in lists if wl.enabled and wl.words))


# The most ways one phrase may expand to ("(a|b) (c|d)" is four).
MAX_FORMS = 4096
_PIECES = re.compile(r"\(([^()]*)\)|[^()]+|[()]")

# A phrase as pieces, each a choice of word sequences: "(he|she) hits me" is
# ((("he",), ("she",)), (("hits", "me"),)). An empty choice is ().
Pieces = tuple[tuple[tuple[str, ...], ...], ...]


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(fold(phrase).replace("’", "'")))


def phrase_pieces(phrase: str) -> Pieces:
    """The pieces of ``phrase``; brackets hold choices split by "|", and an empty choice is optional."""
    pieces = []
    for piece in _PIECES.finditer(phrase):
        if piece.group() in "()":
            raise SettingError("words", f"unbalanced brackets in {phrase!r}")
        choices = piece.group(1).split("|") if piece.group(1) is not None else [piece.group()]
        pieces.append(tuple(dict.fromkeys(_phrase_tokens(choice) for choice in choices)))
    if math.prod(len(choices) for choices in pieces) > MAX_FORMS:
        raise SettingError("words", f"{phrase!r} can be written more than {MAX_FORMS} ways")
    return tuple(pieces)


def _forms(pieces: Pieces) -> list[tuple[str, ...]]:
    forms = [sum(parts, ()) for parts in itertools.product(*pieces)]
    return [form for form in dict.fromkeys(forms) if form]


def phrase_forms(phrase: str) -> tuple[tuple[str, ...], ...]:
    """Every way ``phrase`` can be written, as folded words.

    "(he|she|my dad) hits me" is three forms; an empty choice makes a part
    optional: "i (really |)want to die". A phrase without brackets is one form.
    """
    return tuple(_forms(phrase_pieces(phrase)))


def _word_pattern(token: str) -> str:
    """A regular expression for one whole word, as the word splitter would cut it."""
    prefix = re.escape(token.removesuffix("*"))
    whole = rf"{prefix}(?<!\w{prefix})(?<!\w'{prefix})"  # the literal first, so the scan can skip ahead
    return whole + (r"\w*(?:'\w+)*" if token.endswith("*") else r"(?!\w)(?!'\w)")


def _choice_present(source: Source, choice: tuple[str, ...]) -> bool:
    """Whether the source could hold every word of ``choice``: each of their runs of word characters is there.

    Necessary, not sufficient ("don" and "t" of "don't" do not make "don"):
    the pattern search decides.
    """
    whole, prefixes = _needs(choice)
    return whole <= source.folded_words and all(source.has_folded_word_starting(prefix) for prefix in prefixes)


@functools.lru_cache(maxsize=4096)
def _needs(choice: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...]]:
    """The runs of word characters the words of ``choice`` need whole, and the prefixes a "*" word needs.

    Worked out once per choice of a loaded policy's phrases, not on every message.
    """
    whole: set[str] = set()
    prefixes: list[str] = []
    for token in choice:
        *parts, last = token.removesuffix("*").split("'")
        whole.update(parts)
        if token.endswith("*"):
            prefixes.append(last)
        else:
            whole.add(last)
    return frozenset(whole), tuple(dict.fromkeys(prefixes))


@dataclass(frozen=True)
class PhraseIndex:
    """Which phrases of a list a source can hold, found from the words in it.

    Every way of writing a phrase holds one choice of each piece that has no
    empty choice; the phrase is filed under one run of word characters of
    each choice of such a piece (the longest, as long words are rarer), or
    under a prefix for a ``*`` word. Phrases with no such piece are always
    looked for.
    """

    by_word: Mapping[str, tuple[int, ...]]  # a run of word characters -> phrases filed under it
    words: frozenset[str]
    by_prefix: tuple[tuple[str, tuple[int, ...]], ...]  # ("fuck", phrases filed under "fuck*")
    always: tuple[int, ...]

    def candidates(self, source: Source) -> set[int]:
        """The phrases (by position in the list) that might occur in the source; the others cannot."""
        found = set(self.always)
        for word in self.words & source.folded_words:
            found.update(self.by_word[word])
        for prefix, phrases in self.by_prefix:
            if source.has_folded_word_starting(prefix):
                found.update(phrases)
        return found


def _trigger(token: str) -> tuple[str, bool]:
    """The run of word characters a source must hold for ``token`` (True: as a prefix)."""
    *whole, last = token.removesuffix("*").split("'")
    if not token.endswith("*"):
        whole.append(last)
    if whole:
        return max(whole, key=len), False
    return last, True


def _filed_under(pieces: Pieces) -> tuple[tuple[str, bool], ...] | None:
    """The triggers of the piece whose choices' triggers are longest, or None if every piece is optional."""
    best: tuple[tuple[int, int], tuple[tuple[str, bool], ...]] | None = None
    for choices in pieces:
        if any(not choice for choice in choices):
            continue  # optional: some way of writing the phrase leaves it out
        triggers = tuple(max((_trigger(token) for token in choice), key=lambda t: len(t[0])) for choice in choices)
        score = (min(len(word) for word, _ in triggers), -len(triggers))
        if best is None or score > best[0]:
            best = (score, triggers)
    return best[1] if best else None


def phrase_index(phrases: tuple[Pieces, ...]) -> PhraseIndex:
    """The index of a list's phrases, given their pieces in list order."""
    by_word: dict[str, list[int]] = {}
    by_prefix: dict[str, list[int]] = {}
    always = []
    for at, pieces in enumerate(phrases):
        triggers = _filed_under(pieces)
        if triggers is None:
            always.append(at)
            continue
        for word, is_prefix in dict.fromkeys(triggers):
            (by_prefix if is_prefix else by_word).setdefault(word, []).append(at)
    return PhraseIndex(
        by_word={word: tuple(ats) for word, ats in by_word.items()},
        words=frozenset(by_word),
        by_prefix=tuple((prefix, tuple(ats)) for prefix, ats in by_prefix.items()),
        always=tuple(always),
    )


def _first_hit(source: Source, pieces: Pieces) -> tuple[int, int] | None:
    """Where the phrase first occurs in the source, as a span of the original text.

    Only the choices whose every word may be in the source are looked for.
    """
    present = []
    for choices in pieces:
        kept = tuple(choice for choice in choices if _choice_present(source, choice))
        if not kept:
            return None
        present.append(kept)
    possible = _forms(tuple(present))
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for form in possible:
        by_first.setdefault(form[0], []).append(form[1:])
    hits = [m for first, rests in by_first.items() if (m := re.search(_group_pattern(first, rests), source.matchable))]
    if not hits:
        return None
    best = min(hits, key=lambda m: (m.start(), -m.end()))
    return original_span(source.fold_index, *best.span())


def _group_pattern(first: str, rests: list[tuple[str, ...]]) -> str:
    """One pattern for the forms that start with ``first``: the literal first word leads, so the scan skips ahead."""
    tails = sorted(("".join(r"\W+" + _word_pattern(token) for token in rest) for rest in rests), key=len, reverse=True)
    return _word_pattern(first) + "(?:" + "|".join(tails) + ")"


def check(
    inspection: Inspection, ctx: PolicyContext, settings: WordsSettings, readable: Readable | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    prose = sources_of(inspection, readable).prose
    for word_list in settings.lists:
        list_settings = word_list.settings
        candidates = [word_list.index.candidates(source) for source in prose]
        for at in sorted(set().union(*candidates)):
            phrase, pieces = word_list.phrases[at]
            for source, possible in zip(prose, candidates):
                span = _first_hit(source, pieces) if at in possible else None
                if span is not None:
                    # A phrase with choices is named by what matched: "he hits me", not every choice.
                    named = " ".join(fold(source.text[slice(*span)]).split()) if "(" in phrase else phrase
                    reason = f'"{named}" from the {word_list.name} word list, in the {source.where}'
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
