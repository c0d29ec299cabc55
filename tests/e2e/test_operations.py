"""A real ``relayctl serve`` as an operator watches it: JSON log lines, /metrics and /healthz under load, backups."""

from __future__ import annotations

import asyncio
import json
import signal
import socket

import pytest

from tests.e2e.test_crash import MENTEE, MENTOR, RELAYCTL, environment, relayctl, send
from tests.fixtures.sink import Sink

pytestmark = pytest.mark.slow

LOAD = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: relay\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == name or key == f"{name}{{{wanted}}}":
            return float(value)
    return 0.0


def enrol(env, tmp_path) -> str:
    relayctl(env, tmp_path, "init")
    relayctl(env, tmp_path, "participant", "add", MENTOR, "--role", "mentor", "--handle", "Sam")
    alias = json.loads(relayctl(env, tmp_path, "participant", "list", "--json"))[0]["alias"]
    relayctl(env, tmp_path, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo")
    relayctl(env, tmp_path, "pair", MENTOR, MENTEE, "--no-welcome")  # only the load's deliveries are counted
    return alias


async def test_metrics_health_and_json_logs_under_load_with_two_processes(tmp_path):
    sink = await Sink().start()
    metrics_port = free_port()
    env = environment(tmp_path, sink.port) | {
        "RELAY_MAX_CONNECTIONS_PER_PEER": "100", "RELAY_LOG_FORMAT": "json",
        "RELAY_METRICS_LISTEN": f"127.0.0.1:{metrics_port}",
    }
    alias = enrol(env, tmp_path)
    process = await asyncio.create_subprocess_exec(
        *RELAYCTL, "serve", "--processes", "2", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        first = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        await asyncio.wait_for(process.stdout.readline(), 30)
        port = int(first.split(" for ")[0].rsplit(":", 1)[1])
        sends = [asyncio.create_task(send(port, alias, f"m{n}")) for n in range(LOAD)]
        during = [await http_get(metrics_port, "/healthz"), await http_get(metrics_port, "/metrics")]
        assert all(await asyncio.gather(*sends))
        assert during[0] == (200, "ok\n") and during[1][0] == 200
        assert "mentor_relay_queue_depth" in during[1][1]
        await sink.wait_for(LOAD, timeout=60)
        listed = json.loads(relayctl(env, tmp_path, "messages", "list", "--json"))
        participant = [m for m in listed if m["kind"] == "participant"]
        assert len(participant) == LOAD
        for _ in range(100):  # each process shares its counters every second, so a scrape may lag one
            text = (await http_get(metrics_port, "/metrics"))[1]
            delivered = sample(text, "mentor_relay_delivery_attempts_total", result="delivered")
            accepted = sample(text, "mentor_relay_messages_accepted_total", kind="participant", verdict="deliver")
            replied = sample(text, "mentor_relay_smtp_replies_total", code="250")
            if delivered >= LOAD and accepted >= LOAD and replied >= 3 * LOAD:
                break
            await asyncio.sleep(0.2)
        assert accepted == len([m for m in participant if m["verdict"] == "deliver"]) == LOAD
        assert delivered == LOAD
        assert replied >= 3 * LOAD  # MAIL, RCPT, DATA
        assert sample(text, "mentor_relay_queue_depth", status="queued") == 0
        assert sample(text, "mentor_relay_held_messages") == 0
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        await sink.stop()
    assert process.returncode == 0
    lines = stderr.decode().splitlines()
    events = [json.loads(line) for line in lines]  # every line is a JSON object
    accepted_events = [e for e in events if e.get("event") == "accepted"]
    assert sorted(e["store_id"] for e in accepted_events) == sorted(m["id"] for m in participant)
    assert all(e["kind"] == "participant" and e["copies"] == 1 and e["size"] > 0 for e in accepted_events)
    assert len([e for e in events if e.get("event") == "delivery" and e["result"] == "delivered"]) == LOAD
    for line in lines:
        assert MENTOR not in line and MENTEE not in line
        assert "Available AUTH mechanisms" not in line and "Connection lost" not in line


async def test_backup_then_restore_into_a_new_data_dir_gives_the_same_relay(tmp_path):
    sink = await Sink().start()
    env = environment(tmp_path, sink.port)
    alias = enrol(env, tmp_path)
    process = await asyncio.create_subprocess_exec(
        *RELAYCTL, "serve", env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        port = int(line.split(" for ")[0].rsplit(":", 1)[1])
        assert all(await asyncio.gather(*(send(port, alias, f"m{n}") for n in range(5))))
        await sink.wait_for(5, timeout=30)
        backup = tmp_path / "relay-backup.tar.gz"
        relayctl(env, tmp_path, "backup", str(backup))  # while it serves
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
        await sink.stop()
    restored = env | {"RELAY_DATA_DIR": str(tmp_path / "restored")}
    relayctl(restored, tmp_path, "restore", str(backup))
    for command in (["participant", "list", "--json"], ["messages", "list", "--json"], ["dkim-record"]):
        assert relayctl(restored, tmp_path, *command) == relayctl(env, tmp_path, *command)
    again = __import__("subprocess").run(
        RELAYCTL + ["restore", str(backup)], env=restored, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 1 and "not empty" in again.stderr and again.stderr.count("\n") == 1
    relayctl(restored, tmp_path, "restore", "--force", str(backup))
