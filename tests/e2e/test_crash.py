"""A real ``relayctl serve`` killed with SIGKILL mid-stream loses no message it answered 250 for."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import aiosmtplib
import pytest

from tests.fixtures.sink import Sink

RELAYCTL = [sys.executable, "-m", "relay.cli.main"]
MENTOR, MENTEE = "sam@mail.example.com", "jo@school.example.net"

pytestmark = pytest.mark.slow


def environment(tmp_path, sink_port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(
        RELAY_DATA_DIR=str(tmp_path / "var"), RELAY_DOMAIN="mentor.test", RELAY_LISTEN="127.0.0.1:0",
        RELAY_SMARTHOST=f"127.0.0.1:{sink_port}", RELAY_SMARTHOST_TLS="none", RELAY_SENDER_AUTH="none",
    )
    return env


def relayctl(env, cwd, *args) -> str:
    result = subprocess.run(RELAYCTL + list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def start(env, cwd) -> tuple[asyncio.subprocess.Process, int]:
    process = await asyncio.create_subprocess_exec(
        *RELAYCTL, "serve", env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert "listening on" in line, line
    return process, int(line.split(" for ")[0].rsplit(":", 1)[1])


async def send(port: int, alias: str, subject: str) -> bool:
    """True only when the relay answered 250 to DATA."""
    body = f"From: {MENTEE}\r\nTo: {alias}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@school.example.net>\r\n\r\nhello\r\n"
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=3)
        await client.connect()
        await client.sendmail(MENTEE, [alias], body.encode())
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
        return False
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        pass
    return True


async def until_accepted(sends: list[asyncio.Task], count: int) -> None:
    pending = set(sends)
    while pending and sum(1 for t in sends if t.done() and t.result()) < count:
        _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)


def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)


async def test_sigkill_at_several_points_loses_no_accepted_message(tmp_path):
    sink = await Sink().start()
    slow = {"on": False}
    handle = sink.handler.handle_DATA

    async def maybe_slow(server, session, envelope):
        if slow["on"]:
            await asyncio.sleep(0.3)  # copies are in flight, some past the final dot, when the kill comes
        return await handle(server, session, envelope)

    sink.handler.handle_DATA = maybe_slow
    env, cwd = environment(tmp_path, sink.port), str(tmp_path)
    relayctl(env, cwd, "init")
    alias = json.loads(relayctl(env, cwd, "participant", "add", MENTOR, "--role", "mentor", "--handle", "Sam", "--json"))["alias"]
    relayctl(env, cwd, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Jo")
    relayctl(env, cwd, "pair", MENTOR, MENTEE)
    accepted: list[str] = []
    counter = 0
    try:
        # (sink slow?, kill after this many 250s, then after this pause)
        rounds = [(False, 1, 0.0), (True, 6, 0.0), (True, 12, 0.5), (False, 12, 0.0)]
        for round_, (slow_sink, after, pause) in enumerate(rounds):
            slow["on"] = slow_sink
            process, port = await start(env, cwd)
            batch = []
            for _ in range(12):
                counter += 1
                batch.append(f"crash-{round_}-{counter}")
            # a stream of concurrent sends, killed part way: during DATA, after 250s, with copies in flight
            sends = [asyncio.create_task(send(port, alias, subject)) for subject in batch]
            await until_accepted(sends, after)
            await asyncio.sleep(pause)
            kill(process)
            results = await asyncio.gather(*sends)
            await process.wait()
            accepted += [subject for subject, ok in zip(batch, results) if ok]
        slow["on"] = False
        process, port = await start(env, cwd)
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                delivered = {r.message["Subject"] for r in sink.received}
                missing = [s for s in accepted if s not in delivered]
                if not missing or asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.2)
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    finally:
        await sink.stop()
    assert accepted, "no send was ever accepted; the test proved nothing"
    assert missing == [], f"accepted with 250 but never delivered: {missing}"
    ids = {r.message["Subject"]: r.message["Message-ID"] for r in sink.received}
    for received in sink.received:  # a resend carries the same Message-ID as the first copy
        assert received.message["Message-ID"] == ids[received.message["Subject"]]
