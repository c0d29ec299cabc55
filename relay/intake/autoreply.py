"""Tell machine-written mail (bounces, read receipts, vacation replies) from a person's message.

A vacation reply forwarded to a mentee would leak the mentor's real name,
employer and phone number, and answering it would start a mail loop, so the
intake needs to know before anything is delivered.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import re
from email.message import Message

# RFC 3834 section 5 and the de facto headers of common responders.
_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
_AUTO_FLAG_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply")

# Subject prefixes of vacation replies as the common clients write them.
_VACATION_SUBJECTS = (
    "out of office", "out of the office", "automatic reply", "auto reply", "auto-reply",
    "autoreply", "auto response", "autoresponse", "away from my desk", "vacation reply",
    "abwesenheitsnotiz", "automatische antwort", "abwesend",
    "réponse automatique", "reponse automatique", "absence du bureau", "absent du bureau",
    "respuesta automática", "respuesta automatica", "fuera de la oficina",
    "autosvar", "frånvaro",
    "afwezig", "automatisch antwoord", "niet aanwezig",
    "risposta automatica", "fuori sede", "fuori ufficio",
    "resposta automática", "ausente do escritório",
)  # fmt: skip
_SUBJECT_RE = re.compile(
    r"^[\s\[(]*(?:" + "|".join(re.escape(s) for s in _VACATION_SUBJECTS) + r")(?![\w])",
    re.IGNORECASE,
)
_SUBJECT_AUTO_RE = re.compile(r"^\s*auto:\s", re.IGNORECASE)  # Lotus Notes / HCL "AUTO: "


def _message(raw: bytes) -> Message | None:
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - an unreadable message is no report
        return None


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001
        return ""
    return str(value).strip() if value is not None else ""


def _subject(msg: Message) -> str:
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == "subject"), "")
    try:
        # Raw UTF-8 subjects (RFC 6532) arrive as surrogate escapes.
        raw = raw.encode("ascii", "surrogateescape").decode("utf-8", "replace")
        return str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:  # noqa: BLE001 - undecodable subjects are matched as written
        return raw


def _report_type(msg: Message) -> str:
    if msg.get_content_type() != "multipart/report":
        return ""
    return str(msg.get_param("report-type", "") or "").strip().lower()


def classify_auto(raw: bytes) -> str:
    """``"dsn"``, ``"mdn"``, ``"autoreply"``, or ``""`` for a person's message."""
    msg = _message(raw)
    return classify_message(msg) if msg is not None else ""


def classify_message(msg: Message) -> str:
    """``classify_auto`` for a message the caller has already parsed."""
    report_type = _report_type(msg)
    if report_type == "delivery-status":
        return "dsn"
    if report_type == "disposition-notification":
        return "mdn"
    auto_submitted = _header(msg, "Auto-Submitted").split(";", 1)[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "autoreply"
    if any(_header(msg, name) for name in _AUTO_FLAG_HEADERS):
        return "autoreply"
    if _header(msg, "Precedence").lower() in _AUTO_PRECEDENCE:
        return "autoreply"
    if _header(msg, "X-Auto-Response-Suppress") and _header(msg, "X-MS-Exchange-Inbox-Rules-Loop"):
        return "autoreply"  # Exchange's inbox-rule replies carry both
    subject = _subject(msg)
    if _SUBJECT_RE.match(subject) or _SUBJECT_AUTO_RE.match(subject):
        return "autoreply"
    return ""


def _status_blocks(msg: Message) -> list[Message]:
    """The header blocks of the message/delivery-status part (first is per-message)."""
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            return [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
    return []


def dsn_summary(raw: bytes) -> tuple[str, str]:
    """(action, status) of the first recipient in an RFC 3464 report, e.g. ("failed", "5.1.1")."""
    msg = _message(raw)
    return dsn_summary_of(msg) if msg is not None else ("", "")


def dsn_summary_of(msg: Message) -> tuple[str, str]:
    """``dsn_summary`` for a message the caller has already parsed."""
    if _report_type(msg) != "delivery-status":
        return "", ""
    try:
        blocks = _status_blocks(msg)
    except Exception:  # noqa: BLE001
        return "", ""
    for block in blocks:
        action = _header(block, "Action").lower()
        status = _header(block, "Status")
        if action or status or _header(block, "Final-Recipient"):
            match = re.match(r"[245]\.\d{1,3}\.\d{1,3}", status)
            return action.split()[0] if action else "", match[0] if match else ""
    return "", ""
