"""When a closing pairing hears what: the goodbye notices, the closing moment, and the transcript's text.

A pairing closes at a local hour on its closing day. Participants are told
14 and 3 days ahead (a notice whose day has passed by more than a day when
the closure is planned is skipped; the 3-day notice always goes if there is
still time). The transcript is the pairing's masked conversation as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from relay.intake.parse import html_to_text, inspect
from relay.model import MaskContext
from relay.outbound.rewrite import build_masked_copy
from relay.outbound.scrub import scrub_text
from relay.timezones import zone

NOTICE_DAYS = (14, 3)
CLOSING_HOUR = 9
NOTICE_HOUR = 10


@dataclass(frozen=True)
class Step:
    kind: str  # closure-notice | closure
    due_at: datetime
    days_before: int = 0


@dataclass(frozen=True)
class Entry:
    """One masked message of a transcript: handles and aliases only."""

    sender: str  # "Jo <kind-otter-7q2x9k@mentor.example.org>"
    to: str
    at: datetime
    subject: str
    text: str


def local_moment(day: date, hour: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone(tz)).astimezone(timezone.utc)


def closing_moment(closes_on: date, tz: str) -> datetime:
    return local_moment(closes_on, CLOSING_HOUR, tz)


def plan(closes_on: date, tz: str, now: datetime) -> list[Step]:
    """The notices still worth sending and the closure itself, in order."""
    closing = closing_moment(closes_on, tz)
    steps = []
    for days in NOTICE_DAYS:
        due = local_moment(closes_on - timedelta(days=days), NOTICE_HOUR, tz)
        late = now - due
        if due >= closing or now >= closing:
            continue
        if late <= timedelta(days=1) or days == min(NOTICE_DAYS):
            steps.append(Step("closure-notice", max(due, min(now, closing)), days))
    steps.append(Step("closure", closing))
    return steps


def days_left(closes_on: date, tz: str, now: datetime) -> int:
    return max((closes_on - now.astimezone(zone(tz)).date()).days, 0)


def transcript_text(entries: list[Entry], title: str) -> str:
    """A readable plain-text transcript, oldest first."""
    lines = [title, "=" * len(title), ""]
    for entry in sorted(entries, key=lambda e: e.at):
        lines += [
            f"From:    {entry.sender}",
            f"To:      {entry.to}",
            f"Date:    {entry.at.strftime('%Y-%m-%d %H:%M')} UTC",
            f"Subject: {entry.subject}",
            "",
            entry.text.rstrip(),
            "",
            "-" * 60,
            "",
        ]
    if not entries:
        lines.append("(no messages were exchanged)")
    return "\n".join(lines) + "\n"


def mbox_from_line(at: datetime) -> bytes:
    """The separator line that starts each message in an mbox file (asctime, UTC)."""
    return f"From relay {at.astimezone(timezone.utc).strftime('%a %b %d %H:%M:%S %Y')}\n".encode()


def masked_entry(raw: bytes, ctx: MaskContext, to_label: str) -> tuple[bytes, Entry]:
    """One message as the transcript shows it: its masked copy, and that copy's scrubbed text."""
    masked = build_masked_copy(raw, ctx)
    seen = inspect(masked)
    text = "\n".join(seen.texts) or "\n".join(html_to_text(h) for h in seen.htmls)
    text = scrub_text(text, ctx.address_map, ctx.name_map)
    entry = Entry(f"{ctx.sender_handle} <{ctx.sender_alias}>", to_label, ctx.date, seen.subject, text)
    return masked, entry


def mbox(copies: list[tuple[datetime, bytes]]) -> bytes:
    """An mbox file (mboxrd quoting) of already-masked messages, oldest first."""
    out = []
    for at, data in sorted(copies, key=lambda c: c[0]):
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
        quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
        out.append(mbox_from_line(at) + b"\n".join(quoted).rstrip(b"\n") + b"\n\n")
    return b"".join(out)
