"""The masked copy: a message rebuilt for one recipient from an allowlist.

Nothing from the original is copied by default. Headers are written from the
MaskContext alone (the subject is the one value taken over, decoded and
scrubbed); the MIME tree is rebuilt part by part with only its own content
headers, every text decoded, scrubbed and re-encoded, binary data carried
over as base64. The result is 7-bit, CRLF, with no line over 998 octets.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import timezone
from functools import lru_cache
from email.generator import BytesGenerator
from email.headerregistry import HeaderRegistry
from email.message import Message, MIMEPart
from email.utils import format_datetime, getaddresses, parseaddr, parsedate_to_datetime
from urllib.parse import unquote

from relay.mime import read_message
from relay.model import MaskContext
from relay.outbound.charsets import decode_text
from relay.outbound.headers import (
    clean_address,
    format_address,
    header_line,
    is_header_name,
    safe_header_value,
    single_line,
)
from relay.outbound.message_ids import format_id_list, new_message_id, parse_id_list
from relay.outbound.mime_repair import recover_multipart
from relay.outbound.scrub import Scrubber


class _Headers(HeaderRegistry):
    """The email package's header factory, remembering the headers it has made.

    ``HeaderRegistry`` builds a new class for every header and parses every
    value again, which cost more per copy than the text it describes. Header
    objects never change once made, and every copy repeats the same few
    (``text/plain; charset="utf-8"``, ``7bit``), so each name's class is
    made once and each (name, value) parsed once while it recurs.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}
        self._made = lru_cache(maxsize=512)(super().__call__)

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made

    def __call__(self, name: str, value: str):
        return self._made(name, value)


# SMTP policy (CRLF) that never emits 8-bit: text is 7bit, QP or base64.
_POLICY = email.policy.SMTP.clone(cte_type="7bit", max_line_length=78, header_factory=_Headers())
_MAX_DEPTH = 12
_PLACEHOLDER = "[This part of the message could not be relayed.]\n"
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_/-]{0,126}")
_VCARD = frozenset({"text/vcard", "text/x-vcard", "text/directory"})
_CALENDAR = frozenset({"text/calendar", "application/ics"})
_MULTIPART_PARAMS = ("type", "protocol", "micalg", "report-type")
_OWN_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "in-reply-to", "references", "mime-version", "reply-to"}
)
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_CID_URL = re.compile(r"(?i)\bcid:([^\"'\s>)]+)")
_META_CHARSET = re.compile(r"(?i)(<meta\b[^>]*?charset\s*=\s*[\"']?)[^\"'\s;/>]+")
_NEWLINE = re.compile(r"\r\n|\r|\n")  # a line end as its generator rewrites them


@dataclass(frozen=True)
class _Copy:
    """What every part of one masked copy shares."""

    ctx: MaskContext
    scrubber: Scrubber
    content_ids: dict[str, str]  # original Content-ID (no brackets) -> the copy's


def build_masked_copy(raw: bytes, ctx: MaskContext) -> bytes:
    """The masked copy of `raw` for one recipient, as bytes with CRLF line endings, ready to DKIM-sign."""
    try:
        source = read_message(raw)
    except Exception:  # the parser is forgiving; this is a last resort
        source = email.message_from_string("\n\n")
    copy = _Copy(ctx, Scrubber(ctx.address_map, ctx.name_map), _content_ids(source, ctx))
    try:
        root = _safe_part(copy, source, depth=0, path="r")
        content_headers, body = _generate(root)
    except Exception:
        content_headers, body = _generate(_placeholder())
    top = _top_headers(source, copy).encode("ascii", "replace")
    tail = _tail_headers(ctx).encode("ascii", "replace")
    return top + b"MIME-Version: 1.0\r\n" + content_headers + tail + b"\r\n" + body


def _top_headers(source: Message, copy: _Copy) -> str:
    ctx = copy.ctx
    lines = [
        header_line("From", format_address(ctx.sender_handle, ctx.sender_alias)),
        header_line("To", format_address(ctx.recipient_handle, ctx.recipient_email)),
    ]
    subject = _first_header(source, "Subject")
    if subject is not None:
        lines.append(header_line("Subject", copy.scrubber.text(subject), unstructured=True))
    date = ctx.date if ctx.date.tzinfo else ctx.date.replace(tzinfo=timezone.utc)
    lines.append(header_line("Date", format_datetime(date.astimezone(timezone.utc))))
    own_id = next(iter(parse_id_list(ctx.message_id)), "") or new_message_id(ctx.domain, "unset")
    lines.append(header_line("Message-ID", own_id))
    if ctx.in_reply_to and (value := format_id_list(ctx.in_reply_to)):
        lines.append(header_line("In-Reply-To", value))
    if ctx.references and (value := format_id_list(ctx.references)):
        lines.append(header_line("References", value))
    return "".join(lines)


