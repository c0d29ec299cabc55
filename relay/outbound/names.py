"""A person's real names found where they stand as that person's name, not as ordinary words.

Real first names are ordinary words (Will, Mark, Hope, Grace), so a name is
replaced only with evidence: a full name (with its common variants: middle
initials, "Family, Given", extra spaces, case, accents), or a single
capitalised part of it where a name stands: mid-sentence, after a greeting,
alone on a sign-off line, before "wrote:", or in a quoted "From:" block. A
lowercase word is never a name; a capitalised word at the start of a
sentence needs that evidence; a capitalised word glued to another
capitalised word ("MaryJane Doe", "Saying Hello") is someone else's name or a
title. Matching works on the text's own words, so its cost does not depend on
how many names are known.
"""

from __future__ import annotations

import html as html_lib
import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache

# First names that are also ordinary English words: in lowercase or capitals
# these are words unless the rest of the name says otherwise.
WORD_NAMES = frozenset(
    """
    will mark may june april august grace hope faith joy rose lily iris daisy ivy holly heather
    summer autumn dawn eve hunter art bill bob rob pat sue jack frank sally grant bond chase
    miles gene rich ray mike rusty sandy stormy sky river brook brooke chance cash king earl
    duke major rex victor constance prudence patience charity honor honour amber ruby pearl
    jade crystal destiny harmony melody star sunny willow hazel olive ginger candy misty
    penny ginny don dean drew gale gay jean joan carol robin wren lark jay jewel mercy
    trinity bishop cook baker smith miller taylor carter fisher hunt hill wood stone young
    little long short gray grey green brown black white page wade cliff glen dale mason
    heath reed rush lane marsh frost bell love may bliss angel sage rowan tanner ward
    """.split()
)
# Words that may come right before a name without making it part of a longer proper name.
_GREETINGS = frozenset(
    """
    hi hello hey dear hiya howdy morning evening afternoon thanks thank cheers love best regards
    yours sincerely greetings welcome congrats congratulations sorry bye goodbye ok okay and or
    with from to cc for by ask tell dear hallo hola bonjour salut ciao hej hoi liebe lieber
    """.split()
)
_PARTICLES = frozenset("van von der den de la le du del della di da dos das st ter ten bin ibn al el".split())
_WORD = re.compile(r"[^\W\d_]+")
_SPACE = r"(?:[ \t\u00a0]|&nbsp;|&#0*160;?|&#x0*a0;?)"
_GAP = rf"(?:{_SPACE}+(?:\r?\n{_SPACE}*)?|\r?\n{_SPACE}*)"  # spaces, or one line break: never a blank line
_SENTENCE_END = set(".!?:;…")
_BULLETS = set("-*•–—")
_TAG = re.compile(r"<[^<>]*>")
_BLOCK_TAG = re.compile(r"(?i)<\s*/?\s*(?:p|div|br|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|hr)\b[^<>]*>")
_ENTITY_SPACE = re.compile(r"(?i)&nbsp;|&#0*160;?|&#x0*a0;?")
_QUOTE_MARKS = re.compile(r"(?m)^[ \t]*(?:>[ \t]*)+")
_WROTE = re.compile(
    r"(?i)^[\s,]*(?:(?:<[^<>\n]*>|&lt;[^\n]*?&gt;|\[[^\]\n]*\])[\s,]*)?"
    r"(?:wrote|writes|said|schrieb|a\s+écrit|escribió|schreef|ha\s+scritto|skrev)\b"
)
_FROM_LABEL = re.compile(r"(?i)(?:^|\n)[ \t>]*(?:from|to|cc|von|an|de|à|para|van|aan|da|sent by)[ \t]*:[ \t]*\Z")
_VOCATIVE = re.compile(r"^,[ \t]+[a-z]")  # "Will, can you ..." speaks to someone
_HONORIFICS = ("さん", "様", "さま", "くん", "君", "ちゃん", "先生", "氏", "씨", "님", "-san", "-sama")
_SIGN_OFF_REST = re.compile(r"^[\s,.!;:)\-–—~x*]*$", re.IGNORECASE)
_GLUE_BEFORE = set("./@_-=&#%+:\\~")
_GLUE_AFTER = set("./@_-=")


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so offsets stay the same."""
    if text.isascii():  # most text: no accents to take off (a 64 KB copy: 0.03 ms against 0.8)
        return text.lower()
    table = {ord(c): f for c in set(text) if ord(c) > 127 and (f := _fold_char(c)) != c}
    folded = text.translate(table).lower() if table else text.lower()
    return folded if len(folded) == len(text) else "".join(_fold_char(c) for c in text)


def _fold_char(c: str) -> str:
    base = unicodedata.normalize("NFKD", c)[:1] or c
    lower = base.lower()
    if len(lower) == 1:
        return lower
    lower = c.lower()
    return lower if len(lower) == 1 else "\ufffc"


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[\s\u00a0]+", fold(name)) if t]


def _is_initial(token: str) -> bool:
    return len(token.rstrip(".")) <= 1


def _token_pattern(token: str) -> str:
    return re.escape(token.rstrip(".")) + (r"\.?" if token.endswith(".") or len(token) == 1 else "")


def _variants(name: str) -> set[tuple[str, ...]]:
    """Token sequences that spell this full name: as written, without middle names or initials."""
    tokens = _tokens(name)
    if len(tokens) < 2:
        return set()
    out = {tuple(tokens)}
    plain = [t for i, t in enumerate(tokens) if i == 0 or i == len(tokens) - 1 or not _is_initial(t)]
    out.add(tuple(plain))
    family = [t for t in plain[1:]]
    while len(family) > 1 and family[0] in _PARTICLES:
        family = family[1:]
    if len(plain) >= 3:
        out.add((plain[0], *plain[-1:]))
        out.add((plain[0], *family))
    return {v for v in out if len(v) >= 2}


def _full_pattern(variant: tuple[str, ...]) -> str:
    """Given Family with an optional extra middle initial, or "Family, Given"."""
    given, *rest = variant
    forward = _token_pattern(given) + rf"(?:{_GAP}[^\W\d_]\.?)?" + "".join(_GAP + _token_pattern(t) for t in rest)
    backward = _GAP.join(_token_pattern(t) for t in rest) + r"[ \t]*,[ \t]*" + _token_pattern(given)
    return rf"(?:{forward}|{backward})(?![^\W_])"


class NameMatcher:
    """The names of a few people (name -> handle), replaced where they stand as names."""

    def __init__(self, names: Mapping[str, str]) -> None:
        self._full: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        self._single: dict[str, str] = {}
        self._whole: dict[str, str] = {}
        for name, handle in names.items():
            family, comma, given = str(name).partition(",")
            if comma and given.strip() and "," not in given:  # "Doe, Jane" as directories write it
                name = f"{given.strip()} {family.strip()}"
            tokens = _tokens(name)
            if not tokens or len("".join(tokens)) < 2:
                continue
            self._whole.setdefault(" ".join(tokens), handle)
            for variant in _variants(name):
                self._whole.setdefault(" ".join(variant), handle)
                pattern = re.compile(_full_pattern(variant))
                for first in {_first_word(variant[0]), _first_word(variant[1])}:
                    self._full.setdefault(first, []).append((pattern, handle))
            for word in _WORD.findall(" ".join(tokens)):
                if len(word) >= 2 and word not in _PARTICLES:
                    self._single.setdefault(word, handle)
        for patterns in self._full.values():
            patterns.sort(key=lambda item: -len(item[0].pattern))
        # A few people's words: one small alternation scans in C; many: look each text word up.
        self._full_re = _words_pattern(self._full)
        self._single_re = _words_pattern(self._single)

    def __bool__(self) -> bool:
        return bool(self._single)

    def whole(self, value: str) -> str | None:
        """The handle when `value` is all one known name or a part of one ("Will", "Doe, Jane")."""
        value = value.strip(" \"'")
        family, comma, given = value.partition(",")
        for spelling in ([f"{given} {family}"] if comma and "," not in given else []) + [value.replace(",", " ")]:
            tokens = _tokens(spelling)
            if " ".join(tokens) in self._whole:
                return self._whole[" ".join(tokens)]
            plain = [t for i, t in enumerate(tokens) if i in (0, len(tokens) - 1) or not _is_initial(t)]
            if " ".join(plain) in self._whole:
                return self._whole[" ".join(plain)]
        tokens = _tokens(value)
        return self._single.get(tokens[0].rstrip(".")) if len(tokens) == 1 else None

    def replace(self, text: str, hold: Callable[[str], str], markup: bool = False) -> str:
        if not self._single or not text:
            return text
        folded = fold(text)
        replaced = self._replace_full(text, folded, hold)
        if replaced is not text:  # most texts name nobody in full: their folded form still holds
            folded = fold(replaced)
        return self._replace_single(replaced, folded, hold, markup)

    def _replace_full(self, text: str, folded: str, hold: Callable[[str], str]) -> str:
        """``text`` itself when no full name is in it."""
        out: list[str] = []
        last = 0
        for word in self._full_re.finditer(folded):
            if word.start() < last or not _whole_word(folded, word.start(), word.end()):
                continue
            for pattern, handle in self._full.get(word.group(0), ()):
                found = pattern.match(folded, word.start())
                if found and _is_named(text[found.start() : found.end()]):
                    out.extend((text[last : found.start()], hold(handle)))
                    last = found.end()
                    break
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)

    def _replace_single(self, text: str, folded: str, hold: Callable[[str], str], markup: bool) -> str:
        out: list[str] = []
        last = 0
        for word in self._single_re.finditer(folded):
            handle = self._single.get(word.group(0))
            if not _whole_word(folded, word.start(), word.end()):
                continue
            if handle is None or not _stands_as_name(text, word.start(), word.end(), markup):
                continue
            out.extend((text[last : word.start()], hold(handle)))
            last = word.end()
        out.append(text[last:])
        return "".join(out)


def matcher_for(names: Mapping[str, str]) -> NameMatcher:
    """The matcher of these names, built once while they keep sending mail.

    Building one compiles a pattern for every spelling of every name, which
    costs more than matching a message; a pairing's names are the same for
    every copy in its thread, so the matcher (immutable) is kept per names.
    """
    return _matcher(tuple(names.items()))


@lru_cache(maxsize=1024)
def _matcher(names: tuple[tuple[str, str], ...]) -> NameMatcher:
    return NameMatcher(dict(names))


def _words_pattern(words: Mapping[str, object]) -> re.Pattern[str]:
    if not words or len(words) > 64:
        return _WORD
    # Plain alternatives scan fastest; word boundaries are checked on each hit.
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def _whole_word(text: str, start: int, end: int) -> bool:
    return not (start > 0 and _letter(text[start - 1])) and not (end < len(text) and _letter(text[end]))


def _letter(c: str) -> bool:
    """A letter that continues a word; scripts written without spaces (CJK) never do."""
    return c.isalpha() and ord(c) < 0x2E80


def _first_word(token: str) -> str:
    found = _WORD.search(token)
    return found.group(0) if found else token


def _is_named(found: str) -> bool:
    """A full-name match written like a name: capitalised, or in one case with a word that is no common word."""
    words = [w for w in _WORD.findall(_ENTITY_SPACE.sub(" ", found)) if len(w) > 1 and fold(w) not in _PARTICLES]
    if all(w[0].isupper() and not w.isupper() for w in words):
        return True
    if all(w.islower() for w in words) or all(w.isupper() for w in words):
        return any(fold(w) not in WORD_NAMES for w in words)
    return False


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and not (len(word) > 1 and word.isupper())


def _stands_as_name(text: str, start: int, end: int, markup: bool) -> bool:
    word = text[start:end]
    if not _capitalised(word) or _glued(text, start, end):
        return False
    before = _plain(text[max(0, start - 300) : start], markup)
    after = _plain(text[end : end + 300], markup).split("\n", 1)[0]
    following = re.match(r"[ \t]+([^\W\d_][\w'’-]*)", after)
    if following and _capitalised(following.group(1)) and following.group(1) not in ("I", "I'm"):
        return False  # the first part of someone else's name: "Will Smith"
    previous = re.search(r"([^\W\d_][\w'’-]*)[ \t]+\Z", before)
    if previous and _capitalised(previous.group(1)) and fold(previous.group(1)) not in _GREETINGS:
        if not _sentence_start(before[: previous.start()]):
            return False  # the last part of someone else's name, or a title: "MaryJane Doe"
    if not _sentence_start(before):
        return True
    return bool(
        (_line_start(before) and _SIGN_OFF_REST.match(after))
        or _WROTE.match(after)
        or _FROM_LABEL.search(before)
        or _VOCATIVE.match(after)
        or after.startswith(_HONORIFICS)
    )


def _glued(text: str, start: int, end: int) -> bool:
    """Part of a URL, address, file name or code: "mark.example", "/Will", "Will@"."""
    if start > 0 and text[start - 1] in _GLUE_BEFORE:
        return True
    if start > 1 and text[start - 1] in "'’" and text[start - 2].isalpha():  # O'Brien's second half
        return True
    if end < len(text) and text[end] in _GLUE_AFTER:
        return end + 1 < len(text) and (text[end + 1].isalnum() or text[end + 1] in "@_")
    return False


def _plain(fragment: str, markup: bool) -> str:
    if markup:
        fragment = _TAG.sub("", _BLOCK_TAG.sub("\n", fragment))
        fragment = html_lib.unescape(_ENTITY_SPACE.sub(" ", fragment))
    fragment = _QUOTE_MARKS.sub("", fragment.replace("\r", ""))
    return fragment.replace("\u00a0", " ")


def _line_start(before: str) -> bool:
    line = before.rsplit("\n", 1)[-1]
    return not line.strip(" \t" + "".join(_BULLETS))


def _sentence_start(before: str) -> bool:
    """True at the start of a text, a paragraph, a list item or a sentence."""
    stripped = before.rstrip(" \t\"'“‘(")
    if not stripped:
        return True
    if stripped.endswith("\n"):
        previous = stripped.rstrip()
        return not previous or previous.endswith("\n") or previous[-1] in _SENTENCE_END or "\n\n" in stripped[-3:]
    line = stripped.rsplit("\n", 1)[-1]
    if not line.strip(" \t" + "".join(_BULLETS)):
        return True
    return stripped[-1] in _SENTENCE_END

