"""Mangled mail through the real intake: a clear answer every time, nothing lost, no real address out.

Real client messages (tests/fixtures/mail) are rewritten to come from an
enrolled mentee, sprinkled with both participants' real addresses, and then
mangled by a seeded random generator: cut short, bytes flipped, headers
doubled, charsets and boundaries broken. Each one is sent over SMTP. The
relay must answer with a proper code (never aiosmtpd's "500 Error"), store
every message it said 250 to, and let no real address out in any copy.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from sqlmodel import select

from relay.store import queue
from relay.store.tables import Message

MAIL = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
SEEDS = range(3)


def from_mentee(raw: bytes, alias: str) -> bytes:
    head, sep, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw else raw.partition(b"\r\n\r\n")
    lines = [line for line in head.splitlines() if not re.match(rb"(?i)(from|to|cc|bcc|sender|reply-to):", line)]
    lines = [b"From: Jo Kim <" + MENTEE.encode() + b">", b"To: Sam <" + alias.encode() + b">"] + lines
    body = body + b"\r\nReach " + MENTOR.upper().encode() + b" or mailto:" + MENTEE.replace("@", "%40").encode() + b"\r\n"
    return b"\r\n".join(lines) + b"\r\n\r\n" + body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def mangle(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        if choice == 0 and len(data) > 200:  # cut short
            del data[rng.randrange(len(data) // 2, len(data)):]
        elif choice == 1:  # flip bytes in the body (never CR/LF: bare line endings are a separate test)
            for _ in range(rng.randint(1, 20)):
                i = rng.randrange(len(data))
                value = rng.randrange(1, 256)
                if data[i] not in (10, 13) and value not in (10, 13):
                    data[i] = value
        elif choice == 2:  # an address where a boundary or charset was
            data = bytearray(re.sub(rb'boundary="?[^";\r\n]+"?', b"boundary=" + MENTOR.encode(), bytes(data)))
        elif choice == 3:
            data = bytearray(re.sub(rb"charset=\"?[\w-]+\"?", b'charset="x-unknown-7"', bytes(data)))
        elif choice == 4:  # an encoded word carrying the real address
            data[0:0] = b"X-Note: =?utf-8?b?" + __import__("base64").b64encode(MENTEE.encode()) + b"?=\r\n"
        else:  # a nested part with no end
            data += b"\r\n--" + bytes(rng.randrange(97, 123) for _ in range(12)) + b"\r\nContent-Type: multipart/mixed\r\n\r\n"
    return bytes(data).replace(b"\x00", b"")  # NUL has its own test


@pytest.mark.parametrize("seed", SEEDS)
async def test_mangled_client_mail_gets_a_clear_answer_and_leaks_nothing(world, seed):
    alias = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    rng = random.Random(seed)
    accepted = 0
    for path in sorted(MAIL.glob("*.eml")):
        raw = mangle(from_mentee(path.read_bytes(), alias), rng)
        reply = await world.send(MENTEE, alias, rcpts=[alias], raw=raw)
        assert reply.code in (250, 550, 552, 554), (path.name, reply)
        assert re.match(r"\d\.\d\.\d+ ", reply.text) and "Error" not in reply.text, (path.name, reply)
        accepted += reply.code == 250
    await world.flush()
    stored = world.relay.db.run_sync(lambda s: list(s.exec(select(Message))))
    assert len(stored) == accepted  # every 250 is a stored message
    now = world.clock.now()

    def approve_all(session):  # what a moderator's "approve" does: the masked copies must hold up too
        for message in stored:
            queue.release_held(session, message.id, now)

    world.relay.db.run_sync(approve_all)
    await world.flush()
    assert sum(copy.rcpt_tos == [MENTOR] for copy in world.sink.received) == accepted
    for copy in world.sink.received:  # copies to the mentor, and notes to the mentee about held mail
        (reader,) = copy.rcpt_tos
        other = MENTEE if reader == MENTOR else MENTOR
        text = copy.data.decode("ascii", "replace").lower()
        assert other not in text and other.split("@")[1] not in text  # also: no mention of the domain
        # The reader's own address appears once: in the To header of their own copy.
        assert text.count(reader) == 1 and reader in str(copy.message["To"]).lower()
