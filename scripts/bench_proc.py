"""Process plumbing for the benchmark: CPU time of a process tree, the load generator, stopping cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry))
    return tree


def cpu_seconds(root: int) -> float:
    """User+system CPU of a process, its live descendants and the children they have reaped."""
    tree, total, todo = _children(), 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / TICK  # utime stime cutime cstime
        todo.extend(tree.get(pid, []))
    return total


async def run_load(port: int, rcpt: str, args, messages: int, size: int, marker: str,
                   sender: str = "mentee@bench.example") -> dict:
    """Run the load generator in its own process and return its summary."""
    command = [sys.executable, str(HERE / "bench_load.py"), "--port", str(port), "--rcpt", rcpt,
               "--sender", sender, "--sessions", str(args.sessions), "--messages", str(messages),
               "--size", str(size), "--marker", marker, "--max-seconds", str(args.max_seconds)]
    process = await asyncio.create_subprocess_exec(*command, stdout=subprocess.PIPE)
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {process.returncode})")
    return json.loads(out)


def stop(process: subprocess.Popen, timeout: float = 60.0) -> None:
    """SIGTERM, a grace period, then SIGKILL: never leave a server behind."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def read_port(process: subprocess.Popen, parse, timeout: float = 60.0) -> int:
    """Wait for the server's first line on stdout and take its port from it."""
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout)
    except asyncio.TimeoutError:
        raise RuntimeError("the server did not say it was listening") from None
    if not line:
        raise RuntimeError(f"the server exited before listening (exit {process.poll()})")
    return parse(line)


async def wait_delivered(counter, expected: int, timeout: float, stall: float) -> bool:
    """Until the sink has ``expected`` marked copies, or none came for ``stall`` s, or ``timeout`` s passed."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    last_count, last_change = counter.marked, started
    while counter.marked < expected:
        now = loop.time()
        if counter.marked != last_count:
            last_count, last_change = counter.marked, now
        if now - started > timeout or now - last_change > stall:
            return False
        await asyncio.sleep(0.02)
    return True
