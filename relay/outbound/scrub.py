"""Real addresses and names in message text replaced by aliases and handles.

Quoted replies, signatures, Outlook "From:/Sent:" blocks and mailto links
carry the participants' real addresses; this is where they become aliases.
Addresses are matched in every spelling a client or web page produces: any
case, percent-encoded, HTML-entity-encoded, or a mix of these per character.
Matching is deliberately greedy: an alias inside a longer stranger's address
is a smaller harm than a real address left in the copy.
"""

from __future__ import annotations

import bisect
import html as html_lib
import re
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser

_NAMED_ESCAPES = {"commat": "@", "period": ".", "lowbar": "_", "plus": "+"}
# One escaped character, as URLs, HTML and leftover quoted-printable write it.
# Browsers accept a numeric reference without its semicolon, too.
_ESCAPE = re.compile(
    r"%[0-7][0-9a-f]|(?:%[89a-f][0-9a-f])+|&#[0-9]{1,8};?|&#x[0-9a-f]{1,8};?|&(?:commat|period|lowbar|plus);|=40",
    re.IGNORECASE,
)
# Every spelling of an address contains one of these where its "@" is.
_ANCHOR = re.compile(r"@|%40|&#|&commat;|=40", re.IGNORECASE)
_NAME_GAP = r"(?:\s|&nbsp;|&#0*160;|&#x0*a0;)+"
_MAX_PASSES = 3
_IMG_TAG = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_REMOTE = re.compile(r"^\s*(?:https?:|//)", re.IGNORECASE)
_HELD = re.compile("\ue000(\\d+)\ue001")
_FOLDED = re.compile(r"\r?\n[ \t]")
_ICAL_WIDTH = 74


def _unescape(escape: str) -> str | None:
    lowered = escape.lower()
    try:
        if lowered.startswith("%"):
            return bytes.fromhex(lowered.replace("%", "")).decode("utf-8", "replace")
        if lowered.startswith("&#x"):
            return chr(int(lowered[3:].rstrip(";"), 16))
        if lowered.startswith("&#"):
            return chr(int(lowered[2:].rstrip(";")))
    except (ValueError, OverflowError):
        return None
    return "@" if lowered == "=40" else _NAMED_ESCAPES.get(lowered[1:-1])


