"""Benchmark: messages per second and end-of-DATA-to-250 latency over real SMTP.

Runs three servers on loopback, one after the other, under the same client
load (concurrent SMTP sessions sending small messages):

  bare      aiosmtpd that answers 250 without storing anything (the ceiling
            of SMTP framing plus this client on this machine)
  sqlite    aiosmtpd that commits each message to SQLite (WAL,
            synchronous=FULL) before 250: the "bare Python relay" of the design
  relay     `relayctl serve` (store with group commit, policy, then masked,
            DKIM-signed delivery to a local sink)

Figures are reported as ratios against the baselines measured in the same
run, because these machines are shared and noisy. No targets are asserted.

    make bench                      # defaults: 20 sessions, 4 KB, 2000 messages, one relay process
    make bench BENCH_ARGS="--processes 2"
    python scripts/bench.py --sessions 20 --size 4096 --messages 4000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiosmtplib
from aiosmtpd.smtp import SMTP

ROOT = Path(__file__).resolve().parents[1]
MENTOR, MENTEE = "mentor@bench.example", "mentee@bench.example"


def make_message(size: int, n: int, to: str) -> bytes:
    filler = ("All work and no play makes a fine essay. " * (size // 40 + 1))[:size]
    lines = [filler[i : i + 76] for i in range(0, len(filler), 76)]
    head = f"From: {MENTEE}\r\nTo: {to}\r\nSubject: bench {n}\r\nMessage-ID: <b{n}@bench.example>\r\n\r\n"
    return (head + "\r\n".join(lines) + "\r\n").encode()


async def load(port: int, to: str, sessions: int, total: int, size: int) -> dict:
    latencies: list[float] = []
    per_session = total // sessions
    failures = 0

    async def session(index: int) -> None:
        nonlocal failures
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        await client.ehlo()
        for i in range(per_session):
            data = make_message(size, index * per_session + i, to)
            await client.mail(MENTEE)
            await client.rcpt(to)
            started = time.perf_counter()
            try:
                await client.data(data)  # returns after the final dot's reply
                latencies.append(time.perf_counter() - started)
            except aiosmtplib.SMTPResponseException:
                failures += 1
                await client.rset()
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(session(n) for n in range(sessions)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "messages": len(latencies),
        "failures": failures,
        "seconds": round(elapsed, 3),
        "per_second": round(len(latencies) / elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


class BareHandler:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 OK"


class SqliteHandler:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, sender TEXT, rcpts TEXT, raw BLOB)")
        self.lock = threading.Lock()  # one connection, one transaction at a time

    async def handle_DATA(self, server, session, envelope):
        def commit():
            with self.lock:
                self._insert(envelope)

        await asyncio.to_thread(commit)
        return "250 2.0.0 OK"

    def _insert(self, envelope) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT INTO m (sender, rcpts, raw) VALUES (?, ?, ?)",
                        (envelope.mail_from, ",".join(envelope.rcpt_tos), envelope.original_content))
        self.db.execute("COMMIT")


async def serve_baseline(handler) -> asyncio.AbstractServer:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTP(handler, hostname="bench", decode_data=False), "127.0.0.1", 0)


def baseline_process(kind: str, workdir: Path) -> subprocess.Popen:
    """Baselines run in their own process, like the relay, so the client loop is not shared."""
    code = (
        "import asyncio, sys; sys.path.insert(0, %r); import scripts.bench as b; from pathlib import Path\n"
        "async def main():\n"
        "    h = b.BareHandler() if %r == 'bare' else b.SqliteHandler(Path(%r) / 'base.db')\n"
        "    s = await b.serve_baseline(h); print(s.sockets[0].getsockname()[1], flush=True); await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    ) % (str(ROOT), kind, str(workdir))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


class CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 2.0.0 OK"


def relayctl(env: dict, *args: str, capture: bool = True) -> str:
    result = subprocess.run([sys.executable, "-m", "relay.cli.main", *args], env=env, cwd=ROOT,
                            capture_output=capture, text=True, check=True)
    return result.stdout.strip() if capture else ""


async def measure_relay(args, workdir: Path) -> dict:
    sink = CountingSink()
    loop = asyncio.get_running_loop()
    sink_server = await loop.create_server(lambda: SMTP(sink, hostname="sink", decode_data=False), "127.0.0.1", 0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_DATA_DIR=str(workdir / "relay"), RELAY_DOMAIN="bench.test", RELAY_LISTEN="127.0.0.1:0",
               RELAY_SMARTHOST=f"127.0.0.1:{sink_server.sockets[0].getsockname()[1]}", RELAY_SMARTHOST_TLS="none",
               RELAY_SENDER_AUTH="none", RELAY_MESSAGES_PER_HOUR="10000000", RELAY_MAX_CONNECTIONS_PER_PEER="1000")
    if args.database_url:
        env["RELAY_DATABASE_URL"] = args.database_url
    env["RELAY_PROCESSES"] = str(args.processes)
    relayctl(env, "init")
    relayctl(env, "participant", "add", MENTOR, "--role", "mentor", "--handle", "Mentor")
    relayctl(env, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Mentee")
    alias = json.loads(relayctl(env, "participant", "list", "--json"))[0]["alias"]
    relayctl(env, "pair", MENTOR, MENTEE, "--no-welcome")  # the sink counts forwards only
    process = subprocess.Popen([sys.executable, "-m", "relay.cli.main", "serve"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = await asyncio.to_thread(process.stdout.readline)
        port = int(line.rsplit(" for ", 1)[0].rsplit(":", 1)[1])
        accepted = await load(port, alias, args.sessions, args.messages, args.size)
        started = time.perf_counter()
        while sink.count < accepted["messages"] and time.perf_counter() - started < 300:
            await asyncio.sleep(0.05)
        accepted["delivered"] = sink.count
        accepted["drain_seconds_after_load"] = round(time.perf_counter() - started, 2)
        return accepted
    finally:
        process.terminate()
        process.wait(timeout=60)
        sink_server.close()


async def measure_baseline(kind: str, args, workdir: Path) -> dict:
    process = baseline_process(kind, workdir)
    try:
        port = int(await asyncio.to_thread(process.stdout.readline))
        return await load(port, "anyone@bench.test", args.sessions, args.messages, args.size)
    finally:
        process.terminate()
        process.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--database-url", default="", help="run the relay on this store instead of SQLite")
    parser.add_argument("--processes", type=int, default=1, help="relay processes sharing the port")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        workdir = Path(tmp)
        results = {
            "bare": await measure_baseline("bare", args, workdir),
            "sqlite": await measure_baseline("sqlite", args, workdir),
            "relay": await measure_relay(args, workdir),
        }
    report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def report(results: dict, args) -> None:
    print(f"{args.sessions} sessions, {args.size} B messages, {args.messages} messages, {os.cpu_count()} cores, "
          f"{args.processes} relay process(es)")
    print(f"{'server':<8} {'msg/s':>8} {'median ms':>10} {'p99 ms':>8} {'vs bare':>8} {'vs sqlite':>10}")
    bare, base = results["bare"]["per_second"], results["sqlite"]["per_second"]
    for name, r in results.items():
        print(f"{name:<8} {r['per_second']:>8} {r['median_ms']:>10} {r['p99_ms']:>8} "
              f"{r['per_second'] / bare:>8.2f} {r['per_second'] / base:>10.2f}")
    relay = results["relay"]
    print(f"relay: {relay['delivered']}/{relay['messages']} delivered to the sink, "
          f"{relay['failures']} refused, drained {relay['drain_seconds_after_load']} s after the load ended")


if __name__ == "__main__":
    asyncio.run(main())
