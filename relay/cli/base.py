"""What every relayctl command shares: settings, the store, the clock and output."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any, Callable, Iterable, TypeVar

from sqlmodel import Session

from relay.clock import Clock, SystemClock
from relay.config import Settings, load_settings
from relay.store.db import Database

T = TypeVar("T")


class CliError(Exception):
    """A refusal with a message for the operator."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Context:
    def __init__(self, env_file: str | None = None, clock: Clock | None = None) -> None:
        """``env_file``: a settings file the operator named (it must exist); None reads ``.env`` if present."""
        self.env_file = env_file
        self.clock: Clock = clock or SystemClock()
        self._settings: Settings | None = None
        self._db: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(dotenv_path=self.env_file or ".env", required=self.env_file is not None)
            for warning in self._settings.warnings:
                stderr(f"relayctl: warning: {warning}")
        return self._settings

    @property
    def db(self) -> Database:
        """The store, upgraded to the current schema (an old database is migrated in place)."""
        if self._db is None:
            from relay.store import schema

            db = Database.from_url(self.settings.database_url, threads=1)
            schema.upgrade(db.engine)
            self._db = db
        return self._db

    def keys(self):
        """The deployment's keys (HMAC secret, DKIM key): adopted from the store, as ``relayctl init`` does."""
        from relay import keys

        settings = self.settings
        return keys.ensure(self.db, settings.secret_path, settings.dkim_key, settings.dkim_selector, self.clock.now())

    def run(self, work: Callable[[Session], T]) -> T:
        return self.db.run_sync(work)

    def dry_run(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction that is always rolled back: nothing it writes is kept."""
        with Session(self.db.engine, expire_on_commit=False) as session:
            session.begin()
            try:
                return work(session)
            finally:
                session.rollback()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def emit(as_json: bool, data: Any, lines: Iterable[str] | Callable[[], Iterable[str]]) -> None:
    if as_json:
        print(json.dumps(data, indent=2, default=_json_default))
        return
    for line in lines() if callable(lines) else lines:
        print(line)


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot encode {type(value).__name__}")


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    if not rows:
        return ["(none)"]
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers)] + [fmt.format(*map(str, row)) for row in rows]


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def stderr(message: str) -> None:
    print(message, file=sys.stderr)


def describe(error: Exception) -> str:
    """One line a person can act on, for any error a command meets: never a traceback."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    from relay.addresses import AddressError
    from relay.config import ConfigError
    from relay.program_settings import SettingError
    from relay.store.directory import DirectoryError

    if isinstance(error, (ConfigError, AddressError, DirectoryError, SettingError, FileNotFoundError, ValueError)):
        return str(error)
    if isinstance(error, OperationalError):
        first = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
        return f"the database could not be used ({first}); check RELAY_DATABASE_URL"
    if isinstance(error, (NoSuchModuleError, ArgumentError, ModuleNotFoundError)):
        return f"the database driver is not available ({error}); use a sqlite:/// or postgresql:// RELAY_DATABASE_URL"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
