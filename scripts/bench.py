"""Benchmark: throughput, end-of-DATA-to-250 latency and delivery lag over real SMTP on loopback.

One run measures, at each message size (4 KB and 64 KB by default), the same
load (20 concurrent SMTP sessions, one recipient per message) against:

  bare      aiosmtpd answering 250 and storing nothing (the ceiling of SMTP
            framing in Python plus the load generator on this machine)
  sqlite    aiosmtpd committing each message to SQLite (WAL, synchronous=FULL)
            in its own transaction before the 250: a bare Python relay
  relay     `relayctl serve` on a temporary data directory (SQLite), shipped
            policy, masking and DKIM, delivering to the sink; 1 process
  relay2    the same with `--processes 2`
  postfix   Debian's Postfix relaying through its own durable queue to the
            same sink, as a private instance (skipped, with a line saying so,
            when the package is not installed)

and, at 4 KB with one process, one pair's throughput in a program of 1,000
participants against a program of two (`program`), and what large messages
do to small ones beside them (`mixed`): on one relay process, 18 sessions of
4 KB alone, then the same 18 while 2 more sessions send 64 KB.

The load generator is the same for every target: scripts/bench_load.py, a
hand-written asyncio SMTP client in its own process (no client library, no
pipelining), timing from the final "." of DATA to the reply. Against Postfix
it reaches the same rate as Postfix's own smtp-source (within 5% at 4 KB and
64 KB on these machines), so it is not what limits the figures; smtp-source
is not used because it cannot time each reply. Relayed copies go
to scripts/bench_sink.py, a small SMTP sink in this process that counts the
copies carrying the run's marker, so delivery lag (last copy at the sink minus
end of load) shows a growing backlog. CPU is the target's process tree's user
+ system time from the start of the load until its last copy was delivered.

Every figure is printed as a ratio to Postfix in the same run (to bare aiosmtpd
when Postfix is absent): these machines are shared and noisy, so only ratios
mean much. Each target gets a short warm-up first, not counted. With
``--rounds N`` the targets take turns N times and each target's figures are
those of its round with the median throughput (every round's rate is listed
under the table): one short load can land on a busy moment of a shared
machine, and turns spread such moments over every target. Nothing is
asserted. Loopback only; everything runs in temporary directories removed at
the end.

    make bench                                   # everything: 2,000 messages at 4 KB, 500 at 64 KB (~2 min)
    make bench BENCH_ARGS="--quick"              # a smoke run (~1 min)
    make bench BENCH_ARGS="--quick --targets bare,relay,postfix --sizes 4096"
    python scripts/bench.py --targets relay,postfix --sizes 4096 --messages 4000 --json out.json
    python scripts/bench.py --targets relay --sizes 4096 --profile /tmp/relay   # + py-spy flamegraph
    python scripts/bench.py --targets relay,relay2,postfix --sizes 4096 --rounds 3   # turns, median round
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

import bench_postfix
import bench_relay
from bench_profile import Profiler
from bench_proc import cpu_seconds, read_port, run_load, stop, wait_delivered
from bench_report import median_round, report
from bench_sink import Counter
from bench_sink import start as start_sink

HERE = Path(__file__).resolve().parent
TARGETS = ("bare", "sqlite", "relay", "relay2", "postfix", "program", "mixed")
CASES = ("program", "mixed")  # run once, after the sizes
MARKER, WARM = "bench-msg-", "bench-warm-"


def options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4096,65536", help="message sizes in bytes, comma-separated")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent SMTP sessions")
    parser.add_argument("--messages", type=int, default=2000, help="messages per target at sizes under 32 KB")
    parser.add_argument("--large-messages", type=int, default=500, help="messages per target at 32 KB and more")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--program-size", type=int, default=1000, help="participants in the large program")
    parser.add_argument("--program-messages", type=int, default=200, help="messages in each program-size run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="at each size the targets take turns this many times; each keeps its median round")
    parser.add_argument("--warmup", type=int, default=40, help="messages sent to each target before measuring")
    parser.add_argument("--max-seconds", type=float, default=180, help="a load starts no message after this")
    parser.add_argument("--drain-timeout", type=float, default=240, help="longest wait for delivery after a load")
    parser.add_argument("--stall", type=float, default=30, help="give up waiting when no copy came for this long")
    parser.add_argument("--database-url", default="",
                        help="run the relay on PostgreSQL (a fresh schema per run) instead of SQLite")
    parser.add_argument("--quick", action="store_true", help="few messages, short waits: a smoke run")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as Markdown")
    parser.add_argument("--profile", metavar="PREFIX",
                        help="py-spy the 1-process relay at the first size: PREFIX.svg and PREFIX.txt")
    args = parser.parse_args(argv)
    if args.quick:
        args.messages, args.large_messages, args.program_messages = 300, 100, 40
        args.warmup, args.max_seconds, args.drain_timeout, args.stall = 20, 60, 60, 15
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.targets = [t for t in args.targets.split(",") if t]
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def count_for(args, size: int) -> int:
    return args.messages if size < 32 * 1024 else args.large_messages


class Bench:
    def __init__(self, args, workdir: Path, counter: Counter, sink_port: int) -> None:
        self.args, self.workdir, self.counter, self.sink_port = args, workdir, counter, sink_port

    async def warm(self, port: int, rcpt: str, size: int, delivers: bool) -> None:
        if not self.args.warmup:
            return
        self.counter.reset(WARM.encode())
        await run_load(port, rcpt, self.args, self.args.warmup, size, WARM)
        if delivers:
            await wait_delivered(self.counter, self.args.warmup, self.args.drain_timeout, self.args.stall)

    async def measure(self, pid: int, port: int, rcpt: str, size: int, messages: int, delivers: bool,
                      queued=None, profile: str = "") -> dict:
        """Warm up, then one measured load; with ``delivers``, wait for its copies at the sink."""
        await self.warm(port, rcpt, size, delivers)
        self.counter.reset(MARKER.encode())
        profiler = Profiler(profile) if profile else None
        if profiler and (skipped := profiler.start(pid)):
            print(skipped, file=sys.stderr)
            profiler = None
        cpu_before = cpu_seconds(pid)
        result = await run_load(port, rcpt, self.args, messages, size, MARKER)
        if profiler:
            title = f"relay under {self.args.sessions} sessions of {size} B messages, {messages} messages, " \
                    f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {result['per_second']} msg/s"
            print(await asyncio.to_thread(profiler.stop, title), file=sys.stderr)
        if delivers:
            complete = await wait_delivered(self.counter, result["accepted"], self.args.drain_timeout,
                                            self.args.stall)
            result.update(self.delivery(result, complete))
            if queued is not None:
                result["queue_empty_s"] = await self.queue_empty(queued, result["ended"])
        result["cpu_ms_per_msg"] = round((cpu_seconds(pid) - cpu_before) * 1000 / max(result["accepted"], 1), 2)
        return result

    def delivery(self, result: dict, complete: bool) -> dict:
        delivered, last = self.counter.marked, self.counter.last_at
        span = (last if delivered else time.monotonic()) - result["started"]
        return {
            "delivered": delivered,
            "delivery_complete": complete,
            "delivery_lag_s": round(max(0.0, last - result["ended"]), 3) if delivered else None,
            "delivered_per_second": round(delivered / span, 1) if span > 0 else 0.0,
        }

    async def queue_empty(self, queued, ended: float) -> float | None:
        deadline = time.monotonic() + 30
        while queued() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return None if queued() else round(time.monotonic() - ended, 3)

    async def baseline(self, kind: str, size: int) -> dict:
        command = [sys.executable, str(HERE / "bench_servers.py"), kind, str(self.workdir)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            port = await read_port(process, int)
            return await self.measure(process.pid, port, "anyone@bench.test", size, count_for(self.args, size),
                                      delivers=False)
        finally:
            await asyncio.to_thread(stop, process)

    @asynccontextmanager
    async def serving(self, name: str, processes: int, crowd: int = 0):
        """A relay on a fresh store and data directory: (its pid, its port, the alias to write to); stopped after."""
        data = Path(tempfile.mkdtemp(prefix=f"relay-{name}-", dir=self.workdir))
        with bench_relay.fresh_store(self.args.database_url) as url:
            env = bench_relay.relay_env(data, self.sink_port, url)
            alias = await asyncio.to_thread(bench_relay.prepare, env, data, crowd)
            process = await asyncio.to_thread(bench_relay.start, env, data, processes)
            try:
                port = await read_port(process, bench_relay.listening_port)
                yield process.pid, port, alias
            except Exception as error:
                raise RuntimeError(f"{error}\n{bench_relay.log_tail(data)}") from error
            finally:
                await asyncio.to_thread(stop, process)

    async def relay(self, size: int, processes: int, messages: int, crowd: int = 0, profile: str = "") -> dict:
        async with self.serving(f"p{processes}-{size}", processes, crowd) as (pid, port, alias):
            return await self.measure(pid, port, alias, size, messages, delivers=True, profile=profile)

    async def postfix(self, size: int) -> dict:
        instance = bench_postfix.PrivatePostfix(self.sink_port)
        try:
            await asyncio.to_thread(instance.start)
            result = await self.measure(instance.master_pid(), instance.port, "someone@bench.test", size,
                                        count_for(self.args, size), delivers=True, queued=instance.queued)
            result["version"] = instance.version()
            return result
        except Exception as error:
            raise RuntimeError(f"{error}\n{instance.log_tail()}") from error
        finally:
            await asyncio.to_thread(instance.stop)
            instance.remove()

    async def mixed(self, large_sessions: int = 2) -> dict:
        """Small messages' latency on one relay process alone, then beside sessions sending 64 KB."""
        small_args = argparse.Namespace(**{**vars(self.args), "sessions": self.args.sessions - large_sessions})
        large_args = argparse.Namespace(**{**vars(self.args), "sessions": large_sessions})
        messages = self.args.messages
        async with self.serving("mixed", 1) as (_, port, alias):
            await self.warm(port, alias, 4096, delivers=True)
            alone = await run_load(port, alias, small_args, messages, 4096, MARKER)
            small, large = await asyncio.gather(
                run_load(port, alias, small_args, messages, 4096, MARKER),
                run_load(port, alias, large_args, max(1, messages // 10), 65536, MARKER),
            )
        return {"small_sessions": small_args.sessions, "large_sessions": large_sessions,
                "alone": alone, "small": small, "large": large}

    async def program(self) -> dict:
        """One pair's throughput in a program of ``--program-size`` participants against a program of two.

        The two programs take turns ``--rounds`` times and each keeps its
        median round, as the sizes do: a single short load of each can land
        on a busy moment of a shared machine and move the ratio by a quarter.
        """
        runs: dict[str, list] = {"two": [], "large": []}
        for _ in range(self.args.rounds):
            runs["two"].append(await self.relay(4096, 1, self.args.program_messages))
            runs["large"].append(await self.relay(4096, 1, self.args.program_messages,
                                                  crowd=self.args.program_size - 2))
        return {"participants": self.args.program_size,
                **{name: median_round(rounds) for name, rounds in runs.items()}}


async def run_target(bench: Bench, target: str, size: int) -> dict | str:
    """A target's figures, or one line saying why there are none."""
    try:
        if target in ("bare", "sqlite"):
            return await bench.baseline(target, size)
        if target in ("relay", "relay2"):
            profile = bench.args.profile if target == "relay" and size == bench.args.sizes[0] else ""
            return await bench.relay(size, 1 if target == "relay" else 2, count_for(bench.args, size),
                                     profile=profile or "")
        if target == "postfix":
            return bench_postfix.why_not() or await bench.postfix(size)
    except Exception as error:  # noqa: BLE001 - one failed target must not lose the others' figures
        return f"failed: {error}"
    raise ValueError(target)


async def main(args) -> dict:
    results: dict = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "sessions": args.sessions,
        "sizes": {},
    }
    counter = Counter(MARKER.encode())
    sink, sink_port = await start_sink(counter)
    try:
        with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
            bench = Bench(args, Path(tmp), counter, sink_port)
            for size in args.sizes:
                targets = [t for t in TARGETS if t in args.targets and t not in CASES]
                rounds: dict[str, list] = {t: [] for t in targets}
                for number in range(1, args.rounds + 1):
                    for target in targets:
                        turn = f", round {number} of {args.rounds}" if args.rounds > 1 else ""
                        print(f"… {target} at {size} B{turn}", file=sys.stderr, flush=True)
                        rounds[target].append(await run_target(bench, target, size))
                results["sizes"][str(size)] = {t: median_round(runs) for t, runs in rounds.items()}
            if "program" in args.targets:
                print(f"… program of {args.program_size} against a program of two", file=sys.stderr, flush=True)
                try:
                    results["program"] = await bench.program()
                except Exception as error:  # noqa: BLE001
                    results["program"] = f"failed: {error}"
            if "mixed" in args.targets:
                print("… mixed: 4 KB alone, then beside 64 KB", file=sys.stderr, flush=True)
                try:
                    results["mixed"] = await bench.mixed()
                except Exception as error:  # noqa: BLE001
                    results["mixed"] = f"failed: {error}"
    finally:
        sink.close()
    return results


if __name__ == "__main__":
    arguments = options()
    figures = asyncio.run(main(arguments))
    report(figures, arguments)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(figures, indent=2))