def _tail_headers(ctx: MaskContext) -> str:
    lines = []
    if ctx.reply_to:
        name, addr = parseaddr(safe_header_value(ctx.reply_to))
        if addr:
            lines.append(header_line("Reply-To", format_address(name, addr)))
    for name, value in ctx.extra_headers:
        if is_header_name(name) and name.lower() not in _OWN_HEADERS and not name.lower().startswith("content-"):
            lines.append(header_line(name, value, unstructured=True))
    return "".join(lines)


def _first_header(msg: Message, name: str) -> str | None:
    """The first value of a header, raw bytes included, made safe."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return safe_header_value(str(value))
    return None


def _safe_part(copy: _Copy, part: Message, depth: int, path: str) -> MIMEPart:
    """One part rebuilt; a part that cannot be rebuilt is replaced, never copied."""
    if depth > _MAX_DEPTH:
        return _placeholder()
    try:
        return _part(copy, part, depth, path)
    except Exception:
        return _placeholder()


def _part(copy: _Copy, part: Message, depth: int, path: str) -> MIMEPart:
    ctype = part.get_content_type().lower()
    maintype = ctype.split("/")[0]
    payload = part.get_payload()
    if maintype == "message" and ctype not in ("message/delivery-status", "message/disposition-notification"):
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            inner = email.message_from_bytes(part.get_payload(decode=True) or b"", policy=email.policy.compat32)
        return _attached_message(copy, part, inner, depth, path)
    if isinstance(payload, list):
        if maintype == "multipart":
            return _multipart(copy, part, payload, depth, path)
        return _text_part(copy, part, "text/plain", _blocks_text(payload))
    if maintype == "multipart" and (recovered := recover_multipart(part)) is not None:
        return _multipart(copy, recovered, recovered.get_payload(), depth, path)
    if maintype in ("text", "multipart", "message") or ctype in _CALENDAR:
        return _text_part(copy, part, ctype if maintype == "text" or ctype in _CALENDAR else "text/plain")
    return _binary_part(copy, part, ctype)


def _multipart(copy: _Copy, part: Message, payload: list, depth: int, path: str) -> MIMEPart:
    children = [
        _safe_part(copy, child, depth + 1, f"{path}.{i}")
        for i, child in enumerate(payload)
        if isinstance(child, Message)
    ]
    if not children:
        return _text_part(copy, part, "text/plain", "")
    subtype = part.get_content_subtype().lower()
    new = MIMEPart(policy=_POLICY)
    new["Content-Type"] = f"multipart/{subtype if _TOKEN.fullmatch(subtype) else 'mixed'}"
    for name in _MULTIPART_PARAMS:
        value = _param(part, name)
        if value and _TOKEN.fullmatch(value):
            new.set_param(name, value)
    start = _param(part, "start")
    if start and start.strip("<>") in copy.content_ids:
        new.set_param("start", f"<{copy.content_ids[start.strip('<>')]}>")
    # Derived from the copy's own id: deterministic, and never the sender client's.
    digest = hashlib.sha256(f"{copy.ctx.message_id}\0{path}".encode()).hexdigest()[:24]
    new.set_param("boundary", f"=_mr_{digest}")
    new.set_payload(children)
    return new


def _text_part(copy: _Copy, part: Message, ctype: str, text: str | None = None) -> MIMEPart:
    if text is None:
        text = _decoded_text(part)
        if (_param(part, "format") or "").lower() == "flowed":
            text = _unflow(text, delsp=(_param(part, "delsp") or "").lower() == "yes")
    text = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    scrub = copy.scrubber
    if ctype == "text/html":
        text = _remap_cids(scrub.html(text, strip_remote_images=copy.ctx.strip_remote_images), copy)
        text = _META_CHARSET.sub(r"\1utf-8", text)
    elif ctype in _VCARD:
        text = scrub.vcard(text)
    elif ctype in _CALENDAR:
        text = scrub.calendar(text)
    else:
        text = scrub.text(text)
    new = MIMEPart(policy=_POLICY)
    kwargs = _attachment_kwargs(copy, part)
    params = {"name": kwargs["filename"]} if kwargs["filename"] else {}
    method = _param(part, "method")
    if ctype in _CALENDAR and method and _TOKEN.fullmatch(method):
        params["method"] = method
    if ctype == "application/ics":
        new.set_content(text.encode("utf-8"), "application", "ics", cte="base64", params=params, **kwargs)
        return new
    subtype = ctype.split("/", 1)[1]
    # Quoted-printable turns "=" into "=3D", so no text can imitate a boundary.
    cte = "quoted-printable" if "--=_" in text else _seven_bit(text)
    subtype = subtype if _TOKEN.fullmatch(subtype) else "plain"
    new.set_content(text, subtype=subtype, charset="utf-8", cte=cte, params=params, **kwargs)
    return new


def _seven_bit(text: str) -> str | None:
    """"7bit" where the email package, left to choose, would choose it (ASCII, no line over 78), else None.

    The same test with C calls: the email package measures each line in a
    Python generator (64 KB: 50 us). None leaves the choice to it.
    """
    if not text.isascii():
        return None
    return "7bit" if max(map(len, text.encode("ascii").splitlines()), default=0) <= _POLICY.max_line_length else None


def _binary_part(copy: _Copy, part: Message, ctype: str) -> MIMEPart:
    data = part.get_payload(decode=True) or b""
    maintype, _, subtype = ctype.partition("/")
    if not (_TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        maintype, subtype = "application", "octet-stream"
    new = MIMEPart(policy=_POLICY)
    kwargs = _attachment_kwargs(copy, part)
    params = {"name": kwargs["filename"]} if kwargs["filename"] else {}
    new.set_content(data, maintype, subtype, cte="base64", params=params, **kwargs)
    return new


def _attached_message(copy: _Copy, part: Message, inner: Message, depth: int, path: str) -> MIMEPart:
    """A forwarded message: its headers from the same allowlist, its body scrubbed."""
    root = _safe_part(copy, inner, depth + 1, f"{path}.m")
    content_headers, body = _generate(root)
    head = _attached_headers(copy, inner).encode("ascii", "replace")
    new = MIMEPart(policy=_POLICY)
    new["Content-Type"] = "message/rfc822"
    new["Content-Transfer-Encoding"] = "7bit"
    kwargs = _attachment_kwargs(copy, part)
    if kwargs["disposition"] or kwargs["filename"]:
        extra = {"filename": kwargs["filename"]} if kwargs["filename"] else {}
        new.add_header("Content-Disposition", kwargs["disposition"] or "attachment", **extra)
    text = (head + b"MIME-Version: 1.0\r\n" + content_headers + b"\r\n" + body).decode("ascii", "replace")
    new.set_payload(text)
    return new


def _attached_headers(copy: _Copy, inner: Message) -> str:
    lines = []
    for name in ("From", "To", "Cc"):
        value = _first_header(inner, name)
        if value is None:
            continue
        scrub = copy.scrubber.text
        pairs = [(copy.scrubber.display_name(single_line(n)), scrub(clean_address(a))) for n, a in getaddresses([value])]
        # An address 7-bit mail cannot carry is left out rather than mangled.
        pairs = [(n, a) for n, a in pairs if _ADDR_SPEC.fullmatch(a)]
        if pairs:
            lines.append(header_line(name, ", ".join(format_address(n, a) for n, a in pairs)))
    date = _first_header(inner, "Date")
    try:
        when = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is not None:
        lines.append(header_line("Date", format_datetime(when)))
    subject = _first_header(inner, "Subject")
    if subject is not None:
        lines.append(header_line("Subject", copy.scrubber.text(subject), unstructured=True))
    return "".join(lines)


def _attachment_kwargs(copy: _Copy, part: Message) -> dict:
    """Disposition, scrubbed file name and remapped Content-ID of a part."""
    disposition = (part.get_content_disposition() or "").lower()
    try:
        filename = part.get_filename()
    except Exception:
        filename = None
    if filename is not None:
        name = safe_header_value(str(filename)).replace("\\", "/").rsplit("/", 1)[-1]
        # The email package decodes encoded words inside parameters, so none
        # may survive into a name that has already been scrubbed.
        filename = copy.scrubber.text(name).replace("=?", "=_").strip(" .") or None
    cid = None
    original = part.get("Content-ID")
    if original is not None:
        key = safe_header_value(str(original)).strip("<> ")
        cid = f"<{copy.content_ids[key]}>" if key in copy.content_ids else None
    return {
        "disposition": disposition if disposition in ("inline", "attachment") else None,
        "filename": filename,
        "cid": cid,
    }


def _content_ids(source: Message, ctx: MaskContext) -> dict[str, str]:
    """New Content-IDs: the sender's client often puts its own domain in them."""
    ids: dict[str, str] = {}
    domain = new_message_id(ctx.domain, "x")[3:-1] or "relay.invalid"
    try:
        for part in source.walk():
            value = part.get("Content-ID")
            if value is not None:
                key = safe_header_value(str(value)).strip("<> ")
                digest = hashlib.sha256(f"{ctx.message_id}\0{key}".encode("utf-8", "replace")).hexdigest()
                ids[key] = f"{digest[:20]}@{domain}"
    except Exception:  # a tree too odd to walk keeps no inline references
        pass
    return ids


