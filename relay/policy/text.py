"""Text normalisation for the policy rules: HTML to text, accent folding, words.

Rules never see raw markup or raw case: they see the readable sources of a
message (subject, text parts, HTML parts as text, link targets, attachment
names) and match on folded text, then map matches back to the original so a
moderator is shown exactly what was written.

The sources are worked out once per message (``Readable.of``) and handed to
every rule; what several rules derive from a source (its lower-case key, its
words, its digit runs) is computed the first time a rule asks and kept
with the source, so no rule pays for it twice and none pays for what it never
needs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from relay.model import Inspection
from relay.policy import simple_html

EXCERPT_CONTEXT = 40

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot "
    "th thead tr ul".split()
)
_INVISIBLE_TAGS = frozenset({"script", "style", "head", "template"})
_LINK_TAGS = frozenset({"a", "area"})  # the only tags whose attributes are read: their href
_PLAIN_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
_SPACE = re.compile(r"\s")
_DIGITS = re.compile(r"\d+")
_ASCII_SPACES = " \t\n\r\f\v"
_DIGIT_MASK = str.maketrans({chr(c): "0" if chr(c).isdigit() else " " for c in range(128)})
_NOT_DIGITS = bytes(c for c in range(256) if c not in b"0123456789")
# ASCII letters in lower case and every other character than a word character as a space: the key, split into words.
_ASCII_WORD_KEY = str.maketrans({chr(c): chr(c).lower() if _PLAIN_WORD.match(chr(c)) else " " for c in range(128)})


def _ascii_class(char: str) -> str:
    if char.isdigit():
        return "0"
    if char in "xX":  # a phone number's extension mark, between digits as a space is
        return "x"
    if char.isalpha():
        return "A" if char.isupper() else "a"
    if char == "_":
        return "a"
    return " " if char.isspace() else "."


# Each ASCII character as its kind: a digit "0", an x "x", a capital "A", a small letter or "_" "a",
# a space (what str.isspace and \s mean) " ", anything else ".".
_ASCII_CLASSES = str.maketrans({chr(c): _ascii_class(chr(c)) for c in range(128)})
# Case-insensitive patterns match an ASCII letter in these characters too (the
# dotted and dotless i, the long s, the Kelvin sign): the key spells them as
# that letter, so a cheap look at the key never misses what a pattern finds.
_KEY = str.maketrans(
    {**{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}, "\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
)


class _once:  # noqa: N801 - used like functools.cached_property
    """A value computed on first use and kept in the instance, like ``functools.cached_property``.

    Python 3.11's cached_property takes a lock on every first use, which
    costs about as much as a short source's views themselves; this one does
    not (a rare race computes the same value twice, harmlessly).
    """

    def __init__(self, compute):
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@dataclass(frozen=True)
class Source:
    """One readable piece of a message and where it came from, for the reason.

    The cached properties are derived views for the rules' cheap checks; a
    frozen value still (the text never changes), computed on first use.
    """

    where: str  # "subject", "text", "HTML", "link", "attachment name"
    text: str

    @_once
    def key(self) -> str:
        """The text with ASCII letters in lower case, character for character (offsets agree)."""
        if self.text.isascii():  # then lower() is the same translation, in half the time
            return self.text.lower()
        return self.text.translate(_KEY)

    @_once
    def key_words(self) -> frozenset[str]:
        """Every run of word characters in the key: what a case-insensitive ``\\b`` word can be."""
        if self.text.isascii():  # then the key is the folded text
            return self.folded_words
        return frozenset(_PLAIN_WORD.findall(self.key))

    @_once
    def spaced_key_words(self) -> str:
        """The distinct ``key_words``, each after a space: " " and a prefix occur in it where a word starts so."""
        if self.text.isascii():
            return self._spaced_folded_words
        return _spaced(self.key_words)

    @_once
    def matchable(self) -> str:
        """The folded text with ’ as ', so phrase matching sees "don’t" as "don't"."""
        return self._folded[0].replace("’", "'")

    @_once
    def fold_index(self) -> Sequence[int]:
        """For every character of ``matchable``, its index in the original text."""
        return self._folded[1]

    @_once
    def folded_words(self) -> frozenset[str]:
        """Every run of word characters in ``matchable``: a word can only occur if all its runs do.

        "don't" is the runs "don" and "t". ASCII text is split by a translation
        to spaces, a few times faster than a regular expression.
        """
        if self.text.isascii():
            return frozenset(self._spaced_key.split())
        return frozenset(_PLAIN_WORD.findall(self.matchable))

    @_once
    def _spaced_key(self) -> str:
        """An ASCII text's key with a space for every other character than a word character, and one either side."""
        return " " + self.text.translate(_ASCII_WORD_KEY) + " "

    def find_word(self, word: str) -> list[int]:
        """Where ``word`` (in lower case) is a whole run of word characters in the key.

        In ASCII text one string search for the word between spaces finds
        them (where " word " starts in the padded copy, the word starts in the
        key); elsewhere each occurrence is checked.
        """
        if self.text.isascii():
            return find_all(self._spaced_key, f" {word} ")
        key = self.key
        return [at for at in find_all(key, word) if _whole_word(key, at, at + len(word))]

    @_once
    def _spaced_folded_words(self) -> str:
        return _spaced(self.folded_words)

    def has_folded_word_starting(self, prefix: str) -> bool:
        """Whether some run of ``folded_words`` starts with ``prefix`` (no space in it): "fuck*" finds "fucking".

        One search of the distinct words each after a space, a string far
        shorter than a long text, and no sort.
        """
        return f" {prefix}" in self._spaced_folded_words

    @_once
    def digit_runs(self) -> tuple[tuple[int, int], ...]:
        """(start, end) of every run of digits, in order."""
        if self.text.isascii():
            return _ascii_digit_runs(self._digit_mask) if self.digit_count else ()
        if not _has_digit(self.text):
            return ()
        return tuple(m.span() for m in _DIGITS.finditer(self.text))

    @_once
    def digit_count(self) -> int:
        """How many digits the text holds: a rule that needs more looks no further."""
        if self.text.isascii():  # the bytes left when all but the digits are deleted, a pass in C
            return len(self.text.encode("ascii").translate(None, _NOT_DIGITS))
        return sum(end - start for start, end in self.digit_runs)

    @_once
    def _digit_mask(self) -> str:
        """An ASCII text with "0" for every digit and a space for every other character."""
        return self.text.translate(_DIGIT_MASK)

    @_once
    def classes(self) -> str:
        """An ASCII text with each character as its kind (see ``_ASCII_CLASSES``); offsets agree.

        A pattern over the kinds that starts with a literal is searched in C
        from one candidate to the next, where the same question put to the
        text steps through every character in Python's regular-expression
        engine. Only for ASCII text: callers check ``text.isascii()`` first.
        """
        return self.text.translate(_ASCII_CLASSES)

    @_once
    def _folded(self) -> tuple[str, Sequence[int]]:
        if self.text.isascii():
            return self.key, range(len(self.text))
        return fold_with_map(self.text)


