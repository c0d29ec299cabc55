"""Log lines an operator can use: text or JSON lines, aiosmtpd's chatter at DEBUG, no real address at INFO.

Logs are often shipped to other systems, and the store is where identities
live: every line at INFO or above passes a redaction guard that replaces
any address not on the relay's own domain (aliases, tokens and bounce
addresses stay readable). The code logs aliases and ids only; the guard
catches what a library or a traceback might add. ``event`` writes the
per-message lines (``accepted``, ``delivery``) with their fields, which the
JSON format puts at the top level of the object.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any, Mapping

from relay.config import ConfigError

FORMATS = ("text", "json")
EVENTS = logging.getLogger("relay.events")
REDACTED = "[address]"

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63})")
# aiosmtpd writes a line per command, with envelope addresses: kept for -v only.
_CHATTY = ("mail.log",)


def log_format(settings_extra: Mapping[str, str]) -> str:
    value = (settings_extra.get("RELAY_LOG_FORMAT") or "text").strip().lower()
    if value not in FORMATS:
        raise ConfigError(f"RELAY_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def redact(text: str, domain: str) -> str:
    """``text`` with every address off ``domain`` replaced."""
    domain = domain.lower().rstrip(".")
    return _ADDRESS.sub(lambda m: m.group(0) if m.group(1).lower() == domain else REDACTED, text)


def event(name: str, **fields: Any) -> None:
    """One per-message line: ``name key=value ...`` in text, an object with these keys in JSON."""
    EVENTS.info("%s %s", name, " ".join(f"{k}={v}" for k, v in fields.items()), extra={"event": name, "fields": fields})


class _Guarded(logging.Formatter):
    def __init__(self, domain: str, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.domain = domain

    def guard(self, record: logging.LogRecord, text: str) -> str:
        return redact(text, self.domain) if record.levelno >= logging.INFO else text


class TextFormatter(_Guarded):
    def __init__(self, domain: str) -> None:
        super().__init__(domain, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return self.guard(record, super().format(record))


class JsonFormatter(_Guarded):
    """One JSON object per line; an event's fields are top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if getattr(record, "event", None):
            data["event"] = record.event
            data.update({k: v for k, v in record.fields.items() if k not in data})
        data["message"] = self.guard(record, record.getMessage())
        if record.exc_info:
            data["exception"] = self.guard(record, self.formatException(record.exc_info))
        return json.dumps(data, default=str)


class _Demote(logging.Filter):
    """aiosmtpd's INFO lines shown as DEBUG (they only pass at all when the logger is at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def setup(level: int, fmt: str = "text", domain: str = "", stream=None) -> None:
    """Configure the root logger for this process: one handler, the chosen format, the guard."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(domain) if fmt == "json" else TextFormatter(domain))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # warnings become log lines in the same format
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks are routine, not news
    for name in _CHATTY:
        chatty = logging.getLogger(name)
        chatty.setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
        if not any(isinstance(f, _Demote) for f in chatty.filters):
            chatty.addFilter(_Demote())


def configure(settings) -> None:
    """``setup`` from the settings, keeping the level the command line chose."""
    setup(logging.getLogger().level, log_format(settings.extra), settings.domain)
