"""Two ``relayctl serve`` hosts on one PostgreSQL: one killed with SIGKILL, the other delivers all it left, once."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter

import pytest

from tests.e2e.test_crash import MENTEE, MENTOR, environment, relayctl, send, start
from tests.fixtures.databases import PG_ENV, database_url
from tests.fixtures.sink import Sink

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not __import__("os").environ.get(PG_ENV), reason="needs PostgreSQL (RELAY_TEST_DATABASE_URL)"),
]

EACH = 10  # messages sent to each host


async def test_a_live_host_delivers_what_a_killed_host_had_claimed_within_two_minutes_once(tmp_path):
    sink = await Sink().start()
    stall = {"on": True}

    async def stalled(server, session, envelope, address, options):
        while stall["on"]:  # host A's copies stop before DATA: the kill finds them claimed, unsent
            await asyncio.sleep(0.1)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    sink.handler.handle_RCPT = stalled
    with database_url("postgresql", tmp_path) as url:
        host_a, host_b = tmp_path / "a", tmp_path / "b"
        env_a = environment(host_a, sink.port) | {"RELAY_DATABASE_URL": url}
        env_b = environment(host_b, sink.port) | {"RELAY_DATABASE_URL": url}
        for env, home in ((env_a, host_a), (env_b, host_b)):
            home.mkdir()
            relayctl(env, str(home), "init")  # the second host adopts the first one's keys
        alias = json.loads(relayctl(env_a, str(host_a), "participant", "add", MENTOR, "--role", "mentor",
                                    "--handle", "Sam", "--json"))["alias"]
        relayctl(env_a, str(host_a), "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo")
        relayctl(env_a, str(host_a), "pair", MENTOR, MENTEE, "--no-welcome")
        a, port_a = await start(env_a, str(host_a))
        b, port_b = await start(env_b, str(host_b))
        try:
            # The load is shared: both hosts accept and claim while the sink holds their copies at RCPT.
            sent_a = [f"host-a-{n}" for n in range(EACH)]
            sent_b = [f"host-b-{n}" for n in range(EACH)]
            results = await asyncio.gather(*(send(port_a, alias, s) for s in sent_a),
                                           *(send(port_b, alias, s) for s in sent_b))
            assert all(results)
            await asyncio.sleep(3)  # host A has claimed its copies; they are stuck before DATA
            a.send_signal(signal.SIGKILL)
            await a.wait()
            stall["on"] = False
            # Host B started while A was alive, so only the lapse of A's lease (a minute) lets B take them over.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 120  # the lease is a minute: well inside two
            while loop.time() < deadline:
                delivered = Counter(r.message["Subject"] for r in sink.received)
                if all(delivered[s] for s in sent_a + sent_b):
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)  # a duplicate would arrive now
        finally:
            for process in (a, b):
                if process is not None and process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    await asyncio.wait_for(process.wait(), 30)
            await sink.stop()
    delivered = Counter(r.message["Subject"] for r in sink.received)
    missing = [s for s in sent_a + sent_b if not delivered[s]]
    assert missing == [], f"accepted with 250 but not delivered within two minutes: {missing}"
    assert {s: n for s, n in delivered.items() if n > 1} == {}, "a copy was delivered twice"
