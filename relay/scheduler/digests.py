"""What staff digests say: daily news and weekly response figures, from plain values.

A digest is built only from facts already read; ``is_empty`` decides that
nothing is sent when there is nothing to say. Response figures pair each
message that waited with the answer that ended its wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from statistics import median

from relay.timezones import zone

DIGEST_HOUR = 8


@dataclass(frozen=True)
class DailyFacts:
    held: tuple[str, ...] = ()  # one line per message waiting for review
    flagged: tuple[str, ...] = ()
    reminders: tuple[str, ...] = ()
    escalations: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    quiet_pairings: tuple[str, ...] = ()
    new_pairings: tuple[str, ...] = ()


SECTIONS = (
    ("held", "Waiting for a moderator"),
    ("flagged", "Flagged and delivered"),
    ("escalations", "Mentees still waiting (escalated)"),
    ("reminders", "Reminders sent to mentors"),
    ("failed", "Deliveries that failed"),
    ("quiet_pairings", "Quiet pairings"),
    ("new_pairings", "New pairings"),
)


def sections(facts: DailyFacts) -> list[tuple[str, tuple[str, ...]]]:
    """(title, lines) for every non-empty section, in reading order."""
    return [(title, getattr(facts, name)) for name, title in SECTIONS if getattr(facts, name)]


def is_empty(facts: DailyFacts) -> bool:
    return not sections(facts)


@dataclass(frozen=True)
class Figures:
    mentor: str
    answered: int
    unanswered: int
    median_hours: float | None
    p90_hours: float | None
    reminders: int = 0
    waiting: tuple[str, ...] = field(default=())


def waits(events: list[tuple[str, datetime]], asker: str = "mentee") -> list[tuple[datetime, datetime | None]]:
    """Pair asks with answers in one pairing's chronological (role, time) list.

    A run of messages from the asker starts one wait at its first message;
    the other side's next message ends it.
    """
    found: list[tuple[datetime, datetime | None]] = []
    started: datetime | None = None
    for role, at in sorted(events, key=lambda e: e[1]):
        if role == asker:
            started = started or at
        elif started is not None:
            found.append((started, at))
            started = None
    if started is not None:
        found.append((started, None))
    return found


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(fraction * len(ordered)), 1)
    return ordered[rank - 1]


def figures(mentor: str, pairs: list[tuple[datetime, datetime | None]], reminders: int = 0, waiting: tuple[str, ...] = ()) -> Figures:
    hours = [(answer - ask).total_seconds() / 3600 for ask, answer in pairs if answer is not None]
    return Figures(
        mentor=mentor,
        answered=len(hours),
        unanswered=sum(1 for _, answer in pairs if answer is None),
        median_hours=round(median(hours), 1) if hours else None,
        p90_hours=round(percentile(hours, 0.9), 1) if hours else None,
        reminders=reminders,
        waiting=waiting,
    )


def daily_due(now: datetime, tz: str) -> tuple[date, datetime]:
    """Today's local date and the moment its digest is due."""
    local_day = now.astimezone(zone(tz)).date()
    return local_day, datetime.combine(local_day, time(DIGEST_HOUR), tzinfo=zone(tz)).astimezone(timezone.utc)


def weekly_due(now: datetime, tz: str) -> tuple[str, datetime]:
    """This ISO week's label (e.g. 2026-W45) and Monday's digest moment."""
    local_day = now.astimezone(zone(tz)).date()
    monday = local_day - timedelta(days=local_day.weekday())
    year, week, _ = monday.isocalendar()
    moment = datetime.combine(monday, time(DIGEST_HOUR), tzinfo=zone(tz)).astimezone(timezone.utc)
    return f"{year}-W{week:02d}", moment


def hours_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"
