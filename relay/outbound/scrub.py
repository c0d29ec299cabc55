"""Real addresses and names in message text replaced by aliases and handles.

Quoted replies, signatures, Outlook "From:/Sent:" blocks and mailto links
carry the participants' real addresses; this is where they become aliases.
Addresses are matched in every spelling a client or web page produces: any
case, percent-encoded, HTML-entity-encoded, or a mix of these per character.
Matching is deliberately greedy: an alias inside a longer stranger's address
is a smaller harm than a real address left in the copy.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable, Mapping
from html.parser import HTMLParser

_NAMED_ENTITIES = {"@": "commat", ".": "period", "_": "lowbar", "+": "plus", "-": "hyphen"}
_NAME_GAP = r"(?:\s|&nbsp;|&#0*160;|&#x0*a0;)+"
_MAX_PASSES = 3
_IMG_TAG = re.compile(r"<img\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_REMOTE = re.compile(r"^\s*(?:https?:|//)", re.IGNORECASE)
# Every spelling of an address contains one of these where its "@" is.
_ANCHOR = re.compile(r"@|%40|&#|&commat;|=40", re.IGNORECASE)
_TOKEN_BREAK = re.compile(r"[\s<>\"'(),:\[\]]")
_TOKEN = re.compile(r"[^\s<>\"'(),:\[\]]+")
_HELD = re.compile("\ue000(\\d+)\ue001")
_FOLDED = re.compile(r"\r?\n[ \t]")
_ICAL_WIDTH = 74


def _char_pattern(ch: str) -> str:
    """One character of an address, in any of the spellings it may take."""
    forms = [re.escape(ch)]
    encoded = ch.encode("utf-8")
    forms.append("".join(f"%{b:02x}" for b in encoded))
    # Browsers accept a numeric reference without its semicolon, too.
    forms.append(f"&#0{{0,8}}{ord(ch)}(?:;|(?![0-9]))")
    forms.append(f"&#x0{{0,8}}{ord(ch):x}(?:;|(?![0-9a-f]))")
    if ch in _NAMED_ENTITIES:
        forms.append(f"&{_NAMED_ENTITIES[ch]};")
    if ch == "@":
        forms.append("=40")  # quoted-printable left undecoded, as in vCard 2.1
    return "(?:" + "|".join(forms) + ")"


def _address_pattern(address: str) -> str:
    return "".join(_char_pattern(ch) for ch in address)


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
            (f"a{i}", _address_pattern(address)) for i, (address, _) in enumerate(addresses)
        )
        self._name_re = _alternation((f"n{i}", _name_pattern(name)) for i, (name, _) in enumerate(names))
        # Addresses with characters that end a token cannot be found token by
        # token; rare enough that searching the whole text for them is fine.
        self._whole_text = any(_TOKEN_BREAK.search(address) for address, _ in addresses)

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
        if pattern is None:
            return text

        def in_token(token: re.Match[str]) -> str:
            if not _ANCHOR.search(token.group(0)):
                return token.group(0)
            return pattern.sub(lambda m: hold(self._aliases[m.lastgroup or ""]), token.group(0))

        if self._whole_text:
            return pattern.sub(lambda m: hold(self._aliases[m.lastgroup or ""]), text)
        return _TOKEN.sub(in_token, text)

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
