"""`relayctl serve --processes 2`: two relay processes on one socket, one store, one stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess

import pytest

from tests.e2e.test_crash import MENTEE, MENTOR, RELAYCTL, environment, relayctl, send
from tests.fixtures.sink import Sink

pytestmark = pytest.mark.slow


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


async def test_two_processes_share_the_port_and_stop_together(tmp_path):
    sink = await Sink().start()
    env = environment(tmp_path, sink.port) | {"RELAY_MAX_CONNECTIONS_PER_PEER": "100"}  # 30 at once from loopback
    relayctl(env, tmp_path, "init")
    relayctl(env, tmp_path, "participant", "add", MENTOR, "--role", "mentor", "--handle", "Sam")
    alias = json.loads(relayctl(env, tmp_path, "participant", "list", "--json"))[0]["alias"]
    relayctl(env, tmp_path, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo")
    relayctl(env, tmp_path, "pair", MENTOR, MENTEE, "--no-welcome")  # the sink counts forwards only
    process = await asyncio.create_subprocess_exec(
        *RELAYCTL, "serve", "--processes", "2", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        second = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert "listening on" in first and first == second  # both processes, the same address
        port = int(first.split(" for ")[0].rsplit(":", 1)[1])
        assert len(children_of(process.pid)) == 1
        accepted = await asyncio.gather(*(send(port, alias, f"m{n}") for n in range(30)))
        assert all(accepted)
        await sink.wait_for(30, timeout=60)
        assert sorted(r.message["Subject"] for r in sink.received) == sorted(f"m{n}" for n in range(30))
        child = children_of(process.pid)[0]
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
        await sink.stop()
    assert code == 0
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the second process drained and stopped with the first
