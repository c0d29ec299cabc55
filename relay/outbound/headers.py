"""Header values made safe to write: decoded, single-line, and re-encoded only as needed.

Everything a masked copy says in a header passes through here, so a value can
never smuggle a line break (and with it a new header) into the copy, and a
written header line never exceeds what SMTP allows.
"""

from __future__ import annotations

import re
from email.header import Header, decode_header, make_header

from relay.outbound.charsets import decode_text

# Characters that end a line somewhere: str.splitlines() honours all of these,
# and so do parts of the email package.
_LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")
_BREAKS = re.compile("[" + re.escape(_LINE_BREAKS) + "]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_FOLD_WIDTH = 78
_HARD_LIMIT = 990  # below RFC 5322's 998 octets, with room for "Name: "
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")


def safe_header_value(value: str) -> str:
    """Decode encoded words and remove what could break a header line.

    Decoding first matters: an encoded word can carry CR, LF or NUL, which
    would otherwise reach the copy after a later decode.
    """
    return single_line(_decode_words(single_line(value)))


def single_line(value: str) -> str:
    """The text as one clean line, without decoding anything.

    Used on values that were already decoded and scrubbed: decoding them a
    second time could reveal what an encoded word inside an encoded word hid.
    """
    text = str(value)
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip()  # most values: no break, tab, control or run of spaces to clean
    text = _from_surrogates(text)
    text = _BREAKS.sub(" ", text.replace("\t", " "))
    text = _CONTROLS.sub("", text)
    return re.sub(r" {2,}", " ", text).strip()


def _from_surrogates(text: str) -> str:
    """Turn 8-bit bytes the parser kept as surrogate escapes back into text."""
    if not _SURROGATES.search(text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _decode_words(text: str) -> str:
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # malformed words or unknown charsets: decode word by word
        return _ENCODED_WORD.sub(_decode_one_word, text)


def _decode_one_word(match: re.Match[str]) -> str:
    try:
        parts = decode_header(match.group(0))
        return "".join(_bytes_to_text(chunk, charset) for chunk, charset in parts)
    except Exception:
        return match.group(0)


def _bytes_to_text(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    # An iso-2022-jp word with Microsoft's extensions (and the like) decodes as clients decode it.
    return decode_text(chunk, charset)


def format_address(display: str, address: str) -> str:
    """`"Display" <address>`, with the name as encoded words when it is not ASCII."""
    name = single_line(display)
    addr = clean_address(address)
    if not name:
        return f"<{addr}>"
    if name.isascii() and not _ENCODED_WORD.search(name) and "=?" not in name:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{addr}>'
    return f"{_encode_words(name)} <{addr}>"


def clean_address(address: str) -> str:
    """An addr-spec with nothing that could end it early or start another."""
    addr = re.sub(r"[\s<>\"(),;:\\\[\]]", "", single_line(address))
    local, at, domain = addr.rpartition("@")
    if at and not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return f"{local}@{domain}" if at else addr


def _encode_words(text: str) -> str:
    """RFC 2047 words of at most 75 characters each, separated by spaces."""
    encoded = Header(text, "utf-8").encode(linesep="\n", maxlinelen=76)
    return " ".join(part.strip() for part in encoded.split("\n"))


def is_header_name(name: str) -> bool:
    """True for a name RFC 5322 allows (printable ASCII, no colon or space)."""
    return bool(_HEADER_NAME.fullmatch(name))


def header_line(name: str, value: str, *, unstructured: bool = False) -> str:
    """One header, folded with CRLF; lines stay under 998 octets.

    The value is taken literally (decode it first with safe_header_value).
    An unstructured value (Subject, free text) with non-ASCII text or
    something that looks like an encoded word becomes UTF-8 encoded words,
    so the reader sees exactly what was written and nothing more.
    """
    value = single_line(value)
    if _needs_encoding(value) if unstructured else not value.isascii():
        encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n", maxlinelen=_FOLD_WIDTH)
        return f"{name}: {encoded}\r\n"
    return _fold(f"{name}: {value}")


def _needs_encoding(value: str) -> bool:
    return not value.isascii() or "=?" in value


def _fold(line: str) -> str:
    """Fold at spaces to about 78 columns; split anything still too long."""
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        while len(word) > _HARD_LIMIT:  # no space to fold at: keep the line legal
            out.extend([current] if current else [])
            current, word = word[:_HARD_LIMIT], word[_HARD_LIMIT:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= _FOLD_WIDTH or (not out and " " not in current):
            # never fold right after "Name:", so the value keeps no leading space
            current = f"{current} {word}"
        else:
            out.append(current)
            current = word
    out.append(current)
    return "\r\n ".join(part for part in out if part or len(out) == 1) + "\r\n"
