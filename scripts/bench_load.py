"""The benchmark's one load generator: concurrent plain SMTP sessions, timing each end-of-DATA reply.

Every target is measured with this client, in its own process so it never
shares an event loop with a server or the sink. It speaks SMTP by hand over
asyncio streams (no client library, no PIPELINING, one recipient per
message), so its own cost per message is small and the same for every server.

Latency is the time from writing the final "." of DATA to reading the reply;
the body is written (and drained into the socket) just before, so for large
messages part of the server's reading of the body is inside the figure, as a
sending MTA would see it.

    python scripts/bench_load.py --port 2525 --rcpt someone@bench.test --messages 2000 --size 4096
prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import time

WORDS = (
    "the of and to a in is it you that he was for on are with as his they be at one have this from or had by "
    "word but what some we can out other were all there when up use your how said an each she which do their "
    "time if will way about many then them write would like so these her long make thing see him two has look "
    "more day could go come did number sound most people over know water than call first who may down side "
    "been now find any new work part take get place made live where after back little only round man year came "
    "show every good me give our under name very through just form sentence great think say help low line "
    "school reading maths science essay homework project interview college apply weekend practice question "
    "answer idea plan week month teacher friend family goal progress story music football library chapter"
).split()


def prose(size: int, seed: int = 7) -> str:
    """Deterministic English-like text of about ``size`` bytes in lines under 78 characters."""
    rng = random.Random(seed)
    lines, line, total = [], [], 0
    while total < size:
        sentence = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
        sentence[0] = sentence[0].capitalize()
        for word in sentence[:-1] + [sentence[-1] + rng.choice(".,.?.!")]:
            if sum(len(w) + 1 for w in line) + len(word) > 72:
                lines.append(" ".join(line))
                total += len(lines[-1]) + 2
                line = []
            line.append(word)
    lines.append(" ".join(line))
    return "\r\n".join(lines) + "\r\n"


class Messages:
    """The messages of one run: the same body for all, a numbered header and marker for each."""

    def __init__(self, sender: str, sender_name: str, rcpt: str, size: int, marker: str = "bench-msg-") -> None:
        self.sender, self.sender_name, self.rcpt, self.marker = sender, sender_name, rcpt, marker
        self.body = prose(max(size - 300, 100)).encode()

    def data(self, n: int) -> bytes:
        head = (
            f'From: "{self.sender_name}" <{self.sender}>\r\nTo: <{self.rcpt}>\r\nSubject: bench {n}\r\n'
            f"Message-ID: <bench-{n}-{time.time_ns()}@load.bench.test>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=us-ascii\r\n\r\n{self.marker}{n}\r\n"
        )
        return head.encode() + self.body


async def reply(reader: asyncio.StreamReader) -> int:
    """Read one (possibly multi-line) reply and return its code."""
    while True:
        line = await reader.readline()
        if len(line) < 4:
            raise ConnectionError(f"connection closed or bad reply {line!r}")
        if line[3:4] != b"-":
            return int(line[:3])


async def command(reader, writer, line: bytes) -> int:
    writer.write(line + b"\r\n")
    return await reply(reader)


class Run:
    def __init__(self, args) -> None:
        self.args = args
        self.messages = Messages(args.sender, args.sender_name, args.rcpt, args.size, args.marker)
        self.next = args.first
        self.last = args.first + args.messages
        self.deadline = time.monotonic() + args.max_seconds
        self.latencies: list[float] = []
        self.refused: dict[str, int] = {}
        self.errors: list[str] = []

    def take(self) -> int | None:
        if self.next >= self.last or time.monotonic() > self.deadline:
            return None
        self.next += 1
        return self.next - 1

    def refuse(self, stage: str, code: int) -> None:
        key = f"{stage} {code}"
        self.refused[key] = self.refused.get(key, 0) + 1

    async def session(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.args.host, self.args.port, limit=1 << 20)
        except OSError as error:
            self.errors.append(f"connect: {error}")
            return
        try:
            await self.converse(reader, writer)
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as error:
            self.errors.append(f"session: {error}")
        finally:
            writer.close()

    async def converse(self, reader, writer) -> None:
        if (code := await reply(reader)) != 220:
            return self.refuse("greeting", code)
        if (code := await command(reader, writer, b"EHLO load.bench.test")) != 250:
            return self.refuse("ehlo", code)
        mail = f"MAIL FROM:<{self.args.sender}>".encode()
        rcpt = f"RCPT TO:<{self.args.rcpt}>".encode()
        while (n := self.take()) is not None:
            if (code := await command(reader, writer, mail)) != 250:
                self.refuse("mail", code)
            elif (code := await command(reader, writer, rcpt)) not in (250, 251):
                self.refuse("rcpt", code)
            elif (code := await command(reader, writer, b"DATA")) != 354:
                self.refuse("data", code)
            else:
                await self.send_data(reader, writer, n)
                continue
            await command(reader, writer, b"RSET")
        await command(reader, writer, b"QUIT")

    async def send_data(self, reader, writer, n: int) -> None:
        writer.write(self.messages.data(n))
        await writer.drain()
        started = time.monotonic()
        writer.write(b".\r\n")
        code = await reply(reader)
        if code == 250:
            self.latencies.append(time.monotonic() - started)
        else:
            self.refuse("end-of-data", code)


def summary(run: Run, started: float, ended: float) -> dict:
    lat = sorted(run.latencies)
    count = len(lat)

    def ms(value: float) -> float:
        return round(value * 1000, 2)

    return {
        "accepted": count,
        "refused": run.refused,
        "errors": run.errors[:5],
        "seconds": round(ended - started, 3),
        "per_second": round(count / (ended - started), 1) if count else 0.0,
        "median_ms": ms(statistics.median(lat)) if lat else None,
        "p99_ms": ms(lat[max(0, math.ceil(count * 0.99) - 1)]) if lat else None,
        "max_ms": ms(lat[-1]) if lat else None,
        "message_bytes": len(run.messages.data(0)),
        "started": started,
        "ended": ended,
    }


async def main(args) -> dict:
    run = Run(args)
    started = time.monotonic()
    await asyncio.gather(*(run.session() for _ in range(args.sessions)))
    return summary(run, started, time.monotonic())


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sender", default="mentee@bench.example")
    parser.add_argument("--sender-name", default="Sam Mentee")
    parser.add_argument("--rcpt", required=True)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--first", type=int, default=0, help="number of the first message (markers stay unique)")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--marker", default="bench-msg-", help="text in every body, by which the sink counts")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="start no new message after this")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse()))), flush=True)
