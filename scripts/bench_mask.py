"""Micro-benchmark: the CPU time to mask one copy (4 KB and 64 KB bodies), for programs of 2 to 1,000 participants.

One copy is one delivery's masking context read from the store plus the
masked copy built from it, measured on a real SQLite store, in CPU time of
the measuring thread (best and median of many copies). Two figures matter:
how the time grows with the program (it should not), and the time per copy
at each body size.

    python scripts/bench_mask.py                       # this checkout
    python scripts/bench_mask.py --baseline DIR        # and an older tree of the code, as ratios
    python scripts/bench_mask.py --sizes 2,50,200,1000 --body-sizes 4096,65536 --json out.json
    python scripts/bench_mask.py --shape load          # the load generator's plain prose instead of a reply

`--shape reply` (the default) is a reply with a greeting, a sign-off, both
sides' addresses and names, and a quoted thread; `--shape load` is the
benchmark load generator's body (ordinary words, no address, no name).
`--baseline DIR` runs the same measurement in a child process with DIR (an
unpacked tree of another version, e.g. `git archive main | tar -x -C DIR`)
first on the import path, so both versions are measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
DOMAIN = "mentor.example.org"
FIRST = "Will Mark Grace Hope Rose Bill Summer Hunter Art May Jane Sam Alex Maria Omar Lena Yuki Priya Tom Ada".split()
LAST = "Rivera Doe Smith Nguyen Okafor Müller Rossi Tanaka Kowalski Haddad Silva Brown Garcia Cohen Ali".split()


def body(mentor: str, mentee: str, size: int = 4000, shape: str = "reply") -> bytes:
    """A stored original of about ``size`` bytes of text (4,000: the reply this benchmark always used)."""
    if shape == "load":
        from bench_load import prose  # the script's own directory is first on the path

        text = prose(max(size - 300, 100)).replace("\r\n", "\n")
    else:
        paragraph = (
            "Thanks for the essay draft. I will mark it up tonight and hope to send it back tomorrow; "
            "the second section reads well, and the grace of your conclusion is the best part. "
        )

        def reply(scale: int) -> str:  # 8 paragraphs and 10 quoted lines per 3.7 KB
            return (
                f"Hi Sam,\n\n{paragraph * 8}\n\n" * scale
                + f"If the link breaks, write to me at {mentor} and I will resend.\n\n"
                f"Best,\nWill Mark\n\nOn Mon, 2 Mar 2026 at 18:00, Sam Rivera <{mentee}> wrote:\n"
                + "".join(f"> {paragraph}\n" for _ in range(10 * scale))
                + f"> Sam Rivera | {mentee}\n"
            )

        text = reply(max(1, size // len(reply(1))))[:size]
    head = (
        f"From: Will Mark <{mentor}>\r\nTo: Sam Rivera <mentee-alias@{DOMAIN}>\r\nSubject: Re: essay\r\n"
        "Message-ID: <bench-1@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return (head + text.replace("\n", "\r\n")).encode()


def setup(url: str, size: int, body_size: int = 4000, shape: str = "reply"):
    from relay import model
    from relay.store import directory, messages, schema
    from relay.store.db import Database
    from relay.store.tables import Participant

    db = Database.from_url(url)
    schema.upgrade(db.engine)
    def entropy() -> bytes:
        return secrets.token_bytes(16)

    def work(session):
        program = directory.get_or_create_program(session, "default", START)
        people = []
        for i in range(size):
            role = model.Role.MENTOR if i % 2 == 0 else model.Role.MENTEE
            email = f"person{i}@school{i % 7}.example.net"
            person = directory.add_participant(session, program, email, role, f"handle-{i}", START, entropy)
            name = "Will Mark" if i == 0 else "Sam Rivera" if i == 1 else f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}"
            if hasattr(directory, "learn_name"):
                directory.learn_name(session, person.id, name, START)
            else:
                session.get(Participant, person.id).display_name = name
            people.append(person)
        mentor, mentee = people[0], people[1]
        message_id = messages.insert_message(
            session, program_id=program.id, sender_id=mentor.id, received_at=START,
            raw=body(mentor.email, mentee.email, body_size, shape), original_message_id="<bench-1@example.net>",
            envelope_rcpts=[f"{mentee.alias}@{DOMAIN}"],
        )
        rows = [dict(message_id=message_id, recipient_id=mentee.id, rcpt_email=mentee.email, kind="forward",
                     masked_message_id=f"<m{message_id}@{DOMAIN}>", created_at=START, next_attempt_at=START,
                     expires_at=START + timedelta(days=5))]
        return messages.insert_deliveries(session, rows)[0]

    return db, db.run_sync(work)


def measure(size: int, budget: float, body_size: int = 4000, shape: str = "reply") -> dict:
    from relay.outbound.jobs import mask_context
    from relay.outbound.rewrite import build_masked_copy
    from relay.store.tables import Delivery, Message

    with tempfile.TemporaryDirectory() as tmp:
        db, delivery_id = setup(f"sqlite:///{tmp}/bench.db", size, body_size, shape)
        contexts, builds = [], []

        def one(session):
            delivery = session.get(Delivery, delivery_id)
            message = session.get(Message, delivery.message_id)
            started = time.thread_time()  # CPU time: the machine is shared
            ctx = mask_context(session, message, delivery, DOMAIN)
            built = time.thread_time()
            copy = build_masked_copy(message.raw, ctx)
            done = time.thread_time()
            contexts.append(built - started)
            builds.append(done - built)
            return copy

        first = db.read_sync(one)
        deadline = time.perf_counter() + budget
        while len(builds) < 4 or (time.perf_counter() < deadline and len(builds) < 500):
            db.read_sync(one)
        db.close()
    copy_body = first.split(b"\r\n\r\n", 1)[1]  # the recipient is in To, by design
    assert b"person0@" not in copy_body and b"person1@" not in copy_body
    steady = [c + b for c, b in zip(contexts[1:], builds[1:])]
    return {
        "participants": size,
        "body_bytes": len(first),
        "copies": len(steady),
        "first_ms": (contexts[0] + builds[0]) * 1000,
        "context_ms": statistics.median(contexts[1:]) * 1000,
        "build_ms": statistics.median(builds[1:]) * 1000,
        "total_ms": statistics.median(steady) * 1000,
        "best_ms": min(steady) * 1000,  # the least disturbed copy: shared machines are noisy
    }


def run(sizes: list[int], budget: float, body_sizes: list[int], shape: str) -> list[dict]:
    return [measure(size, budget, body_size, shape) for body_size in body_sizes for size in sizes]


def baseline(tree: Path, sizes: list[int], budget: float, body_sizes: list[int], shape: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    args = [sys.executable, __file__, "--code", str(tree), "--sizes", ",".join(map(str, sizes)),
            "--body-sizes", ",".join(map(str, body_sizes)), "--shape", shape, "--budget", str(budget), "--raw"]
    out = subprocess.run(args, env=env, check=True, capture_output=True, text=True, cwd=tree)
    return json.loads(out.stdout)


def table(current: list[dict], base: list[dict] | None) -> str:
    head = "copy bytes  participants  best ms  median ms (context + build)  first ms"
    lines = [head + ("   before: best ms  median ms   after/before (best, median)" if base else "")]
    for i, row in enumerate(current):
        line = (f"{row['body_bytes']:>10}  {row['participants']:>12}  {row['best_ms']:>7.2f}  {row['total_ms']:>9.2f} "
                f"({row['context_ms']:.2f} + {row['build_ms']:.2f})  {row['first_ms']:>8.2f}")
        if base:
            b = base[i]
            line += (f"   {b['best_ms']:>15.2f}  {b['total_ms']:>9.2f}"
                     f"   {row['best_ms'] / b['best_ms']:>7.3f}, {row['total_ms'] / b['total_ms']:.3f}")
        lines.append(line)
    per_body = len({row["participants"] for row in current})
    for first in range(0, len(current), per_body):
        rows = current[first : first + per_body]
        growth = rows[-1]["best_ms"] / rows[0]["best_ms"]
        line = (f"{rows[0]['body_bytes']:,}-byte copy: growth from {rows[0]['participants']} to "
                f"{rows[-1]['participants']} participants: {growth:.2f}x")
        if base:
            before = base[first : first + per_body]
            line += f" (before: {before[-1]['best_ms'] / before[0]['best_ms']:.2f}x)"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,50,200,1000")
    parser.add_argument("--body-sizes", default="4000,65536", help="bytes of message text, one run each")
    parser.add_argument("--shape", choices=("reply", "load"), default="reply", help="what the text is like")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of repeats per size")
    parser.add_argument("--baseline", type=Path, help="a tree of another version to compare against")
    parser.add_argument("--code", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(args.code or ROOT))
    sizes = [int(s) for s in args.sizes.split(",")]
    body_sizes = [int(s) for s in args.body_sizes.split(",")]
    current = run(sizes, args.budget, body_sizes, args.shape)
    if args.raw:
        print(json.dumps(current))
        return
    base = baseline(args.baseline.resolve(), sizes, args.budget, body_sizes, args.shape) if args.baseline else None
    print(table(current, base))
    if args.json:
        args.json.write_text(json.dumps({"after": current, "before": base}, indent=2))


if __name__ == "__main__":
    main()
