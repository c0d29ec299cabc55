"""Optional CPU profile of the relay under the benchmark's load: a py-spy flamegraph, a text summary and the raw stacks.

Samples only the thread holding the GIL (py-spy --gil), so the figures are
where the Python CPU goes, not where threads wait on locks or fsync.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

FRAME = re.compile(r"(.*) \((.*?)(?::\d+)?\)$")
ENTRY = {"<module>", "main", "run_serve", "run", "_run_code", "_run_module_as_main"}


def py_spy() -> str:
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else (shutil.which("py-spy") or "")


class Profiler:
    """Two samplers on one process: one draws the flamegraph, one keeps raw stacks for the summary."""

    def __init__(self, prefix: str) -> None:
        self.prefix = Path(prefix)
        self.processes: list[subprocess.Popen] = []

    def start(self, pid: int) -> str:
        tool = py_spy()
        if not tool:
            return "py-spy not installed (pip install py-spy): no profile"
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        for fmt, suffix in (("flamegraph", ".svg"), ("raw", ".raw")):
            self.processes.append(subprocess.Popen(
                [tool, "record", "--pid", str(pid), "--gil", "--subprocesses", "--nonblocking", "--rate", "200",
                 "--format", fmt, "-o", f"{self.prefix}{suffix}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return ""

    def stop(self, title: str) -> str:
        for process in self.processes:
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        raw = Path(f"{self.prefix}.raw")
        if not raw.exists():
            return "py-spy wrote nothing (is ptrace allowed here?)"
        stacks = raw.read_bytes().decode(errors="replace").split("\n")  # a frame may hold a stray "\r"
        Path(f"{self.prefix}.txt").write_text(title + "\n\n" + summarise(stacks))
        return f"profile: {self.prefix}.svg, summary {self.prefix}.txt, collapsed stacks {self.prefix}.raw"


def frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for frame in stack.split(";"):
        match = FRAME.match(frame)
        if match:
            path = re.sub(r".*site-packages/", "", match.group(2))
            out.append((re.sub(r".*/lib/python3\.\d+/", "", path), match.group(1)))
    return out


def summarise(lines: list[str], top: int = 15) -> str:
    """The relay's top functions by own+child (inclusive) time grouped by module, then time by module."""
    inclusive, own, module_own = collections.Counter(), collections.Counter(), collections.Counter()
    package_inclusive = collections.Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():  # a sample with no Python frames
            continue
        n, found = int(count), frames(stack)
        total += n
        for key in set(found):
            inclusive[key] += n
        for package in {module.split("/")[0] for module, _ in found if not module.startswith("relay/")}:
            package_inclusive[package] += n
        if found:
            own[found[-1]] += n
            module_own[found[-1][0] if found[-1][0].startswith("relay/") else found[-1][0].split("/")[0]] += n
    if not total:
        return "no samples\n"
    chosen = [(k, v) for k, v in inclusive.most_common() if k[0].startswith("relay/") and k[1] not in ENTRY][:top]
    by_module: dict[str, list] = {}
    for (module, function), n in chosen:
        by_module.setdefault(module, []).append((function, n))
    out = [f"{total} samples holding the GIL; % of them, inclusive (own+child) then own", ""]
    for module, items in by_module.items():
        out.append(module)
        out += [f"  {100 * n / total:5.1f}%  {100 * own[(module, f)] / total:5.1f}%  {f}" for f, n in items]
    out += ["", "own time by module (relay modules, else top-level package):"]
    out += [f"  {100 * n / total:5.1f}%  {m}" for m, n in module_own.most_common(20)]
    out += ["", "time inside each library, inclusive (what the calls into it cost):"]
    out += [f"  {100 * n / total:5.1f}%  {m}" for m, n in package_inclusive.most_common(12)
            if m not in ("threading.py", "concurrent", "<frozen runpy>")]
    return "\n".join(out) + "\n"
