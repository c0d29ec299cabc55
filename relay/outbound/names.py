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

The text is searched for the known words themselves (str.find, in C) and
only their whole-word hits are looked at in Python; the full-name and the
single-word passes share one search (carried over the full names replaced).
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
    pairs = {c: f for c in _non_ascii(text) if (f := _fold_char(c)) != c}
    if not pairs:
        folded = text.lower()
    elif len(pairs) <= _MAX_REPLACED and not any(f in pairs for f in pairs.values()):
        # A few accented letters in mostly plain text: str.replace per letter is
        # C at memchr speed, where str.translate looks every character up.
        replaced = text
        for c, f in pairs.items():
            replaced = replaced.replace(c, f)
        folded = replaced.lower()
    else:
        folded = text.translate({ord(c): f for c, f in pairs.items()}).lower()
    return folded if len(folded) == len(text) else "".join(_fold_char(c) for c in text)


_MAX_REPLACED = 16
_ASCII_BYTES = bytes(range(128))


def _non_ascii(text: str) -> set[str]:
    """The distinct characters of `text` above ASCII, found with byte operations in C.

    UTF-8 writes every such character with bytes of 0x80 and above only, so
    the bytes left after deleting the ASCII ones decode to exactly those
    characters (``set(text)`` would hash every character of a 64 KB text).
    """
    data = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return set(data.decode("utf-8", "surrogatepass"))


@lru_cache(maxsize=4096)
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

    def __init__(self, names: Mapping[str, str], *, bounded: bool = True) -> None:
        """``bounded=False`` keeps the plain scan (one alternation per pass, each hit checked): the exact reference the search is tested against."""
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
        self._full_words = _Words(self._full, bounded)
        self._single_words = _Words(self._single, bounded)
        both = _Words({**self._full, **self._single}, bounded)
        # One search serves both passes when each would find exactly the known words it holds.
        self._both_words = both if both.exact and self._full_words.exact and self._single_words.exact else None

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
        if self._both_words is None:
            replaced = self._replace_full(text, folded, hold, self._full_words.hits(folded), [])
            if replaced is not text:  # most texts name nobody in full: their folded form still holds
                folded = fold(replaced)
            return self._replace_single(replaced, self._single_words.hits(folded), hold, markup)
        hits = self._both_words.hits(folded)
        spans: list[tuple[int, int, str]] = []
        replaced = self._replace_full(text, folded, hold, [h for h in hits if h[2] in self._full], spans)
        singles = [h for h in hits if h[2] in self._single]
        if spans:  # a full name replaced: the hits move, and a word next to it may be whole now
            if all(held and not any(_letter(c) for c in fold(held)) for _, _, held in spans):
                singles = self._hits_after(folded, singles, spans)
            else:
                singles = self._single_words.hits(fold(replaced))
        return self._replace_single(replaced, singles, hold, markup)

    def _hits_after(self, folded: str, hits: list[_Hit], spans: list[tuple[int, int, str]]) -> list[_Hit]:
        """The single-word hits of the text once each span (start, end, what replaced it) is replaced.

        Found from the hits before instead of folding and searching again:
        fold() is one character for one whatever surrounds it, so between the
        spans the new text folds as before, and what replaced them has no
        letter, so no hit is in it and a word touching it is whole at that end.
        The hits are those outside the spans, and any word that touches one
        (none does while a full name starts at a whole word and ends before a
        character that is no word character; checked all the same), moved by
        what each span before them grew or shrank.
        """
        starts = {start for start, _, _ in spans}
        ends = {end for _, end, _ in spans}
        size = len(folded)

        def whole(start: int, end: int) -> bool:
            return ((start == 0 or start in ends or not _letter(folded[start - 1]))
                    and (end == size or end in starts or not _letter(folded[end])))

        touching: list[_Hit] = []
        for i, (start, end, _) in enumerate(spans):
            before = spans[i - 1][1] if i else 0
            after = spans[i + 1][0] if i + 1 < len(spans) else size
            for word in self._single:
                if start - len(word) >= before and folded.startswith(word, start - len(word)) and whole(start - len(word), start):
                    touching.append((start - len(word), start, word))
                if end + len(word) <= after and folded.startswith(word, end) and whole(end, end + len(word)):
                    touching.append((end, end + len(word), word))
        if touching:
            hits = sorted(set(hits) | set(touching))
        moved: list[_Hit] = []
        shift = index = 0
        count = len(spans)
        for start, end, word in hits:  # both sorted: drop those inside a span, move the others
            while index < count and spans[index][1] <= start:
                shift += len(spans[index][2]) - (spans[index][1] - spans[index][0])
                index += 1
            if index == count or start < spans[index][0]:
                moved.append((start + shift, end + shift, word))
        return moved

    def _replace_full(self, text: str, folded: str, hold: Callable[[str], str], hits: list[_Hit],
                      spans: list[tuple[int, int, str]]) -> str:
        """``text`` itself when no full name is in it; each name replaced is added to ``spans`` (start, end, what replaced it)."""
        out: list[str] = []
        last = 0
        for start, _, word in hits:
            if start < last:
                continue
            for pattern, handle in self._full.get(word, ()):
                found = pattern.match(folded, start)
                if found and _is_named(text[found.start() : found.end()]):
                    held = hold(handle)
                    out.extend((text[last : found.start()], held))
                    spans.append((found.start(), found.end(), held))
                    last = found.end()
                    break
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)

    def _replace_single(self, text: str, hits: list[_Hit], hold: Callable[[str], str], markup: bool) -> str:
        out: list[str] = []
        last = 0
        for start, end, word in hits:
            # Only a capitalised word can stand as a name: the cheap half of _stands_as_name first.
            if not text[start].isupper():
                continue
            handle = self._single.get(word)
            if handle is None or not _stands_as_name(text, start, end, markup):
                continue
            out.extend((text[last:start], hold(handle)))
            last = end
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