def _remap_cids(markup: str, copy: _Copy) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        new = copy.content_ids.get(key) or copy.content_ids.get(unquote(key))
        return f"cid:{new}" if new else match.group(0)

    return _CID_URL.sub(replace, markup)


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return safe_header_value(str(value)) if value is not None else None


def _decoded_text(part: Message) -> str:
    """The part's text in its declared charset (or the superset clients use), else UTF-8 or windows-1252."""
    data = part.get_payload(decode=True)
    if data is None:
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_text(data, charset)


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed joined into whole lines, so an address broken
    across a soft line break is whole again before scrubbing."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.splitlines():
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        if pending is not None and depth == pending_depth:
            content = pending + content
        elif pending is not None:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
        pending = None
        if content.endswith(" ") and content != "-- ":
            pending, pending_depth = (content[:-1] if delsp else content), depth
            continue
        out.append(">" * depth + (" " if depth else "") + content)
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out) + "\n"


def _blocks_text(blocks: list) -> str:
    """Header blocks (delivery reports) as plain text."""
    lines = []
    for block in blocks:
        if isinstance(block, Message):
            lines.extend(f"{k}: {safe_header_value(str(v))}" for k, v in block.raw_items())
            lines.append("")
    return "\n".join(lines)


def _placeholder() -> MIMEPart:
    new = MIMEPart(policy=_POLICY)
    new.set_content(_PLACEHOLDER, charset="utf-8")
    return new