class _Unescaped:
    """A text with every escaped character decoded, and the way back to the
    original offsets, so a match in the decoded text replaces the original
    spelling wherever the escapes were."""

    def __init__(self, text: str) -> None:
        pieces: list[str] = []
        self._segments: list[tuple[int, int, int, int]] = []  # decoded start/end, original start/end
        self._starts: list[int] = []
        position = decoded = 0
        for match in _ESCAPE.finditer(text):
            value = _unescape(match.group(0))
            if value is None or value == "":
                continue
            plain = text[position : match.start()]
            pieces.extend((plain, value))
            decoded += len(plain)
            self._segments.append((decoded, decoded + len(value), match.start(), match.end()))
            self._starts.append(decoded)
            decoded += len(value)
            position = match.end()
        pieces.append(text[position:])
        self.text = "".join(pieces)

    def _locate(self, index: int) -> tuple[tuple[int, int, int, int] | None, int]:
        """The escape holding decoded `index`, or None and its original offset."""
        i = bisect.bisect_right(self._starts, index) - 1
        if i < 0:
            return None, index
        segment = self._segments[i]
        if index < segment[1]:
            return segment, segment[2]
        return None, segment[3] + index - segment[1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind decoded [start, end)."""
        first, original_start = self._locate(start)
        last, original_last = self._locate(end - 1)
        return original_start, (last[3] if last else original_last + 1)


def _alternation(named: Iterable[tuple[str, str]]) -> re.Pattern[str] | None:
    alternatives = [f"(?P<{group}>{pattern})" for group, pattern in named]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def _release(held: list[str], match: re.Match[str]) -> str:
    index = int(match.group(1))
    return held[index] if index < len(held) else ""


def _name_pattern(name: str) -> str:
    words = [re.escape(word) for word in name.split()]
    forms = [_NAME_GAP.join(words)]
    if len(words) == 2:  # "Doe, Jane" as Outlook and directories write it
        forms.append(words[1] + r"\s*,\s*" + words[0])
    return r"(?<!\w)(?:" + "|".join(forms) + r")(?!\w)"


class Scrubber:
    """Compiled patterns for one set of participants, reused across parts."""

    def __init__(self, address_map: Mapping[str, str], name_map: Mapping[str, str]) -> None:
        addresses = sorted(
            {k.strip().lower(): v for k, v in address_map.items() if k and k.strip()}.items(),
            key=lambda item: -len(item[0]),
        )
        names = sorted(
            {" ".join(k.split()): v for k, v in name_map.items() if len(" ".join(k.split())) >= 2}.items(),
            key=lambda item: -len(item[0]),
        )
        self._names = dict(names)
        self._aliases = {f"a{i}": alias for i, (_, alias) in enumerate(addresses)}
        self._handles = {f"n{i}": handle for i, (_, handle) in enumerate(names)}
        self._address_re = _alternation(
            (f"a{i}", re.escape(address)) for i, (address, _) in enumerate(addresses)
        )
        self._name_re = _alternation((f"n{i}", _name_pattern(name)) for i, (name, _) in enumerate(names))

    def text(self, text: str, *, markup: bool = False) -> str:
        """Replace addresses, then names; `markup` escapes handles for HTML.

        Aliases are held back as placeholders until the end, so a name can
        neither match inside an alias nor break a real address in two.
        """
        if not text or (self._address_re is None and self._name_re is None):
            return text
        held: list[str] = []

        def hold(value: str) -> str:
            held.append(html_lib.escape(value) if markup else value)
            return f"\ue000{len(held) - 1}\ue001"

        for _ in range(_MAX_PASSES):
            replaced = self._replace_addresses(text, hold)
            if replaced == text:
                break
            text = replaced
        if self._name_re is not None:
            text = self._name_re.sub(lambda m: hold(self._handles[m.lastgroup or ""]), text)
        return _HELD.sub(lambda m: _release(held, m), text)

    def _replace_addresses(self, text: str, hold: Callable[[str], str]) -> str:
        pattern = self._address_re
        if pattern is None or not _ANCHOR.search(text):
            return text
        unescaped = _Unescaped(text)
        out: list[str] = []
        last = 0
        for match in pattern.finditer(unescaped.text):
            start, end = unescaped.span(match.start(), match.end())
            if start < last:  # widened to a whole escape the previous match took
                continue
            out.extend((text[last:start], hold(self._aliases[match.lastgroup or ""])))
            last = end
        out.append(text[last:])
        return "".join(out)

    def html(self, markup: str, *, strip_remote_images: bool = False) -> str:
        if strip_remote_images:
            markup = _IMG_TAG.sub(_image_to_alt, markup)
        return self.text(markup, markup=True)

    def vcard(self, text: str) -> str:
        """EMAIL, FN and every other line scrubbed; N rebuilt when it spells a known name."""
        lines = []
        for line in _FOLDED.sub("", text).splitlines():
            named = _structured_name(line, self._names)
            lines.append(_fold_content_line(named if named != line else self.text(line)))
        return "\r\n".join(lines) + "\r\n"

    def calendar(self, text: str) -> str:
        """ORGANIZER/ATTENDEE mailto and CN= values, and every other line."""
        lines = [_fold_content_line(self.text(line)) for line in _FOLDED.sub("", text).splitlines()]
        return "\r\n".join(lines) + "\r\n"


def _structured_name(line: str, names: Mapping[str, str]) -> str:
    """`N:Doe;Jane;;;` becomes `N:<handle>;;;;` when Jane Doe is a known name."""
    head, colon, value = line.partition(":")
    if not colon or head.split(";")[0].split(".")[-1].strip().upper() != "N":
        return line
    parts = [p.strip() for p in value.split(";")] + ["", "", ""]
    family, given, additional = parts[0], parts[1], parts[2]
    candidates = {
        " ".join(f"{given} {family}".split()).casefold(),
        " ".join(f"{given} {additional} {family}".split()).casefold(),
    }
    for name, handle in names.items():
        if " ".join(name.split()).casefold() in candidates:
            return f"{head}:{handle};;;;"
    return line


def _fold_content_line(line: str) -> str:
    """vCard/iCalendar folding: at most 75 octets a line, continuation with a space."""
    if len(line.encode("utf-8")) <= _ICAL_WIDTH:
        return line
    chunks, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8", "replace"))
        if size + width > _ICAL_WIDTH:
            chunks.append(current)
            current, size = "", 1  # the leading space of the continuation
        current += ch
        size += width
    chunks.append(current)
    return "\r\n ".join(chunks)


class _TagAttributes(HTMLParser):
    """Reads the attributes of one tag with the standard HTML tokenizer."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs = {name.lower(): value or "" for name, value in attrs}

    handle_startendtag = handle_starttag


def _image_to_alt(match: re.Match[str]) -> str:
    """A remote image (often a tracking pixel) becomes its alt text."""
    reader = _TagAttributes()
    reader.feed(match.group(0))
    reader.close()
    sources = [reader.attrs.get(key, "") for key in ("src", "srcset", "data-src")]
    if not any(_REMOTE.match(src) for src in sources if src):
        return match.group(0)
    return html_lib.escape(reader.attrs.get("alt", ""), quote=False)


def scrub_text(text: str, address_map: Mapping[str, str], name_map: Mapping[str, str]) -> str:
    """Plain text with every participant's real address and name replaced."""
    return Scrubber(address_map, name_map).text(text)


def scrub_html(
    html: str,
    address_map: Mapping[str, str],
    name_map: Mapping[str, str],
    strip_remote_images: bool = False,
) -> str:
    """HTML markup with addresses (in text, links and attributes) and names replaced."""
    return Scrubber(address_map, name_map).html(html, strip_remote_images=strip_remote_images)


def scrub_vcard(text: str, address_map: Mapping[str, str], name_map: Mapping[str, str]) -> str:
    return Scrubber(address_map, name_map).vcard(text)


def scrub_calendar(text: str, address_map: Mapping[str, str], name_map: Mapping[str, str]) -> str:
    return Scrubber(address_map, name_map).calendar(text)
