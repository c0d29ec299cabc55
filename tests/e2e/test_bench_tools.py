"""The benchmark's own parts: its load generator and sink agree over real SMTP, and its tables add up."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_every_message_the_load_generator_sends_reaches_the_sink_once():
    load, sink = script("bench_load"), script("bench_sink")
    counter = sink.Counter(b"bench-msg-")
    server, port = await sink.start(counter)
    try:
        args = load.parse(["--port", str(port), "--rcpt", "someone@bench.test", "--sessions", "4",
                           "--messages", "30", "--size", "8192"])
        result = await load.main(args)
    finally:
        server.close()
    assert result["accepted"] == 30 and result["refused"] == {} and result["errors"] == []
    assert counter.marked == 30 and counter.copies == 30
    assert result["median_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert 7000 < result["message_bytes"] < 9000


def test_the_sink_counts_only_the_current_marker():
    sink = script("bench_sink")
    counter = sink.Counter(b"bench-warm-")
    counter.seen(b"Subject: x\r\n\r\nbench-warm-1\r\n")
    counter.reset(b"bench-msg-")
    counter.seen(b"Subject: x\r\n\r\nbench-warm-2\r\n")
    counter.seen(b"Subject: x\r\n\r\nbench-msg-0\r\n")
    assert (counter.copies, counter.marked) == (2, 1)


def test_figures_are_shown_as_ratios_to_postfix_and_to_bare_without_it():
    report = script("bench_report")
    base = {"per_second": 100.0, "median_ms": 10.0, "p99_ms": 20.0, "cpu_ms_per_msg": 1.0, "accepted": 10}
    relayed = {**base, "per_second": 50.0, "delivered": 10, "delivered_per_second": 40.0,
               "delivery_complete": True, "delivery_lag_s": 0.5}
    head, body, ref = report.rows({"bare": dict(base, per_second=200.0), "relay": relayed,
                                   "postfix": dict(relayed, per_second=100.0, delivered_per_second=80.0)})
    assert ref == "postfix"
    relay_row = dict(zip(head, body[1]))
    assert relay_row["msg/s"] == "50.0" and body[1][2] == "0.50×" and body[1][8] == "0.50×"
    _, body, ref = report.rows({"bare": base, "relay": relayed, "postfix": "Postfix not installed: skipped"})
    assert ref == "bare" and body[1][2] == "0.50×" and body[2] == ["Postfix", "Postfix not installed: skipped"]


def test_rounds_keep_the_whole_round_with_the_median_rate():
    report = script("bench_report")
    runs = [{"per_second": rate, "p99_ms": p99} for rate, p99 in ((300.0, 70.0), (420.0, 60.0), (350.0, 90.0))]
    chosen = report.median_round(runs)
    assert (chosen["per_second"], chosen["p99_ms"]) == (350.0, 90.0)  # that round's own p99, not a median of p99s
    assert chosen["rounds"] == [300.0, 420.0, 350.0]
    assert report.median_round([runs[0], runs[1]])["per_second"] == 300.0  # of two, the lower
    assert report.median_round(["failed: no port", runs[2]]) == {**runs[2], "rounds": ["failed", 350.0]}
    assert report.median_round(["failed: no port", "failed: again"]) == "failed: no port"
    assert report.median_round([runs[1]]) == runs[1] and "rounds" not in report.median_round([runs[1]])


def test_the_program_case_shows_its_median_rounds_and_says_when_one_side_failed():
    report = script("bench_report")
    run = {"per_second": 300.0, "p99_ms": 30.0, "accepted": 200, "delivered_per_second": 280.0,
           "cpu_ms_per_msg": 2.5, "delivery_complete": True, "delivery_lag_s": 0.1}
    two = report.median_round([dict(run, per_second=rate) for rate in (400.0, 380.0, 420.0)])
    large = report.median_round([dict(run, per_second=rate) for rate in (360.0, 300.0, 390.0)])
    lines = report.program_lines({"participants": 1000, "two": two, "large": large})
    assert "360.0 against 400.0 msg/s = 0.90×" in lines[1]
    assert lines[-1] == ("  rounds accepted at 360.0 against 400.0 / 300.0 against 380.0 / 390.0 against 420.0 "
                         "msg/s; each program shows its median round")
    failed = report.program_lines({"participants": 1000, "two": two, "large": "failed: no port"})
    assert failed == ["program size: program of 1,000: failed: no port"]


def test_profile_summary_groups_inclusive_time_by_module():
    profile = script("bench_profile")
    stacks = [
        "run (relay/service.py:1);evaluate (relay/policy/engine.py:5);check (relay/policy/rules/words.py:9) 3",
        "run (relay/service.py:1);read (relay/store/db.py:7);execute (sqlalchemy/orm/session.py:2) 1",
        'process 1:"python";\r (x) ',
    ]
    text = profile.summarise(stacks)
    assert "4 samples" in text
    assert "relay/policy/engine.py\n   75.0%    0.0%  evaluate" in text
    assert "25.0%  sqlalchemy" in text


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_on_the_baselines(tmp_path):
    out = tmp_path / "figures.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "bench.py"), "--targets", "bare,sqlite", "--sizes", "4096",
         "--messages", "40", "--warmup", "4", "--sessions", "4", "--rounds", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "aiosmtpd + SQLite" in result.stdout and "× bare" in result.stdout
    assert "rounds at" in result.stdout  # both targets took two turns
    figures = json.loads(out.read_text())["sizes"]["4096"]
    assert len(figures["bare"]["rounds"]) == len(figures["sqlite"]["rounds"]) == 2
    assert figures["sqlite"]["per_second"] in figures["sqlite"]["rounds"]
