"""Making removed bytes really gone from the store's files, not only unreachable.

SQLite keeps deleted or overwritten content in free space, in freed
overflow pages and in old frames of the write-ahead log. ``secure`` turns on
``secure_delete`` for one unit of work, so SQLite zeroes what it frees, and
``compact`` then copies the log into the database and truncates it
(``wal_checkpoint(TRUNCATE)``), after a ``VACUUM`` when asked, which rebuilds
the file. On PostgreSQL ``compact`` runs ``VACUUM FULL`` on the tables that
held message text, which rewrites them without the dead row versions.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

TEXT_TABLES = ("message", "finding", "delivery", "attempt", "inbound_event", "participant", "moderation_action",
               "guardian", "consent")


@contextmanager
def secure(session: Session) -> Iterator[None]:
    """Everything deleted or overwritten inside is zeroed in the SQLite file (no-op elsewhere)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text("PRAGMA secure_delete=ON"))
    try:
        yield
        if sqlite:
            session.flush()
    finally:
        if sqlite:
            session.execute(text("PRAGMA secure_delete=OFF"))


def compact(engine: Engine, vacuum: bool = False) -> None:
    """Outside any transaction: push the removal through to the files themselves."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            if vacuum:
                cursor.execute("VACUUM")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
        return
    if vacuum and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TEXT_TABLES:
                conn.execute(text(f'VACUUM FULL "{table}"'))
