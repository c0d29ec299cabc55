"""Read a raw message into an Inspection, never raising, and saying what it could not read.

The policy rules only ever see decoded text; anything odd on the way (broken
MIME, unknown charsets, encoded words hiding line breaks, absurd nesting) is
kept as a problem string so a rule can hold the message instead of trusting it.
"""

from __future__ import annotations

import email
import email.header
import email.parser
import email.policy
import email.utils
import re
from collections import Counter
from email.message import Message
from html.parser import HTMLParser
from typing import Iterator

from relay.intake.autoreply import classify_message, dsn_summary_of
from relay.mime import read_message
from relay.model import LOOP_HEADER, Attachment, Inspection

DEFAULT_MAX_DEPTH = 20

# Headers RFC 5322 allows at most once; two of them let a sender show one
# value to the policy and another to the recipient's client.
SINGLE_HEADERS = (
    "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date",
    "Message-ID", "In-Reply-To", "References",
)  # fmt: skip

_MSG_ID_RE = re.compile(r"<[^<>\s]+>")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_CONTROL_CHARS = ("\r", "\n", "\x00")
_REBUILT_HEADERS = ("content-type", "content-disposition")

_ENCRYPTED_TYPES = {
    "multipart/encrypted",
    "application/pkcs7-mime",
    "application/x-pkcs7-mime",
    "application/pgp-encrypted",
}
_SIGNED_TYPES = {
    "multipart/signed",
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
    "application/pgp-keys",
}
_ENCRYPTED_MARKERS = (b"-----BEGIN PGP MESSAGE-----",)
_SIGNED_MARKERS = (
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP SIGNED MESSAGE-----",
    b"-----BEGIN PGP PUBLIC KEY BLOCK-----",
)


# --- headers -----------------------------------------------------------------


def _raw_text(value: str) -> str:
    """A raw header value unfolded, with stray 8-bit bytes read as UTF-8 (RFC 6532)."""
    if "\n" in value:
        value = _FOLD_RE.sub("", value)
    if not value.isascii() and any("\udc80" <= ch <= "\udcff" for ch in value):
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return value


def _decode_words(name: str, value: str, problems: list[str]) -> str:
    """Decode RFC 2047 encoded words; on failure keep the raw text and say so."""
    if "=?" not in value:
        return value  # no encoded word: what decode_header would give back unchanged
    try:
        chunks = email.header.decode_header(value)
    except Exception:  # noqa: BLE001 - any decoding failure is a problem, not a crash
        problems.append(f"{name} header could not be decoded")
        return value
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "ascii"))
        except (LookupError, UnicodeDecodeError):
            problems.append(f"{name} header could not be decoded ({charset or 'unknown'} charset)")
            out.append(chunk.decode("utf-8", "replace"))
    return "".join(out)


def _first_raws(msg: Message) -> dict[str, str]:
    """Each header's first raw value, by lower-cased name: one pass over the headers."""
    first: dict[str, str] = {}
    for key, value in msg.raw_items():
        first.setdefault(key.lower(), str(value))
    return first


def _decoded_header(first: dict[str, str], name: str, problems: list[str]) -> str:
    """The first ``name`` header decoded, control characters replaced by spaces."""
    raw = first.get(name.lower())
    if raw is None:
        return ""
    text = _decode_words(name, _raw_text(raw), problems)
    if any(ch in text for ch in _CONTROL_CHARS):
        problems.append(f"{name} header decodes to CR, LF or NUL")
        text = re.sub(r"[\r\n\x00]+", " ", text)
    return text.strip()


def _message_ids(first: dict[str, str], name: str) -> tuple[str, ...]:
    raw = first.get(name.lower())
    return tuple(_MSG_ID_RE.findall(_raw_text(raw))) if raw else ()


# One mailbox in the plainest form RFC 5322 has: an optional display name (atoms, or a
# quoted string of printable ASCII without escapes), then <local@domain> in dot-atoms;
# or the bare address. No comments, groups, escapes, encoded words or obsolete syntax.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATOM}(?:\.{_ATOM})*"
_SIMPLE_MAILBOX_RE = re.compile(
    rf'[ \t]*(?:(?:"(?P<quoted>[ !#-\[\]-~]*)"|(?P<phrase>{_ATOM}(?:[ \t]+{_ATOM})*))[ \t]*)?'
    rf"<(?P<angle>{_DOT_ATOM}@{_DOT_ATOM})>[ \t]*"
    rf"|[ \t]*(?P<bare>{_DOT_ATOM}@{_DOT_ATOM})[ \t]*"
)


def simple_mailbox(value: str) -> tuple[str, str] | None:
    """(display name, address) of a From value in the plainest form, as the header registry reads it.

    Nearly every From header is this simple; reading it with one regular
    expression spares the full RFC 5322 parser, which then only sees the
    values where its defects can tell something (``None`` here).
    """
    if "=?" in value:
        return None  # an encoded word: only the header registry decodes it safely
    match = _SIMPLE_MAILBOX_RE.fullmatch(value)
    if match is None:
        return None
    if match["bare"] is not None:
        return "", match["bare"]
    if match["quoted"] is not None:
        return match["quoted"], match["angle"]
    return " ".join((match["phrase"] or "").split()), match["angle"]


