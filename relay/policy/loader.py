"""The policy file: TOML with a [default] table and [program.NAME] overrides.

Every key is checked when the file is loaded, so a typo or a wrong type stops
the relay at start with one line naming the file and the key, instead of
quietly weakening moderation. With no file, the built-in defaults apply; they
equal the shipped ``config/policy.toml``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from relay.policy.engine import Policy
from relay.policy.rules import RULES
from relay.policy.rules.base import SettingError, read_value

__all__ = ["Policy", "PolicyError", "PolicySet", "load_policy", "parse_policy"]

# General settings: key -> type; they sit directly in [default] or [program.NAME].
_GENERAL = {
    "region": str,
    "notify_sender_on_hold": bool,
    "strip_remote_images": bool,
}
# General keys that are also a rule's setting, written once at the top.
_FEEDS = {
    "region": "contact_phone",
    "premoderate_first": "premoderation",
    "premoderate_all": "premoderation",
    "hold_on_auth_failure": "sender-authentication",
}


class PolicyError(ValueError):
    """The policy file cannot be used; the message is one line naming file and key."""


@dataclass(frozen=True)
class PolicySet:
    """The default policy and each program's, all checked at load time."""

    default: Policy = Policy()
    programs: tuple[tuple[str, Policy], ...] = ()

    @cached_property
    def count_bound(self) -> int:
        """How far a pairing's messages are worth counting: one past the largest ``premoderate_first``.

        Pre-moderation only asks "fewer than N?"; counting a long
        conversation further (up to a thousand rows) at every RCPT cost
        70 µs for an answer nobody reads. Worked out once per policy set,
        not at every RCPT.
        """
        return 1 + max((p.premoderate_first for p in (self.default, *(p for _, p in self.programs))), default=0)

    def for_program(self, program_name: str) -> Policy:
        """The program's policy: its [program.NAME] table laid over [default]."""
        for name, policy in self.programs:
            if name == program_name:
                return policy
        return self.default


def load_policy(path: str | Path | None) -> PolicySet:
    """Reads a policy file; with no path or no such file, the built-in defaults."""
    if path is None or not Path(path).exists():
        return parse_policy("", source="<built-in defaults>")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, source: str = "<policy>") -> PolicySet:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"default", "program"})
    if unknown:
        raise PolicyError(f"{source}: unknown top-level table [{unknown[0]}] (expected [default] or [program.NAME])")
    default = _table(document.get("default", {}), source, "default")
    programs = _table(document.get("program", {}), source, "program")
    default_policy = _build(default, source, "default")
    built = []
    for name, overrides in programs.items():
        where = f"program.{name}"
        built.append((name, _build(_merge(default, _table(overrides, source, where)), source, where)))
    return PolicySet(default=default_policy, programs=tuple(built))


def _table(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{source}: [{where}] must be a table, got {value!r}")
    return value


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (lists too) replaces the base's."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(section: Mapping[str, Any], source: str, where: str) -> Policy:
    rule_names = {rule.name for rule in RULES if not rule.fixed}  # fixed rules take no table
    for key in section:
        if key not in _GENERAL and key not in _FEEDS and key not in rule_names:
            known = ", ".join(sorted({*_GENERAL, *_FEEDS, *rule_names}))
            raise PolicyError(f"{source}: [{where}] {key}: unknown setting (known: {known})")
    general = {}
    for key, kind in _GENERAL.items():
        if key in section:
            general[key] = _read(kind, section[key], source, where, key)
    rule_settings = []
    for rule in RULES:
        table = {} if rule.fixed else dict(_table(section.get(rule.name, {}), source, f"{where}.{rule.name}"))
        table.update({k: section[k] for k, r in _FEEDS.items() if r == rule.name and k in section})
        try:
            rule_settings.append((rule.name, rule.read_settings(table)))
        except SettingError as exc:
            if exc.key in _FEEDS and exc.key in section:
                raise PolicyError(f"{source}: [{where}] {exc.key}: {exc.message}") from None
            inner, _, key = exc.key.rpartition(".")
            place = ".".join(p for p in (where, rule.name, inner) if p)
            raise PolicyError(f"{source}: [{place}] {key}: {exc.message}") from None
    return Policy(**general, rule_settings=tuple(rule_settings))


def _read(kind: type, raw: Any, source: str, where: str, key: str) -> Any:
    try:
        return read_value(kind, raw, key)
    except SettingError as exc:
        raise PolicyError(f"{source}: [{where}] {key}: {exc.message}") from None