_Hit = tuple[int, int, str]  # start, end, folded word
# More words than this: look each word of the text up instead. Up to it, a
# search per word beats one alternation (64 KB, 32 words: 1.6 ms against 4.6).
_MAX_SEARCHED = 64


class _Words:
    """Where some known words stand as whole words in a folded text.

    Exact (every character of every known word a letter that continues a
    word, as real names are), the whole-word hits of the old scan (one
    alternation, longest word first, each hit checked) are simply every
    whole-word occurrence of a known word: a hit the scan would take and
    reject is letters throughout, so it can never hide one that counts. Those
    are found with one str.find per word (short words, which occur inside
    most words, with an alternation that skips ASCII-letter neighbours in C).
    Otherwise (or past ``_MAX_SEARCHED`` words) the old scan is kept.
    """

    def __init__(self, words: Mapping[str, object], bounded: bool = True) -> None:
        ordered = sorted(words, key=len, reverse=True)
        self.exact = bounded and all(_letter(c) for word in ordered for c in word)
        self._searched: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        if not ordered:
            return
        if self.exact and len(ordered) <= _MAX_SEARCHED:
            self._searched = tuple(w for w in ordered if len(w) >= 3)
            short = [w for w in ordered if len(w) < 3]
            self._pattern = _bounded_pattern(short) if short else None
        else:
            self.exact = False
            self._pattern = _WORD if len(ordered) > _MAX_SEARCHED else re.compile("|".join(map(re.escape, ordered)))

    def hits(self, folded: str) -> list[_Hit]:
        """Every hit that is a whole word, in order of position (no two overlap)."""
        hits: list[_Hit] = []
        find, last = folded.find, len(folded) - 1
        for word in self._searched:
            size = len(word)
            at = find(word)
            while at >= 0:
                end = at + size
                # _whole_word(), written out: this loop runs for every occurrence of every known word
                before = folded[at - 1] if at else " "
                after = folded[end] if end <= last else " "
                if not (before.isalpha() and before < _NO_SPACES) and not (after.isalpha() and after < _NO_SPACES):
                    hits.append((at, end, word))
                at = find(word, end)  # a whole word cannot start inside an occurrence: letters only
        if self._pattern is not None:
            for match in self._pattern.finditer(folded):
                start, end = match.span()
                if _whole_word(folded, start, end):
                    hits.append((start, end, match.group(0)))
        if self._searched:
            hits.sort()
        return hits


def _bounded_pattern(words: list[str]) -> re.Pattern[str]:
    """An alternation (longest first) that never matches with an ASCII letter on either side.

    Each word opens with its literal first letter, so the scan still skips in C from one candidate to the next.
    """
    return re.compile("|".join(rf"{re.escape(w[0])}(?<![a-z]{re.escape(w[0])}){re.escape(w[1:])}(?![a-z])" for w in words))


def _whole_word(text: str, start: int, end: int) -> bool:
    return not (start > 0 and _letter(text[start - 1])) and not (end < len(text) and _letter(text[end]))


_NO_SPACES = "\u2e80"  # from here on, scripts written without spaces (CJK)


def _letter(c: str) -> bool:
    """A letter that continues a word; scripts written without spaces (CJK) never do."""
    return c.isalpha() and c < _NO_SPACES


def _first_word(token: str) -> str:
    found = _WORD.search(token)
    return found.group(0) if found else token


@lru_cache(maxsize=4096)
def _is_named(found: str) -> bool:
    """A full-name match written like a name: capitalised, or in one case with a word that is no common word.

    Kept per spelling: the same few ("will mark" in a 64 KB thread) come back hundreds of times.
    """
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
    previous = _last_word(before)
    if previous and _capitalised(previous[1]) and fold(previous[1]) not in _GREETINGS:
        if not _sentence_start(before[: previous[0]]):
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


_WORD_TAIL = "_'’-"  # besides letters and digits, what the last word before a name may hold


def _last_word(before: str) -> tuple[int, str] | None:
    """Where ``re.search(r"([^\\W\\d_][\\w'’-]*)[ \\t]+\\Z", before)`` matches, and its word, scanning back.

    The regex search tries every position of up to 300 characters (25 µs per
    capitalised word); the match can only be in the run of word characters
    just before the closing spaces, from its first letter.
    """
    text = before.rstrip(" \t")
    if len(text) == len(before):
        return None
    start = len(text)
    while start and (text[start - 1].isalnum() or text[start - 1] in _WORD_TAIL):
        start -= 1
    for at in range(start, len(text)):
        if text[at].isalnum() and not text[at].isdecimal():  # [^\W\d_]: a word character, no digit, no "_"
            return at, text[at:]
    return None


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

