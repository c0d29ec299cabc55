"""Times the policy engine on ordinary messages, so its cost per KB stays visible.

    .venv/bin/python scripts/bench_policy.py                      # this tree
    .venv/bin/python scripts/bench_policy.py --baseline DIR       # and DIR's relay/, same run, as ratios

DIR is a copy of another version's source (for example
``git archive HEAD relay | tar -x -C /tmp/base``); each version is timed in
child processes, taking turns, with its source first on the import path, so
both figures come from the same machine at the same moment. Times are CPU
time of the evaluating thread (best of the rounds), which other load on the
machine disturbs far less than wall-clock time. Messages are ordinary
mentoring prose (dates, times, prices, a few "@" and "/") that no rule should
flag: the cost every message pays. The "load" cases are the messages the
relay benchmark's load generator sends (scripts/bench_load.py), read by the
relay's own parser, so these figures are the policy's share of that run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time

SENTENCES = (
    "I hope your week went well and the science project is coming along.",
    "We practised for the match on Saturday 12 March and scored 3 goals.",
    "My sister starts at the new school in September, she is nervous about it.",
    "The library opens at 9:30 and closes at 5 pm, so I went after class.",
    "Mum says the trip costs $45 per person, which is a lot for us.",
    "I read chapters 4 and 5 of the book you told me about, page 112 was the best part.",
    "Did you ever have to choose between art and/or music when you were my age?",
    "The coach said we train 3 times a week until the 2027 season starts.",
    "I got 18/20 on the maths quiz, better than last time!",
    "We met @ the park after lunch and talked about what to do next summer.",
    "Thank you for the tips about revising, making a timetable really helped.",
    "My grandad told me stories about working at the factory in 1978.",
    "I want to study engineering or maybe biology, I am not sure yet.",
    "Our teacher gave us a project on renewable energy, due on 3/4.",
    "On Friday we had a fire drill at 10:15 and missed half of history.",
    "I think I will try out for the school play, rehearsals are 2-4 pm.",
    "The bus was 20 minutes late again so I walked the last part.",
    "What was your favourite subject at university, and why did you like it?",
    "We baked a cake for my cousin's birthday, it was 3 layers tall.",
    "I am reading about volcanoes; Mount St. Helens erupted on 18 May 1980.",
)


def prose(size: int, seed: int) -> str:
    """About ``size`` bytes of paragraphs made of ordinary sentences."""
    rng = random.Random(seed)
    paragraphs, length = [], 0
    while length < size:
        paragraph = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(3, 6)))
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:size]


def html(size: int, seed: int) -> str:
    """An HTML message of about ``size`` bytes, shaped like a webmail client's."""
    head = (
        "<html><head><style>p{margin:0;font-family:Arial}</style></head><body>"
        '<div dir="ltr"><p>Hi there,</p>'
    )
    rng = random.Random(seed)
    body, length = [head], len(head)
    while length < size:
        sentence = rng.choice(SENTENCES)
        piece = (
            f'<p style="margin:0">{sentence} <b>{rng.randint(1, 99)}</b> '
            f'<a href="https://www.example.org/notes/{rng.randint(1, 999)}">notes</a></p>'
        )
        body.append(piece)
        length += len(piece)
    return "".join(body) + "<p>See you soon</p></div></body></html>"


def load_message(size: int):
    """What the policy sees of one message from the benchmark's load generator."""
    from bench_load import Messages

    from relay.intake.parse import inspect

    return inspect(Messages("mentor@bench.example", "Alex Garcia", "alias@bench.test", size).data(1))


def cases():
    from relay.model import Inspection

    return {
        "4 KB load": load_message(4096),
        "64 KB load": load_message(65536),
        "4 KB prose": Inspection(subject="Re: this week", texts=(prose(4096, 1),)),
        "64 KB prose": Inspection(subject="Re: this week", texts=(prose(65536, 2),)),
        "4 KB HTML": Inspection(subject="Re: this week", texts=(prose(1024, 3),), htmls=(html(4096, 4),)),
    }


def measure(rounds: int) -> dict[str, float]:
    """Best-of-rounds CPU milliseconds of one evaluate() per case."""
    from relay.model import PolicyContext
    from relay.policy.engine import evaluate
    from relay.policy.loader import parse_policy

    policy = parse_policy("").default
    ctx = PolicyContext(known_addresses=frozenset({"mentor@example.com"}), relay_domain="relay.example")
    results = {}
    for name, inspection in cases().items():
        evaluate(inspection, ctx, policy)  # warm caches (regex compilation, phone metadata)
        times = []
        for _ in range(rounds):
            start = time.thread_time()
            verdict = evaluate(inspection, ctx, policy)
            times.append(time.thread_time() - start)
        if verdict.findings:
            print(f"warning: {name} has findings: {[f.rule for f in verdict.findings]}", file=sys.stderr)
        results[name] = min(times) * 1000
    return results


def _child(source: str, rounds: int) -> dict[str, float]:
    """One timing run in a fresh process that imports relay from ``source``."""
    env = {**os.environ, "PYTHONPATH": source}
    command = [sys.executable, os.path.abspath(__file__), "--json", "--rounds", str(rounds)]
    out = subprocess.run(command, env=env, cwd=source, capture_output=True, text=True, check=True)
    sys.stderr.write(out.stderr)  # a case with findings says so
    child = json.loads(out.stdout)
    if not child["source"].startswith(source):
        sys.exit(f"the run for {source} imported {child['source']} instead")
    return child["times"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--turns", type=int, default=3, help="child runs per version, taking turns")
    parser.add_argument("--baseline", help="a directory holding another version's relay/ package")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child-process output
    args = parser.parse_args()
    if args.json:
        import relay

        print(json.dumps({"source": relay.__file__, "times": measure(args.rounds)}))
        return
    if not args.baseline:
        now = measure(args.rounds)
        print(f"{'case':<14}{'this tree':>12}")
        for name, ms in now.items():
            print(f"{name:<14}{ms:>10.2f}ms")
        return
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs: dict[str, list[dict[str, float]]] = {"here": [], "base": []}
    for _ in range(args.turns):
        runs["base"].append(_child(os.path.abspath(args.baseline), args.rounds))
        runs["here"].append(_child(here, args.rounds))
    best = {key: {name: min(run[name] for run in found) for name in found[0]} for key, found in runs.items()}
    print(f"{'case':<14}{'this tree':>12}{'baseline':>12}{'speed-up':>10}   (CPU ms per evaluate, best of {args.turns}x{args.rounds})")
    for name, ms in best["here"].items():
        base = best["base"][name]
        print(f"{name:<14}{ms:>10.2f}ms{base:>10.2f}ms{base / ms:>9.2f}×")


if __name__ == "__main__":
    main()
