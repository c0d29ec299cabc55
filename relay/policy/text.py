"""Text normalisation for the policy rules: HTML to text, accent folding, words.

Rules never see raw markup or raw case: they see the readable sources of a
message (subject, text parts, HTML parts as text, link targets, attachment
names) and match on folded text, then map matches back to the original so a
moderator is shown exactly what was written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import NamedTuple

from relay.model import Inspection

EXCERPT_CONTEXT = 40

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody td tfoot "
    "th thead tr ul".split()
)
_INVISIBLE_TAGS = frozenset({"script", "style", "head", "template"})
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Source:
    """One readable piece of a message and where it came from, for the reason."""

    where: str  # "subject", "text", "HTML", "link", "attachment name"
    text: str


class Word(NamedTuple):
    """A word of a folded text; a tuple because a long message has thousands."""

    start: int  # offsets in the folded text
    end: int
    text: str


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
        if tag in ("a", "area"):
            self.links.extend(v for k, v in attrs if k == "href" and v)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "area"):
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
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser


def html_to_text(html: str) -> str:
    """The visible text of an HTML part, with block elements on their own lines."""
    return _visible_text(_parse_html(html))


def _visible_text(parser: _TextExtractor) -> str:
    text = "".join(parser.parts)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


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


def original_span(index: tuple[int, ...], start: int, end: int) -> tuple[int, int]:
    """The span in the original text of folded span [start, end)."""
    return index[start], index[end - 1] + 1


def words(folded: str) -> tuple[Word, ...]:
    """The words of a folded text, apostrophes kept inside ("don't" is one word)."""
    return tuple(Word(m.start(), m.end(), m.group().replace("’", "'")) for m in _WORD.finditer(folded))


def excerpt(text: str, start: int, end: int, context: int = EXCERPT_CONTEXT) -> str:
    """The match with about ``context`` characters either side, on one line."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    snippet = _SPACES.sub(" ", text[left:right]).strip()
    return ("…" if left > 0 else "") + snippet + ("…" if right < len(text) else "")
