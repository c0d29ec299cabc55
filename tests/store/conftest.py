"""The store on every configured backend (SQLite always, PostgreSQL when RELAY_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import pytest

from relay.store import schema
from relay.store.db import Database


@pytest.fixture
def db(db_url):
    database = Database.from_url(db_url)
    schema.upgrade(database.engine)
    yield database
    database.close()
