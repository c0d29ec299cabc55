"""What every rule is: a name, a one-line description, settings and a pure check.

A rule's settings are a frozen dataclass read from its table in the policy
file; the check takes the inspection, the context, those settings and the
message's readable sources (worked out once by the engine for all rules) and
returns findings. Nothing is mutated, so rules can run in any order and be
tested alone: called without the sources, a rule reads them itself.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from relay.model import Action, Finding, Inspection, PolicyContext, Severity
from relay.policy.text import Readable, excerpt

# Each rule stops after this many findings: a moderator needs evidence, not a wall.
MAX_FINDINGS = 10

_SPACES = re.compile(r"\s+")


class SettingError(ValueError):
    """A rule's table in the policy file holds something the rule cannot use."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Settings:
    """Keys every rule understands; rules subclass this to add their own."""

    enabled: bool = True
    action: Action = Action.HOLD
    severity: Severity = Severity.NORMAL


Check = Callable[[Inspection, PolicyContext, Any, Readable], list[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    settings: type[Settings]
    check: Check
    # Reads the rule's table; the default reads the settings dataclass's fields.
    parse: Callable[[Mapping[str, Any]], Settings] | None = None
    # A rule that carries a moderator's or the sender check's decision: the
    # policy file cannot switch it off or give it a table of its own.
    fixed: bool = False

    def read_settings(self, table: Mapping[str, Any]) -> Settings:
        if self.parse is not None:
            return self.parse(table)
        return read_dataclass(self.settings, table)


def sources_of(inspection: Inspection, readable: Readable | None) -> Readable:
    """The engine's shared sources, or the message's own when a rule is called alone."""
    return readable if readable is not None else Readable.of(inspection)


def finding(rule: str, settings: Settings, reason: str, text: str, start: int, end: int) -> Finding:
    """A finding whose excerpt shows the match in ``text[start:end]`` with context."""
    return Finding(
        rule=rule,
        action=settings.action,
        reason=reason,
        excerpt=excerpt(text, start, end),
        severity=settings.severity,
        match=_SPACES.sub(" ", text[start:end]).strip(),
    )


def read_dataclass(cls: type, table: Mapping[str, Any], prefix: str = "") -> Any:
    """Builds ``cls`` from a TOML table, checking every key and its type."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in known:
            raise SettingError(prefix + key, f"unknown setting (known: {', '.join(sorted(known))})")
        values[key] = read_value(hints[key], raw, prefix + key)
    return cls(**values)


def read_value(hint: Any, raw: Any, key: str) -> Any:
    """One TOML value converted to the type a settings field declares."""
    if hint is bool:
        if not isinstance(raw, bool):
            raise SettingError(key, f"expected true or false, got {raw!r}")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise SettingError(key, f"expected a whole number ≥ 0, got {raw!r}")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
            raise SettingError(key, f"expected a number ≥ 0, got {raw!r}")
        return float(raw)
    if hint is str:
        if not isinstance(raw, str):
            raise SettingError(key, f"expected a string, got {raw!r}")
        return raw
    if hint in (Action, Severity):
        choices = [member.value for member in hint]
        if raw not in choices:
            raise SettingError(key, f"expected one of {', '.join(choices)}, got {raw!r}")
        return hint(raw)
    if typing.get_origin(hint) is tuple:
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise SettingError(key, f"expected a list of strings, got {raw!r}")
        return tuple(raw)
    raise TypeError(f"settings field {key} has an unsupported type {hint!r}")
