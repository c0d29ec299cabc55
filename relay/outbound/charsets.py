"""Bytes in a declared charset turned into text the way mail clients manage to, not as mojibake.

Senders label text with the standard charset while writing a vendor's
superset (Microsoft's iso-2022-jp with NEC and IBM extensions, cp932 as
shift_jis, gb18030 as gb2312, windows-1252 as iso-8859-1). Python's codecs
are strict, so each label is tried with the supersets real clients accept
before anything is replaced, and only then with replacement characters.
"""

from __future__ import annotations

import codecs

# Tried before the label itself: text labelled Latin-1 is written in windows-1252
# far more often than not (WHATWG decodes it so).
_FIRST: dict[str, str] = {"iso8859_1": "cp1252"}
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "iso2022_jp": ("iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_3", "x-cp50220"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jis_2004",),
    "gb2312": ("gbk", "gb18030"),
    "gbk": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
    "euc_kr": ("cp949",),
    "tis_620": ("cp874",),
    "iso8859_11": ("cp874",),
    "iso8859_8": ("cp1255",),
    "iso8859_9": ("cp1254",),
}


def decode_text(data: bytes, charset: str | None) -> str:
    """The text in `charset` (or a superset), else UTF-8 or windows-1252, else the charset with replacements."""
    name = _codec_name(charset)
    first = [_FIRST[name]] if name in _FIRST else []
    for candidate in (first + [name, *_SUPERSETS.get(name, ())] if name else []) + ["utf_8", "cp1252"]:
        try:
            return _decode(data, candidate, "strict")
        except (LookupError, UnicodeError, ValueError):
            continue
    if name:
        try:
            return _decode(data, name, "replace")
        except (LookupError, UnicodeError, ValueError):
            pass
    return data.decode("latin-1")


def _codec_name(charset: str | None) -> str | None:
    label = (charset or "").strip().strip('"').lower()
    if not label:
        return None
    try:
        return codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None


def _decode(data: bytes, codec: str, errors: str) -> str:
    if codec == "x-cp50220":
        return _jis_to_cp932(data).decode("cp932", errors)
    codecs.lookup(codec)
    return data.decode(codec, errors)


def _jis_to_cp932(data: bytes) -> bytes:
    """ISO-2022-JP (with the Microsoft extensions) as Shift_JIS bytes, for the cp932 codec."""
    out = bytearray()
    mode, i = "ascii", 0
    while i < len(data):
        if data[i] == 0x1B:
            escape = data[i : i + 3]
            mode = "jis" if escape in (b"\x1b$B", b"\x1b$@") else "kana" if escape == b"\x1b(I" else "ascii"
            i += 3
        elif data[i] == 0x0E or data[i] == 0x0F:  # SO/SI around half-width katakana
            mode = "kana" if data[i] == 0x0E else "ascii"
            i += 1
        elif mode == "jis" and i + 1 < len(data) and 0x21 <= data[i] <= 0x7E and data[i] not in (0x0D, 0x0A):
            first, second = data[i], data[i + 1]
            lead = ((first + 1) >> 1) + (0x70 if first <= 0x5E else 0xB0)
            if first & 1:
                trail = second + (0x1F if second <= 0x5F else 0x20)
            else:
                trail = second + 0x7E
            out += bytes((lead, trail))
            i += 2
        elif mode == "kana" and 0x21 <= data[i] <= 0x5F:
            out.append(data[i] + 0x80)
            i += 1
        else:
            out.append(data[i])
            i += 1
    return bytes(out)