def _generate(part: MIMEPart) -> tuple[bytes, bytes]:
    """A part as BytesGenerator writes it, split into (its header lines, its body).

    A leaf whose payload is plain ASCII (every text, attachment and
    placeholder the copy makes) is written here the way the generator writes
    one: each header folded by the policy, a blank line, the payload with
    CRLF line ends. The generator writes such a body line by line in Python,
    which cost more than masking it.
    """
    payload = part._payload  # what the generator itself reads (get_payload() may decode it)
    if isinstance(payload, str) and payload.isascii() and part.get_content_maintype() not in ("multipart", "message"):
        head = b"".join(_folded(name, value) for name, value in part.raw_items())
        text = payload.replace("\n", "\r\n") if "\r" not in payload else "\r\n".join(_NEWLINE.split(payload))
        return _split(head + b"\r\n" + text.encode("ascii"))
    return _split(_generated(part))


_FOLDED: dict[int, tuple[str, object, bytes]] = {}  # id(header) -> (name, header, its folded line)


def _folded(name: str, value: object) -> bytes:
    """``_POLICY.fold_binary(name, value)``, once per header object.

    ``_Headers`` hands out one object per (name, value) while it recurs, and
    a header object never changes, so its folded line does not either; the
    object is kept with its line, so its id cannot be reused meanwhile.
    """
    found = _FOLDED.get(id(value))
    if found is not None and found[0] == name and found[1] is value:
        return found[2]
    folded = _POLICY.fold_binary(name, value)
    if len(_FOLDED) >= 1024:
        _FOLDED.clear()
    _FOLDED[id(value)] = (name, value, folded)
    return folded


def _generated(part: MIMEPart) -> bytes:
    """The part flattened by the email package's generator: the exact reference for ``_generate``."""
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False, policy=_POLICY).flatten(part)
    return buffer.getvalue()


def _split(data: bytes) -> tuple[bytes, bytes]:
    """A generated part as (its header lines, its body)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return data if data.endswith(b"\r\n") else data + b"\r\n", b""
    return data[: end + 2], data[end + 4 :]