def _mailboxes(raw: str) -> tuple[list[tuple[str, str]], bool]:
    """(display name, address) pairs of an address header, and whether it parsed cleanly.

    The standard library's header registry decodes encoded words only after
    parsing, so an encoded comma or angle bracket cannot split a display name.
    """
    text = _raw_text(raw)
    simple = simple_mailbox(text)
    if simple is not None:
        return [simple], True
    try:
        header = email.policy.default.header_factory("From", text)
        pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
        clean = not header.defects
    except Exception:  # noqa: BLE001 - e.g. an encoded CR or LF in the display name
        pairs = [
            (_decode_words("From", name, []), address)
            for name, address in email.utils.getaddresses([text])
            if address
        ]
        clean = False
    return pairs, clean


def _from(pairs: list[tuple[str, str]], clean: bool, problems: list[str]) -> tuple[str, str]:
    """The first mailbox of the From header (its address lower-cased), noting an unclean parse."""
    if not clean:
        problems.append("From header could not be parsed cleanly")
    if not pairs:
        return "", ""
    name, address = pairs[0]
    if any(ch in name for ch in _CONTROL_CHARS):
        problems.append("From header decodes to CR, LF or NUL")
        name = re.sub(r"[\r\n\x00]+", " ", name)
    return address.strip().lower(), name.strip()


def _auto_submitted(first: dict[str, str]) -> str:
    raw = first.get("auto-submitted")
    value = _raw_text(raw).split(";", 1)[0].strip().lower() if raw else ""
    return "" if value == "no" else value


def _header_problems(msg: Message, from_pairs: list[tuple[str, str]] | None) -> tuple[str, ...]:
    """Structural header issues the intake refuses, in a stable order (``from_pairs``: None without a From)."""
    items = list(msg.raw_items())
    counts = Counter(key.lower() for key, _ in items)
    problems = [f"duplicate {n} header" for n in SINGLE_HEADERS if counts[n.lower()] > 1]
    if from_pairs is None:
        problems.append("From header missing")
    elif not from_pairs:
        problems.append("From header has no address")
    elif len(from_pairs) > 1:
        problems.append(f"From header has {len(from_pairs)} mailboxes")
    for key, value in items:
        if key.lower() in _REBUILT_HEADERS:
            continue  # never copied: the copy writes its own, with any file name cleaned
        decoded = _decode_words(key, _raw_text(str(value)), [])
        if any(ch in decoded for ch in _CONTROL_CHARS):
            problems.append(f"{key} header decodes to CR, LF or NUL")
    return tuple(dict.fromkeys(problems))


# --- body ----------------------------------------------------------------------


def _walk(msg: Message, max_depth: int, problems: list[str], depth_seen: list[int]) -> Iterator[Message]:
    """Every part, depth first, without descending below ``max_depth`` levels.

    Explicit stack rather than ``Message.walk``: a hostile message must not
    reach Python's recursion limit through us. ``depth_seen[0]`` ends as the
    deepest level that has parts (past ``max_depth``: ``max_depth + 1``).
    """
    stack: list[tuple[Message, int]] = [(msg, 0)]
    too_deep = False
    while stack:
        part, depth = stack.pop()
        yield part
        children = part.get_payload() if part.is_multipart() else []
        if not isinstance(children, list) or not children:
            continue
        depth_seen[0] = max(depth_seen[0], depth + 1)
        if depth >= max_depth:
            too_deep = True
            continue
        stack.extend((child, depth + 1) for child in reversed(children))
    if too_deep:
        problems.append(f"MIME nesting deeper than {max_depth} levels")


def _decode_text(part: Message, payload: bytes, problems: list[str]) -> str:
    charset = part.get_content_charset()
    try:
        return payload.decode(charset or "utf-8")
    except LookupError:
        problems.append(f"unknown charset {charset}")
    except UnicodeDecodeError:
        problems.append(f"text is not valid {charset or 'utf-8'}")
    return payload.decode("utf-8", "replace")


def _filename(part: Message, problems: list[str]) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001
        problems.append("attachment filename could not be decoded")
        return ""
    return re.sub(r"[\r\n\x00]+", " ", _decode_words("filename", str(name), problems))


