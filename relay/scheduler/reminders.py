"""When a waiting message earns a reminder: response windows, quiet hours and away mode, as plain values.

A mentee's message starts a clock when it is delivered; after one response
window the mentor is reminded, after a second window reminded again, after
a third the coordinators are told. Away time does not count, and nothing
is sent in the recipient's quiet hours: the reminder waits for the morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from relay.timezones import zone

ESCALATION = 3


@dataclass(frozen=True)
class Waiting:
    """One message still waiting for an answer, and what the reminder clock needs to know."""

    message_id: int
    pairing_id: int
    writer_id: int  # who wrote and is waiting
    reader_id: int  # who should answer
    since: datetime  # when the message reached the reader
    subject: str = ""
    reader_timezone: str = "UTC"
    quiet_start: int = 21
    quiet_end: int = 8
    away_until: datetime | None = None
    levels_sent: frozenset[int] = frozenset()
    to_mentee: bool = False  # the softer way round: a mentor waiting for a mentee


@dataclass(frozen=True)
class Rules:
    """A program's reminder settings."""

    window: timedelta = timedelta(hours=48)
    escalate: bool = True
    max_level: int = ESCALATION


@dataclass(frozen=True)
class Step:
    level: int
    due_at: datetime


def is_quiet(at: datetime, tz: str, quiet_start: int, quiet_end: int) -> bool:
    """Inside the local quiet hours [start, end), which may run past midnight."""
    if quiet_start == quiet_end:
        return False
    hour = at.astimezone(zone(tz)).hour
    if quiet_start < quiet_end:
        return quiet_start <= hour < quiet_end
    return hour >= quiet_start or hour < quiet_end


def after_quiet(at: datetime, tz: str, quiet_start: int, quiet_end: int) -> datetime:
    """``at`` itself, or the end of the quiet hours it falls in (in UTC)."""
    if not is_quiet(at, tz, quiet_start, quiet_end):
        return at
    local = at.astimezone(zone(tz))
    end = datetime.combine(local.date(), time(quiet_end % 24), tzinfo=local.tzinfo)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), time(quiet_end % 24), tzinfo=local.tzinfo)
    return end.astimezone(timezone.utc)


def clock_start(waiting: Waiting, now: datetime) -> datetime:
    """The waiting clock starts on delivery, or when an absence that covered it ends."""
    away = waiting.away_until
    if away is not None and away > waiting.since:
        return away
    return waiting.since


def next_step(waiting: Waiting, rules: Rules, now: datetime) -> Step | None:
    """The next reminder (or escalation) for this message and when it may go; None when there is none."""
    if waiting.away_until is not None and waiting.away_until > now:
        return None  # paused; planned again when the absence ends
    highest = max(waiting.levels_sent, default=0)
    level = highest + 1
    if level > rules.max_level or (level == ESCALATION and not rules.escalate):
        return None
    due = clock_start(waiting, now) + rules.window * level
    if level == ESCALATION:
        return Step(level, due)  # staff are told at once; their own digests gather the rest
    return Step(level, after_quiet(due, waiting.reader_timezone, waiting.quiet_start, waiting.quiet_end))


def rules_for(window_hours: int, settings: dict, to_mentee: bool) -> Rules:
    """Mentors waiting on mentees get one gentle nudge after a longer window, and nobody is escalated."""
    window = timedelta(hours=max(int(window_hours or 48), 1))
    if not to_mentee:
        return Rules(window=window, escalate=bool(settings.get("escalate", True)))
    factor = float(settings.get("mentee_window_factor", 2) or 2)
    return Rules(window=window * factor, escalate=False, max_level=1)


def reminders_to_mentees(settings: dict) -> bool:
    """The "softer the other way round" switch: ``{"remind_mentees": true}`` in the program settings."""
    return bool(settings.get("remind_mentees", False))


def waited(since: datetime, now: datetime) -> str:
    """How long, in words a person would use: "2 days", "5 hours"."""
    seconds = max(int((now - since).total_seconds()), 0)
    days, hours = seconds // 86400, seconds // 3600
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return "less than an hour"