def _spaced(words: frozenset[str]) -> str:
    """Each word after a space: a space and a prefix occur in it just where a word starts with the prefix."""
    return " " + " ".join(words) if words else ""


def _ascii_digit_runs(mask: str) -> tuple[tuple[int, int], ...]:
    """The digit runs of an ASCII text, found by string searches in its digits-and-spaces mask.

    A regular expression steps through every character in Python's engine;
    a translation and ``find`` do it in C, several times faster.
    """
    runs = []
    at = mask.find("0")
    while at >= 0:
        end = mask.find(" ", at)
        end = len(mask) if end < 0 else end
        runs.append((at, end))
        at = mask.find("0", end)
    return tuple(runs)


def _has_digit(text: str) -> bool:
    return any(d in text for d in "0123456789") or (not text.isascii() and _DIGITS.search(text) is not None)


@dataclass(frozen=True)
class Readable:
    """Everything a person could read in one message, worked out once and shared by every rule."""

    sources: tuple[Source, ...] = ()

    @staticmethod
    def of(inspection: Inspection) -> "Readable":
        return Readable(readable_sources(inspection))

    @property
    def prose(self) -> tuple[Source, ...]:
        """The sources that are sentences (subject, text, HTML text), not links or file names."""
        return tuple(s for s in self.sources if s.where in ("subject", "text", "HTML"))


