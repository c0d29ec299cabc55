"""The store on every configured backend (SQLite always, PostgreSQL when RELAY_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from relay.store import schema
from relay.store.db import Database


@contextmanager
def _store(url: str):
    database = Database.from_url(url)
    schema.upgrade(database.engine)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def db(db_url):
    with _store(db_url) as database:
        yield database


@pytest.fixture
def file_db(sqlite_url):
    """A store on a SQLite file, whichever backends the run has: what only SQLite files do."""
    with _store(sqlite_url) as database:
        yield database
