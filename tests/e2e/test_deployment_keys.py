"""Several hosts on one store share one set of keys: the same DKIM record, each other's bounce addresses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlmodel import select

from relay import service
from relay.keys import KeysDisagree
from relay.store.tables import Delivery, InboundEvent
from tests.e2e.test_bounces import MENTEE, MENTOR, REMOTE, dsn
from tests.fixtures import harness
from tests.fixtures.harness import World

RELAYCTL = [sys.executable, "-m", "relay.cli.main"]


def host_env(tmp_path, name: str, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_DATA_DIR=str(tmp_path / name), RELAY_DOMAIN="mentor.test", RELAY_DATABASE_URL=database_url)
    return env


def relayctl(env, *args, ok=True):
    result = subprocess.run(RELAYCTL + list(args), env=env, capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow  # real relayctl processes
def test_two_hosts_initialised_on_one_database_publish_the_same_dkim_record(tmp_path, db_url):
    a, b = host_env(tmp_path, "host-a", db_url), host_env(tmp_path, "host-b", db_url)
    assert "created" in relayctl(a, "init").stdout
    adopted = relayctl(b, "init").stdout
    assert "adopted from the store" in adopted and "created" not in adopted
    record = relayctl(a, "dkim-record").stdout
    assert record == relayctl(b, "dkim-record").stdout and "v=DKIM1" in record
    assert (tmp_path / "host-a" / "secret.key").read_bytes() == (tmp_path / "host-b" / "secret.key").read_bytes()
    assert (tmp_path / "host-a" / "dkim" / "relay.pem").read_bytes() == (tmp_path / "host-b" / "dkim" / "relay.pem").read_bytes()


@pytest.mark.slow  # real relayctl processes
def test_a_host_whose_keys_are_another_deployments_refuses_to_start(tmp_path, db_url):
    relayctl(host_env(tmp_path, "host-a", db_url), "init")
    stranger = host_env(tmp_path, "host-c", db_url)
    (tmp_path / "host-c").mkdir()
    (tmp_path / "host-c" / "secret.key").write_text("ab" * 32 + "\n")
    result = relayctl(stranger, "serve", ok=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "secret.key is not the secret this database's hosts share" in result.stderr


@pytest.mark.slow  # real relayctl processes
def test_rotation_publishes_a_new_selector_while_the_old_still_verifies(tmp_path, db_url):
    a, b = host_env(tmp_path, "host-a", db_url), host_env(tmp_path, "host-b", db_url)
    relayctl(a, "init")
    relayctl(b, "init")
    old = relayctl(a, "dkim-record").stdout.strip()
    new = relayctl(a, "dkim-rotate", "--selector", "relay2").stdout.splitlines()[0]
    assert new.startswith("relay2._domainkey.mentor.test.")
    waiting = relayctl(b, "dkim-record").stdout.splitlines()
    assert waiting[0].startswith(old) and waiting[1].startswith(new)  # published before it signs
    relayctl(b, "dkim-rotate", "--activate")
    after = relayctl(a, "dkim-record").stdout.splitlines()
    assert after[0].startswith(new) and "signing" in after[0]
    assert after[1].startswith(old) and "old key" in after[1]
    assert "signing with selector relay2" in relayctl(b, "init").stdout  # its local copy is the old key: still ours


async def test_a_bounce_to_an_address_host_a_minted_is_accepted_by_host_b(tmp_path, db_url, sink, clock):
    host_a = service.build(harness.test_settings(tmp_path / "a", db_url, sink.port), clock=clock)
    host_b = service.build(harness.test_settings(tmp_path / "b", db_url, sink.port), clock=clock)
    await service.start(host_a, listen=True, work=False)
    await service.start(host_b, listen=True, work=False)
    try:
        a, b = World(host_a, sink, clock), World(host_b, sink, clock)
        mentor = a.enrol(MENTOR, "mentor", "Sam")
        a.enrol(MENTEE, "mentee", "Jo")
        a.pair(MENTOR, MENTEE)
        assert (await a.send(MENTEE, mentor, "Homework help", "Can we talk?")).code == 250
        await a.flush()
        (copy,) = sink.received
        bounce = copy.mail_from
        reply = await b.send(REMOTE, bounce, rcpts=[bounce], raw=dsn("failed", "5.1.1"))
        assert reply.code == 250, reply
        rows = host_b.db.run_sync(lambda s: (list(s.exec(select(Delivery))), list(s.exec(select(InboundEvent)))))
        forward = next(d for d in rows[0] if d.kind == "forward")
        assert forward.status == "failed" and [e.delivery_id for e in rows[1]] == [forward.id]
        assert host_a.worker.signer.selector == host_b.worker.signer.selector
    finally:
        await service.stop(host_a)
        await service.stop(host_b)


def test_keys_that_disagree_stop_the_build(tmp_path, sqlite_url, clock):
    first = service.build(harness.test_settings(tmp_path / "a", sqlite_url, None), clock=clock)
    first.db.close()
    other = tmp_path / "b" / "var"
    other.mkdir(parents=True)
    (other / "secret.key").write_text("cd" * 32 + "\n")
    with pytest.raises(KeysDisagree):
        service.build(harness.test_settings(tmp_path / "b", sqlite_url, None), clock=clock)


@pytest.mark.slow  # real relayctl processes
def test_a_backup_on_any_store_brings_the_keys_back(tmp_path, db_url):
    a = host_env(tmp_path, "host-a", db_url)
    relayctl(a, "init")
    record = relayctl(a, "dkim-record").stdout
    out = relayctl(a, "backup", str(tmp_path / "keys.tar.gz")).stdout
    assert ("pg_dump" in out) == db_url.startswith("postgresql")  # the rest of a PostgreSQL store
    on_postgres = db_url.startswith("postgresql")
    # PostgreSQL: the same database (pg_dump keeps the rest); SQLite: the backup brings its own store.
    b = host_env(tmp_path, "host-b", db_url if on_postgres else f"sqlite:///{tmp_path / 'host-b' / 'relay.db'}")
    relayctl(b, "restore", str(tmp_path / "keys.tar.gz"))
    assert (tmp_path / "host-b" / "secret.key").read_bytes() == (tmp_path / "host-a" / "secret.key").read_bytes()
    assert relayctl(b, "dkim-record").stdout == record
    assert "kept" in relayctl(b, "init").stdout
