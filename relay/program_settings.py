"""A program's settings as one typed, validated value: every key, its type, its default and its meaning.

The store keeps them as JSON in ``program.settings``; ``load`` is the one
place that JSON is read, and ``change`` the one place it is written from
operator input (``relayctl program set --setting KEY=VALUE``), refusing
unknown keys and values of the wrong type. Only values that differ from the
default are stored, so a later default reaches programs that never chose.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping


class SettingError(ValueError):
    """A setting that cannot be taken; the message names the key and what it accepts."""


@dataclass(frozen=True)
class Choice:
    """The type and meaning of one setting."""

    kind: type
    help: str
    options: tuple[str, ...] = ()
    minimum: float | None = None


SPEC: dict[str, Choice] = {
    "escalate": Choice(bool, "tell coordinators when two reminders to a mentor did not help"),
    "mentee_window_factor": Choice(float, "with remind_mentees, a mentee is nudged after this many windows", minimum=1),
    "remind_mentees": Choice(bool, "also remind mentees, gently, when a mentor waits on them"),
    "quiet_pairing_days": Choice(int, "a pairing silent this many days is named in the daily digest", minimum=1),
    "strip_remote_images": Choice(bool, "remove remote images from copies (kept equal to the policy file's setting)"),
    "guardian_consent": Choice(str, "whether a mentee's guardian must consent first", options=("off", "required")),
    "guardian_copy": Choice(str, "what a mentee's guardian receives", options=("none", "summary", "full")),
    "retention_days": Choice(int, "days a message is kept before it is erased", minimum=1),
    "urgent_ack_minutes": Choice(int, "minutes staff have to acknowledge an urgent message", minimum=1),
}


@dataclass(frozen=True)
class ProgramSettings:
    escalate: bool = True
    mentee_window_factor: float = 2.0
    remind_mentees: bool = False
    quiet_pairing_days: int = 14
    strip_remote_images: bool = False
    guardian_consent: str = "off"
    guardian_copy: str = "none"
    retention_days: int = 365
    urgent_ack_minutes: int = 30

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """The stored form: only the values that differ from the defaults."""
        default = DEFAULTS.as_dict()
        return json.dumps({k: v for k, v in self.as_dict().items() if default[k] != v}, sort_keys=True)


DEFAULTS = ProgramSettings()
KEYS = tuple(f.name for f in fields(ProgramSettings))


def known_keys() -> str:
    return ", ".join(KEYS)


def load(text: str | None) -> ProgramSettings:
    """The stored JSON as a value. Unknown keys and unusable values fall back to the defaults.

    Stores written before settings were validated may hold anything; reading
    them must never stop a reminder or a delivery.
    """
    try:
        stored = json.loads(text or "{}")
    except ValueError:
        return DEFAULTS
    if not isinstance(stored, dict):
        return DEFAULTS
    values = {}
    for key, value in stored.items():
        if key in SPEC:
            try:
                values[key] = _typed(key, value)
            except SettingError:
                continue
    return replace(DEFAULTS, **values)


def change(current: ProgramSettings, items: Mapping[str, str]) -> ProgramSettings:
    """``current`` with operator input applied; refuses unknown keys and badly typed values."""
    values = {}
    for key, raw in items.items():
        if key not in SPEC:
            raise SettingError(f"unknown setting {key!r}; the known settings are {known_keys()}")
        values[key] = _typed(key, _from_text(raw))
    return replace(current, **values)


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["KEY=VALUE", ...]`` as a mapping; a missing ``=`` is refused."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SettingError(f"--setting {item!r} must look like KEY=VALUE, e.g. remind_mentees=true")
        out[key.strip()] = raw.strip()
    return out


def describe() -> list[str]:
    """One line per setting: key, type or choices, default, meaning."""
    lines = []
    for key in KEYS:
        spec = SPEC[key]
        kind = "|".join(spec.options) if spec.options else spec.kind.__name__
        lines.append(f"{key} ({kind}, default {show(getattr(DEFAULTS, key))}): {spec.help}")
    return lines


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _from_text(raw: str) -> Any:
    """Operator input: JSON when it is JSON (``true``, ``14``, ``"full"``), else the bare text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _typed(key: str, value: Any) -> Any:
    spec = SPEC[key]
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise SettingError(f"setting {key} must be true or false, not {show(value)}")
    if spec.kind in (int, float):
        number = _number(key, value, spec.kind)
        if spec.minimum is not None and number < spec.minimum:
            raise SettingError(f"setting {key} must be at least {show(spec.kind(spec.minimum))}, not {show(value)}")
        return number
    text = value if isinstance(value, str) else None
    if text is None or text not in spec.options:
        raise SettingError(f"setting {key} must be one of {', '.join(spec.options)}, not {show(value)}")
    return text


def _number(key: str, value: Any, kind: type) -> int | float:
    if isinstance(value, str):
        try:
            value = float(value) if value.strip() else value
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(f"setting {key} must be a {'whole ' if kind is int else ''}number, not {show(value)}")
    if not math.isfinite(value):
        raise SettingError(f"setting {key} must be a finite number, not {show(value)}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise SettingError(f"setting {key} must be a whole number, not {show(value)}")
        return int(value)
    return float(value)


def show(value: Any) -> str:
    """A value as the operator would type it: true, 14, 'full'."""
    return json.dumps(value) if not isinstance(value, str) else repr(value)