class _Body:
    """What the walk over the parts collects."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[Attachment] = []
        self.encrypted = False
        self.signed = False

    def add(self, part: Message, problems: list[str]) -> None:
        ctype = part.get_content_type()
        if ctype in _ENCRYPTED_TYPES:
            self.encrypted = True
        if ctype in _SIGNED_TYPES or part.get_param("smime-type") == "signed-data":
            self.signed = True
        if part.is_multipart() or ctype == "message/rfc822":
            if ctype == "message/rfc822":
                self.attachments.append(Attachment(_filename(part, problems), ctype, 0))
            return
        payload = part.get_payload(decode=True) or b""
        if any(m in payload for m in _ENCRYPTED_MARKERS):
            self.encrypted = True
        if any(m in payload for m in _SIGNED_MARKERS):
            self.signed = True
        filename = _filename(part, problems)
        disposition = part.get_content_disposition()
        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = _decode_text(part, payload, problems)
            (self.texts if ctype == "text/plain" else self.htmls).append(text)
        elif ctype.startswith("multipart/"):
            # No boundary to split it by: its text is still read (the copy recovers the parts), and noted.
            problems.append(f"{ctype} without a usable boundary, read as one text")
            self.texts.append(_decode_text(part, payload, problems))
        else:
            self.attachments.append(Attachment(filename, ctype, len(payload)))


def _defects(parts: list[Message]) -> list[str]:
    names = (type(d).__name__ for part in parts for d in getattr(part, "defects", ()))
    return [f"MIME defect: {name}" for name in dict.fromkeys(names)]


def inspect(raw: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Inspection:
    """Decode what a message says and record what could not be read. Never raises."""
    problems: list[str] = []
    read_body = True
    try:
        msg = read_message(raw)  # as the email package reads it, a single part's body taken whole
    except RecursionError:
        # Only the headers can be read; the body stays unread and says so.
        problems.append(f"MIME nesting deeper than {max_depth} levels")
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw, headersonly=True)
        read_body = False
    except Exception as exc:  # noqa: BLE001 - an unreadable message is held, not a crash
        return Inspection(problems=(f"message could not be parsed: {type(exc).__name__}",), size=len(raw),
                          header_problems=("headers could not be parsed",))
    try:
        return _inspect_message(msg, raw, max_depth if read_body else -1, problems)
    except Exception as exc:  # noqa: BLE001
        return Inspection(
            problems=(*problems, f"message could not be read: {type(exc).__name__}"), size=len(raw),
            header_problems=("headers could not be read",),
        )


def _inspect_message(msg: Message, raw: bytes, max_depth: int, problems: list[str]) -> Inspection:
    """Headers always; the body only when ``max_depth`` is not negative."""
    first = _first_raws(msg)
    subject = _decoded_header(first, "Subject", problems)
    from_raw = first.get("from")
    from_pairs: list[tuple[str, str]] | None = None  # read once: for the From fields and the header problems
    from_address = from_name = ""
    if from_raw is not None:
        from_pairs, clean = _mailboxes(from_raw)
        from_address, from_name = _from(from_pairs, clean, problems)
    body = _Body()
    parts = []
    depth = [0]
    if max_depth >= 0:
        for part in _walk(msg, max_depth, problems, depth):
            parts.append(part)
            body.add(part, problems)
    else:
        depth[0] = DEFAULT_MAX_DEPTH + 1  # only the headers could be read: nested past any limit
    problems.extend(_defects(parts))
    auto_kind = classify_message(msg)
    return Inspection(
        subject=subject,
        from_address=from_address,
        from_name=from_name,
        texts=tuple(body.texts),
        htmls=tuple(body.htmls),
        attachments=tuple(body.attachments),
        encrypted=body.encrypted,
        signed=body.signed,
        problems=tuple(dict.fromkeys(problems)),
        auto_submitted=_auto_submitted(first),
        message_id=next(iter(_message_ids(first, "Message-ID")), ""),
        in_reply_to=_message_ids(first, "In-Reply-To"),
        references=_message_ids(first, "References"),
        size=len(raw),
        header_problems=_header_problems(msg, from_pairs),
        received_count=len(msg.get_all("Received") or []),
        loop_markers=tuple(str(v).strip().lower() for v in msg.get_all(LOOP_HEADER) or []),
        mime_depth=depth[0],
        auto_kind=auto_kind,
        dsn=dsn_summary_of(msg) if auto_kind == "dsn" else ("", ""),
    )


# --- HTML to text ------------------------------------------------------------------

_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section",
    "table", "tr", "ul",
}  # fmt: skip
_SKIP_TAGS = {"head", "script", "style", "title", "template"}


class _TextExtractor(HTMLParser):
    """Text as a mail client's plain-text view shows it: blocks on lines, quotes with '> '."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.quote = 0
        self.skip = 0

    def _break(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag == "br":
            self.lines.append("")
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "blockquote":
                self.quote += 1
            elif tag == "hr":
                self.lines[-1] = "_" * 32
                self.lines.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self._break()
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = re.sub(r"\s+", " ", data.replace("\xa0", " "))
        if not text.strip():
            if self.lines[-1]:
                self.lines[-1] += " "
            return
        if not self.lines[-1]:
            self.lines[-1] = "> " * self.quote
            text = text.lstrip()
        self.lines[-1] += text


def html_to_text(html: str) -> str:
    """Readable text of an HTML part; quoted blocks keep a '> ' prefix like plain-text mail."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; this is a last resort
        return re.sub(r"<[^>]*>", " ", html)
    lines = [line.rstrip() for line in extractor.lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
