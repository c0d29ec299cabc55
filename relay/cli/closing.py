"""What closing on a day will really do, in words, for ``unpair --on`` and ``program close --on``."""

from __future__ import annotations

from datetime import date, datetime

from relay.cli.base import CliError
from relay.scheduler import closure
from relay.timezones import zone


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{value!r} is not a date such as 2026-12-18") from None


def closes_at_once(day: date, tz: str, now: datetime) -> bool:
    """The rule the closing itself follows: today (or a closing hour already past) closes now."""
    return day <= now.date() or closure.closing_moment(day, tz) <= now


def check_day(day: date, tz: str, now: datetime, yes: bool, what: str) -> None:
    if day < now.astimezone(zone(tz)).date() and day < now.date():
        raise CliError(f"{day} has passed; choose today or a later day")
    if closes_at_once(day, tz, now) and not yes:
        raise CliError(f"{day} is today: {what} would close now, with no notice ahead; add --yes to close now, "
                       "or choose a later day")


def plan_text(day: date, tz: str, now: datetime) -> str:
    """'told on 2026-12-15 (14 days ahead) and on 2026-12-26 (3 days ahead); transcripts on 2026-12-29 at 09:00 UTC'."""
    if closes_at_once(day, tz, now):
        return "closed now, with no notice ahead; both sides get their transcript with the next scheduler tick"
    notices = []
    for step in closure.plan(day, tz, now):
        if step.kind != "closure-notice":
            continue
        when = "now" if step.due_at <= now else f"on {step.due_at.astimezone(zone(tz)).date()}"
        notices.append(f"{when} ({step.days_before} days ahead)")
    told = f"both sides are told {' and '.join(notices)}" if notices else "there is no time left for a notice ahead"
    local = closure.closing_moment(day, tz).astimezone(zone(tz))
    return f"{told}; their conversation closes and transcripts go out on {day} at {local:%H:%M} ({tz or 'UTC'})"
