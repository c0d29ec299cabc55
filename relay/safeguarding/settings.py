"""The program's safeguarding settings, read once from the program row with their documented defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.store.care import program_settings

CONSENT_CHOICES = ("off", "required")
COPY_CHOICES = ("none", "summary", "full")


@dataclass(frozen=True)
class Safeguarding:
    guardian_consent: str = "off"  # off | required
    guardian_copy: str = "none"  # none | summary | full
    retention_days: int = 365  # days after a pairing closes before message bodies are purged
    urgent_ack_minutes: int = 30  # an unacknowledged urgent alert goes out again after this


def _positive(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _choice(value: Any, choices: tuple[str, ...], default: str) -> str:
    return value if isinstance(value, str) and value in choices else default


def safeguarding(program: Any) -> Safeguarding:
    """The settings of ``program`` (a Program row); unknown or malformed values fall back to the defaults."""
    values = program_settings(program) if program is not None else {}
    base = Safeguarding()
    return Safeguarding(
        guardian_consent=_choice(values.get("guardian_consent"), CONSENT_CHOICES, base.guardian_consent),
        guardian_copy=_choice(values.get("guardian_copy"), COPY_CHOICES, base.guardian_copy),
        retention_days=_positive(values.get("retention_days"), base.retention_days),
        urgent_ack_minutes=_positive(values.get("urgent_ack_minutes"), base.urgent_ack_minutes),
    )
