"""Shared fixtures: databases (SQLite always, PostgreSQL when configured), the sink and a whole relay."""

from __future__ import annotations

import os

import pytest

from relay.clock import FixedClock
from tests.fixtures.databases import backends, database_url
from tests.fixtures.sink import Sink


@pytest.fixture(autouse=True)
def _hermetic(tmp_path, monkeypatch):
    """No test reads the developer's .env or RELAY_* settings by accident."""
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("RELAY_") and k != "RELAY_TEST_DATABASE_URL"]:
        monkeypatch.delenv(key)


@pytest.fixture(params=backends())
def db_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'relay.db'}"


@pytest.fixture
async def sink():
    server = await Sink().start()
    yield server
    await server.stop()


@pytest.fixture
def clock():
    from tests.fixtures.harness import START

    return FixedClock(START)


@pytest.fixture
async def world(tmp_path, sqlite_url, sink, clock):
    from relay import service
    from tests.fixtures.harness import World, test_settings

    relay = service.build(test_settings(tmp_path, sqlite_url, sink.port), clock=clock)
    await service.start(relay, listen=True, work=False)
    yield World(relay, sink, clock)
    await service.stop(relay)


@pytest.fixture
async def pg_world(tmp_path, db_url, sink, clock):
    """The same relay on every configured backend."""
    from relay import service
    from tests.fixtures.harness import World, test_settings

    relay = service.build(test_settings(tmp_path, db_url, sink.port), clock=clock)
    await service.start(relay, listen=True, work=False)
    yield World(relay, sink, clock)
    await service.stop(relay)
