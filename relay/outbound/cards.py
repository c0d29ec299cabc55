"""vCards and iCalendar objects read property by property, masked, and written back valid.

vobject reads the content lines: folded lines are joined, quoted-printable
values (vCard 2.1, often with soft line breaks) are decoded in their
charset. Names (FN, N, CN) are masked as display names, addresses and every
other text value as text; binary values (PHOTO, KEY) are carried unchanged.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from vobject import base as vobject_base

if TYPE_CHECKING:
    from relay.outbound.scrub import Scrubber

_WIDTH = 74  # octets before the fold: 75 with the continuation's leading space
_UNTOUCHED = frozenset({"BEGIN", "END", "VERSION", "PRODID", "UID", "REV", "KIND", "CALSCALE", "METHOD"})
_CN_PARAM = re.compile(r'(?i)(;CN=)("[^"]*"|[^;:]*)')


def _logical_lines(text: str) -> list[str]:
    try:
        return [line for line, _ in vobject_base.getLogicalLines(io.StringIO(text), allowQP=True)]
    except Exception:  # not even content lines: treat each physical line alone
        return [line for line in text.splitlines() if line.strip()]


def mask_vcard(text: str, scrubber: "Scrubber") -> str:
    out = []
    version = ""
    for line in _logical_lines(text):
        if line.upper().startswith("VERSION:"):
            version = line.split(":", 1)[1].strip()
        try:
            out.append(_vcard_line(line, scrubber, quoted_printable=version in ("", "2.1")))
        except Exception:  # a line vobject cannot read is masked as plain text
            out.append(fold(scrubber.text(line.replace("\n", " "))))
    return "".join(line + "\r\n" for line in out)


def _vcard_line(line: str, scrubber: "Scrubber", quoted_printable: bool) -> str:
    """One property masked; quoted-printable (vCard 2.1 only) is kept where the value reads the same under it."""
    name, params, value, group = vobject_base.parseLine(line)
    was_qp = any(
        p and (p[0].upper() == "QUOTED-PRINTABLE" or (p[0].upper() == "ENCODING" and "QUOTED-PRINTABLE" in [v.upper() for v in p[1:]]))
        for p in params
    )
    content = vobject_base.ContentLine(name, params, value, group)
    key = name.upper()
    encoding = [v.upper() for v in content.params.get("ENCODING", [])]
    if key in _UNTOUCHED or "B" in encoding or "BASE64" in encoding:
        return fold(_serialize(content))
    if key == "N":
        content.value = _structured_name(str(content.value), scrubber)
    elif key in ("FN", "NICKNAME", "SORT-STRING"):
        content.value = scrubber.display_name(str(content.value))
    else:
        content.value = scrubber.text(str(content.value))
    value_text = str(content.value)
    if was_qp and quoted_printable and value_text.isascii() and "=" not in value_text and value_text.isprintable():
        content.params["ENCODING"] = ["QUOTED-PRINTABLE"]  # identical under quoted-printable
        return _soft_break(_serialize(content))
    if not value_text.isascii() and "CHARSET" in content.params:
        content.params["CHARSET"] = ["UTF-8"]
    return fold(_serialize(content))


def _soft_break(line: str) -> str:
    """A quoted-printable line kept under 76 octets with soft line breaks, as vCard 2.1 folds them."""
    chunks = [line[i : i + 74] for i in range(0, len(line), 74)] or [""]
    return "=\r\n".join(chunks)


def _structured_name(value: str, scrubber: "Scrubber") -> str:
    """`Doe;Jane;R.;;` becomes `<handle>;;;;` when it spells a known name; else each part as text."""
    parts = (re.split(r"(?<!\\);", value) + ["", "", "", "", ""])[:5]
    family, given, additional = (p.replace("\\,", ",").strip() for p in parts[:3])
    for candidate in (f"{given} {additional} {family}", f"{given} {family}", f"{family} {given}"):
        handle = scrubber.names.whole(" ".join(candidate.split()))
        if handle is not None and " " in " ".join(candidate.split()):
            return f"{handle};;;;"
    original = re.split(r"(?<!\\);", value)
    return ";".join(scrubber.display_name(p) if p.strip() else p for p in original)


def _serialize(content: vobject_base.ContentLine) -> str:
    """One content line; bare vCard 2.1 parameters (TEL;CELL) are kept as they were written."""
    head = (f"{content.group}." if content.group else "") + content.name.upper()
    head += "".join(f";{single}" for single in content.singletonparams)
    for key, values in content.params.items():
        head += f";{key}" + ("=" + ",".join(vobject_base.dquoteEscape(str(v)) for v in values) if values else "")
    value = str(content.value).replace("\r\n", "\\n").replace("\n", "\\n")
    return f"{head}:{value}"


def mask_calendar(text: str, scrubber: "Scrubber") -> str:
    """Each unfolded line masked; CN parameters as display names, their quoting kept."""
    out = []
    for line in _logical_lines(text):
        line = line.replace("\r", "").replace("\n", "")
        line = _CN_PARAM.sub(lambda m: m.group(1) + _cn(m.group(2), scrubber), line)
        out.append(fold(scrubber.text(line)))
    return "".join(line + "\r\n" for line in out)


def _cn(value: str, scrubber: "Scrubber") -> str:
    quoted = value.startswith('"') and value.endswith('"') and len(value) >= 2
    inner = value[1:-1] if quoted else value
    masked = scrubber.display_name(inner).replace('"', "'")
    return f'"{masked}"' if quoted or re.search(r"[;:,]", masked) else masked


def fold(line: str) -> str:
    """vCard/iCalendar folding: at most 75 octets a line, continuation with a space."""
    if len(line.encode("utf-8")) <= _WIDTH:
        return line
    chunks, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8", "replace"))
        if size + width > _WIDTH:
            chunks.append(current)
            current, size = "", 1  # the leading space of the continuation
        current += ch
        size += width
    chunks.append(current)
    return "\r\n ".join(chunks)