def token_windows(text: str, positions: Sequence[int]) -> list[tuple[int, int]]:
    """The whitespace-free runs of ``text`` around each position, merged, in order.

    A pattern that cannot match whitespace finds the same matches in these
    runs as in the whole text (lookbehinds still see the text before a run).
    Only ASCII whitespace cuts a run; any other space merely makes it longer.
    """
    windows: list[tuple[int, int]] = []
    for at in positions:
        if windows and at < windows[-1][1]:
            continue
        # the previous run ended at a space, which may be one of the others
        start = run_start(text, at, windows[-1][1] if windows else 0)
        space = _SPACE.search(text, at)
        windows.append((start, space.start() if space else len(text)))
    return windows


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` is a whole run of word characters (str.isalnum and "_" are \\w)."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before == "_" or after.isalnum() or after == "_")


def run_start(text: str, at: int, lo: int = 0) -> int:
    """Where the run of characters other than ASCII whitespace that ends at ``at`` starts, but not before ``lo``.

    The last space of a short stretch back is the last space of all, so only
    a run longer than that stretch costs a search further back.
    """
    near = max(lo, at - 64)
    start = max(text.rfind(c, near, at) for c in _ASCII_SPACES) + 1
    if start == 0 and near > lo:
        start = max(text.rfind(c, lo, near) for c in _ASCII_SPACES) + 1
    return max(start, lo)


def find_all(text: str, needle: str) -> list[int]:
    """Every index where ``needle`` occurs in ``text`` (overlapping occurrences too)."""
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


class _TextExtractor(HTMLParser):
    """Collects visible text and link targets; block elements become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE_TAGS:
            self._hidden += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag in _LINK_TAGS:
            self.links.extend(v for k, v in attrs if k == "href" and v)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _LINK_TAGS:
            self.links.extend(v for k, v in attrs if k == "href" and v)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE_TAGS and self._hidden:
            self._hidden -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _parse_html(html: str) -> _TextExtractor:
    """The extractor after reading ``html``: quickly if the markup is plain, else by html.parser."""
    parser = _TextExtractor()
    if simple_html.feed(html, parser, _LINK_TAGS):
        return parser
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser


def html_to_text(html: str) -> str:
    """The visible text of an HTML part, with block elements on their own lines."""
    return _visible_text(_parse_html(html))


def _visible_text(parser: _TextExtractor) -> str:
    """The text's lines with their spaces collapsed (str.split's spaces are \\s), empty ones left out."""
    lines = "".join(parser.parts).splitlines()
    return "\n".join(" ".join(words) for words in map(str.split, lines) if words)


def html_links(html: str) -> tuple[str, ...]:
    """Link targets (href) of an HTML part: what a click would open."""
    return tuple(_parse_html(html).links)


def readable_sources(inspection: Inspection) -> tuple[Source, ...]:
    """Everything a person could read in a message, each with where it is."""
    sources = [Source("subject", inspection.subject)] if inspection.subject else []
    sources += [Source("text", text) for text in inspection.texts if text]
    for html in inspection.htmls:
        parsed = _parse_html(html)
        text = _visible_text(parsed)
        if text:
            sources.append(Source("HTML", text))
        sources += [Source("link", link) for link in parsed.links]
    sources += [Source("attachment name", a.filename) for a in inspection.attachments if a.filename]
    return tuple(sources)


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(
        c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c) != "Cf"
    )
    return kept.casefold()


def fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Suïcide' and 'ＳＵＩＣＩＤＥ' both give 'suicide'."""
    return fold_with_map(text)[0]


def fold_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """Folded text and, for every folded character, its index in the original.

    Folding can change lengths ('ß' → 'ss', zero-width characters vanish), so
    matches on the folded text are mapped back through this table.
    """
    if text.isascii():
        return text.lower(), tuple(range(len(text)))
    out: list[str] = []
    index: list[int] = []
    for i, char in enumerate(text):
        folded = _fold_char(char) if not char.isascii() else char.lower()
        out.append(folded)
        index.extend([i] * len(folded))
    return "".join(out), tuple(index)


def original_span(index: Sequence[int], start: int, end: int) -> tuple[int, int]:
    """The span in the original text of folded span [start, end)."""
    return index[start], index[end - 1] + 1


def excerpt(text: str, start: int, end: int, context: int = EXCERPT_CONTEXT) -> str:
    """The match with about ``context`` characters either side, on one line."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    snippet = _SPACES.sub(" ", text[left:right]).strip()
    return ("…" if left > 0 else "") + snippet + ("…" if right < len(text) else "")
