"""Hostile clients over real sockets: raw bytes smtplib would never send, each with its exact reply.

Every case says what the client is told, what the store keeps and what is
delivered. The relay reads DATA strictly (only CRLF ends a line), so no
arrangement of bare CR, LF and dots can make two messages out of one.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlmodel import select

from relay import service
from relay.store.tables import Delivery, Message
from tests.fixtures import harness
from tests.fixtures.harness import World

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
STAFF = "coordinator@program.example.org"
OUTSIDER = "someone@elsewhere.example"


class RawClient:
    """An SMTP client that sends exactly the bytes it is given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> tuple["RawClient", str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        return client, await client.reply()

    async def reply(self) -> str:
        """One (possibly multi-line) reply as 'CODE text', or '' when the server closed."""
        lines = []
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 10)
            if not line:
                return ""
            lines.append(line.decode().rstrip("\r\n"))
            if line[3:4] != b"-":
                return "\n".join(lines)

    async def send(self, data: bytes) -> str:
        self.writer.write(data)
        await self.writer.drain()
        return await self.reply()

    async def command(self, line: str | bytes) -> str:
        return await self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")

    async def envelope(self, sender: str, *rcpts: str) -> None:
        assert (await self.command("EHLO client.example")).startswith("250")
        assert (await self.command(f"MAIL FROM:<{sender}>")).startswith("250")
        for rcpt in rcpts:
            assert (await self.command(f"RCPT TO:<{rcpt}>")).startswith("250"), rcpt
        assert (await self.command("DATA")).startswith("354")

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def message(to: str, subject: str = "hello", body: bytes = b"Hi there.\r\n", sender: str = MENTEE, extra: bytes = b"") -> bytes:
    return (
        f"From: Jo <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 02 Nov 2026 15:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@school.example.net>\r\n"
    ).encode() + extra + b"\r\n" + body


def stored(world) -> list[Message]:
    return world.relay.db.run_sync(lambda s: list(s.exec(select(Message).order_by(Message.id))))


def deliveries(world) -> list[Delivery]:
    return world.relay.db.run_sync(lambda s: list(s.exec(select(Delivery).order_by(Delivery.id))))


def code(reply: str) -> str:
    """'550 5.5.2' from a reply line."""
    return " ".join(reply.split()[:2])


@pytest.fixture
def people(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    return mentor, mentee


async def send_raw(world, data: bytes, rcpt: str, sender: str = MENTEE) -> str:
    client, _ = await RawClient.connect(world.port)
    try:
        await client.envelope(sender, rcpt)
        return await client.send(data)
    finally:
        await client.close()


# --- the data: line endings, NUL, smuggling -----------------------------------------


async def test_a_clean_message_over_raw_sockets_is_stored_and_delivered(world, people):
    mentor_alias, _ = people
    reply = await send_raw(world, message(mentor_alias) + b".\r\n", mentor_alias)
    assert code(reply) == "250 2.0.0"
    await world.flush()
    assert len(world.sink.received) == 1


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"one line\nand a bare LF\r\n", "550 5.5.2"),
        (b"one line\rand a bare CR\r\n", "550 5.5.2"),
        (b"a NUL \x00 in the text\r\n", "550 5.5.2"),
        (b"a bare LF just before the end\n\r\n", "550 5.5.2"),
    ],
    ids=["bare-lf", "bare-cr", "nul", "trailing-lf"],
)
async def test_bare_line_endings_and_nul_in_data_are_refused(world, people, body, expected):
    mentor_alias, _ = people
    reply = await send_raw(world, message(mentor_alias, body=body) + b".\r\n", mentor_alias)
    assert code(reply) == expected
    assert "CRLF" in reply or "NUL" in reply
    assert stored(world) == []


@pytest.mark.parametrize(
    "terminator",
    [b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r\n", b"\r\n.\r", b"\r.\r", b"\n.\r"],
    ids=["lf-dot-crlf", "crlf-dot-lf", "lf-dot-lf", "cr-dot-crlf", "crlf-dot-cr", "cr-dot-cr", "lf-dot-cr"],
)
async def test_smuggling_never_makes_a_second_message(world, people, terminator):
    mentor_alias, _ = people
    smuggled = (
        f"MAIL FROM:<{MENTEE}>\r\nRCPT TO:<{mentor_alias}>\r\nDATA\r\n".encode()
        + message(mentor_alias, subject="smuggled")
    )
    data = message(mentor_alias, subject="cover") + b"text" + terminator + smuggled + b".\r\n"
    client, _ = await RawClient.connect(world.port)
    try:
        await client.envelope(MENTEE, mentor_alias)
        first = await client.send(data)
        after = await client.command("NOOP")  # the session is still in step: one reply per command
    finally:
        await client.close()
    assert code(first) == "550 5.5.2"
    assert after.startswith("250")
    assert stored(world) == []
    await world.flush()
    assert world.sink.received == []


async def test_nul_in_mail_and_rcpt_arguments_is_refused(world, people):
    mentor_alias, _ = people
    client, _ = await RawClient.connect(world.port)
    try:
        await client.command("EHLO client.example")
        assert code(await client.command(f"MAIL FROM:<{MENTEE}\x00>".encode())) == "501 5.5.2"
        assert code(await client.command(f"MAIL FROM:<{MENTEE}>")) == "250 2.1.0"
        assert code(await client.command(f"RCPT TO:<{mentor_alias}>\x00".encode())) == "501 5.5.2"
    finally:
        await client.close()


# --- limits --------------------------------------------------------------------------


@pytest.fixture
async def tight(tmp_path, sqlite_url, sink, clock):
    """A relay with small limits, so each can be reached quickly."""
    settings = harness.test_settings(
        tmp_path, sqlite_url, sink.port, max_message_size=20_000, max_recipients=2, messages_per_hour=3, max_mime_depth=4
    )
    relay = service.build(settings, clock=clock)
    await service.start(relay, listen=True, work=False)
    world = World(relay, sink, clock)
    world.mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    yield world
    await service.stop(relay)


async def test_size_is_advertised_and_enforced_before_and_after_the_data(tight):
    client, _ = await RawClient.connect(tight.port)
    try:
        ehlo = await client.command("EHLO client.example")
        assert "250-SIZE 20000" in ehlo
        assert code(await client.command(f"MAIL FROM:<{MENTEE}> SIZE=50000")) == "552 5.3.4"
        assert code(await client.command(f"MAIL FROM:<{MENTEE}> SIZE=1000")) == "250 2.1.0"
        await client.command(f"RCPT TO:<{tight.mentor}>")
        await client.command("DATA")
        reply = await client.send(message(tight.mentor, body=b"x" * 70 + b"\r\n") * 1 + (b"y" * 70 + b"\r\n") * 400 + b".\r\n")
    finally:
        await client.close()
    assert code(reply) == "552 5.3.4" and "20000 bytes" in reply
    assert stored(tight) == []


@pytest.mark.parametrize(
    "extra, body, expected, words",
    [
        ((b"X-Filler: " + b"a" * 900 + b"\r\n") * 80, b"hi\r\n", "552 5.3.4", "header section"),
        (b"", b"a" * 70000 + b"\r\n", "500 5.5.2", "longer than 65536"),
    ],
    ids=["header-over-64k", "line-over-65536"],
)
async def test_header_and_line_limits(world, people, extra, body, expected, words):
    mentor_alias, _ = people
    reply = await send_raw(world, message(mentor_alias, body=body, extra=extra) + b".\r\n", mentor_alias)
    assert code(reply) == expected and words in reply
    assert stored(world) == []


async def test_recipients_past_the_limit_get_452(tight):
    client, _ = await RawClient.connect(tight.port)
    try:
        await client.command("EHLO client.example")
        await client.command(f"MAIL FROM:<{MENTEE}>")
        assert code(await client.command(f"RCPT TO:<{tight.mentor}>")) == "250 2.1.5"
        # The same alias again counts: the limit is on RCPT commands accepted.
        assert code(await client.command(f"RCPT TO:<{tight.mentor}>")) == "250 2.1.5"
        assert code(await client.command(f"RCPT TO:<{tight.mentor}>")) == "452 4.5.3"
    finally:
        await client.close()


def nested(depth: int) -> bytes:
    head = b""
    tail = b""
    for level in range(depth):
        head += f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n'.encode()
        tail = f"\r\n--b{level}--\r\n".encode() + tail
    return head + b"Content-Type: text/plain\r\n\r\ndeep\r\n" + tail


async def test_mime_nesting_past_the_limit_is_refused(tight):
    ok = message(tight.mentor, subject="shallow", extra=b"MIME-Version: 1.0\r\n" + nested(3).split(b"\r\n\r\n", 1)[0] + b"\r\n",
                 body=nested(3).split(b"\r\n\r\n", 1)[1])
    deep = message(tight.mentor, subject="deep", extra=b"MIME-Version: 1.0\r\n" + nested(8).split(b"\r\n\r\n", 1)[0] + b"\r\n",
                   body=nested(8).split(b"\r\n\r\n", 1)[1])
    assert code(await send_raw(tight, ok + b".\r\n", tight.mentor)) == "250 2.0.0"
    reply = await send_raw(tight, deep + b".\r\n", tight.mentor)
    assert code(reply) == "554 5.6.0" and "nested deeper than 4" in reply
    assert [m.subject for m in stored(tight)] == ["shallow"]


async def test_messages_per_participant_per_hour(tight):
    for n in range(3):
        assert (await tight.send(MENTEE, tight.mentor, f"n{n}", "hi")).code == 250
    refused = await tight.send(MENTEE, tight.mentor, "one too many", "hi")
    assert (refused.code, refused.text.split()[0]) == (450, "4.7.1")
    assert "3 messages in the last hour" in refused.text
    tight.clock.advance(minutes=61)
    assert (await tight.send(MENTEE, tight.mentor, "later", "hi")).code == 250
    assert len(stored(tight)) == 4


@pytest.mark.parametrize(
    "line, expected",
    [
        ("MAIL FROM:<" + "a" * 600 + "@example.org>", "500 5.5.2"),
        ("FROBNICATE now", "500 5.5.1"),
        ("", "500 5.5.2"),
        ("DATA", "503 5.5.1"),
        ("RCPT TO:<x@mentor.test>", "503 5.5.1"),
    ],
    ids=["command-too-long", "unknown-command", "empty-line", "data-first", "rcpt-first"],
)
async def test_command_errors_use_the_relay_wording(world, line, expected):
    client, _ = await RawClient.connect(world.port)
    try:
        await client.command("EHLO client.example")
        reply = await client.command(line)
    finally:
        await client.close()
    assert code(reply) == expected
    assert "Error" not in reply


# --- headers that could mean two things --------------------------------------------


@pytest.mark.parametrize(
    "extra, expected, words",
    [
        (b"Subject: a second subject\r\n", "550 5.6.0", "duplicate Subject header"),
        (b"To: someone@else.example\r\n", "550 5.6.0", "duplicate To header"),
        (f"From: {MENTEE}\r\n".encode(), "550 5.6.0", "duplicate From header"),
        (b"X-Note: =?utf-8?q?line=0D=0ABcc=3A_x=40evil=2Eexample?=\r\n", "550 5.6.0", "decodes to CR, LF or NUL"),
        (b"Comments: =?utf-8?b?bnVsAGhlcmU=?=\r\n", "550 5.6.0", "decodes to CR, LF or NUL"),
    ],
    ids=["two-subjects", "two-to", "two-from", "encoded-crlf", "encoded-nul"],
)
async def test_ambiguous_headers_are_refused(world, people, extra, expected, words):
    mentor_alias, _ = people
    reply = await send_raw(world, message(mentor_alias, extra=extra) + b".\r\n", mentor_alias)
    assert code(reply) == expected and words in reply
    assert stored(world) == []


async def test_a_from_with_two_mailboxes_is_refused(world, people):
    mentor_alias, _ = people
    data = message(mentor_alias).replace(f"From: Jo <{MENTEE}>".encode(), f"From: Jo <{MENTEE}>, Sam <{MENTOR}>".encode())
    reply = await send_raw(world, data + b".\r\n", mentor_alias)
    assert code(reply) in ("550 5.6.0", "550 5.7.1")
    assert stored(world) == []


# --- content the relay cannot read is stored and held, never a crash ---------------


MALFORMED = {
    "no-boundary": (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n", b"--missing\r\nContent-Type: text/plain\r\n\r\nhi\r\n--missing--\r\n"),
    "unknown-charset": (b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=x-klingon\r\n", b"qapla\r\n"),
    "bad-base64": (b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n", b"!!!not base64***\r\n"),
    "smime": (b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n", b"MIAGCSqGSIb3DQEHA6CAMIACAQAxggFA\r\n"),
    "pgp-inline": (b"", b"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA0l2dGVzdA==\r\n-----END PGP MESSAGE-----\r\n"),
    "multipart-encrypted": (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"\r\n',
        b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n"
        b"-----BEGIN PGP MESSAGE-----\r\nhQEMA0l2\r\n-----END PGP MESSAGE-----\r\n--e--\r\n",
    ),
    "pgp-key": (b"", b"my key:\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nmQENBF\r\n-----END PGP PUBLIC KEY BLOCK-----\r\n"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_unreadable_encrypted_or_signed_content_is_stored_and_held(world, people, case):
    mentor_alias, _ = people
    extra, body = MALFORMED[case]
    reply = await send_raw(world, message(mentor_alias, subject=case, extra=extra, body=body) + b".\r\n", mentor_alias)
    assert code(reply) == "250 2.0.0" and "moderator" in reply
    (row,) = stored(world)
    assert row.status == "held" and row.raw.startswith(b"From: Jo")
    await world.flush()
    assert [d for d in deliveries(world) if d.kind == "forward" and d.status == "delivered"] == []
    assert all(r.rcpt_tos != [MENTOR] for r in world.sink.received)


# --- loops ---------------------------------------------------------------------------


async def test_loops_are_refused_at_data(world, people):
    mentor_alias, _ = people
    hops = b"".join(f"Received: from hop{i}.example by hop{i + 1}.example; Mon, 2 Nov 2026 14:00:00 +0000\r\n".encode() for i in range(51))
    looped = await send_raw(world, hops + message(mentor_alias, subject="hops") + b".\r\n", mentor_alias)
    marked = await send_raw(world, message(mentor_alias, subject="marked", extra=f"X-Mentor-Relay-Loop: {world.domain}\r\n".encode()) + b".\r\n", mentor_alias)
    assert code(looped) == "554 5.4.6" and code(marked) == "554 5.4.6"
    # Quoted inside the body (a forwarded copy, a DSN) the marker is text, not a hop.
    quoted = await send_raw(world, message(mentor_alias, subject="quoted", body=f"X-Mentor-Relay-Loop: {world.domain}\r\n".encode()) + b".\r\n", mentor_alias)
    assert code(quoted) == "250 2.0.0"
    assert [m.subject for m in stored(world)] == ["quoted"]


# --- not an open relay, not an oracle -----------------------------------------------


@pytest.mark.parametrize(
    "rcpt, expected",
    [
        ("someone@gmail.example", "554 5.7.1"),
        ("@other.example:someone@mentor.test", "501 5.1.3"),
        ("someone%gmail.example@mentor.test", "501 5.1.3"),
        ('"quoted local"@mentor.test', "501 5.1.3"),
        ("gmail.example!someone@mentor.test", "501 5.1.3"),
    ],
    ids=["foreign", "source-route", "percent-hack", "quoted-local", "bang-path"],
)
async def test_only_plain_relay_addresses_are_accepted(world, people, rcpt, expected):
    client, _ = await RawClient.connect(world.port)
    try:
        await client.command("EHLO client.example")
        await client.command(f"MAIL FROM:<{MENTEE}>")
        reply = await client.command(f"RCPT TO:<{rcpt}>")
    finally:
        await client.close()
    assert code(reply) == expected


async def test_guessing_recipients_is_cut_off_with_421(world, people):
    client, _ = await RawClient.connect(world.port)
    replies = []
    try:
        await client.command("EHLO client.example")
        await client.command(f"MAIL FROM:<{OUTSIDER}>")
        for i in range(12):
            replies.append(await client.command(f"RCPT TO:<guess-{i}@{world.domain}>"))
            if replies[-1].startswith("421"):
                break
        closed = await client.reply()
    finally:
        await client.close()
    assert [code(r) for r in replies[:10]] == ["550 5.7.1"] * 10
    assert code(replies[10]) == "421 4.7.0"
    assert closed == ""  # the relay hung up
    again, greeting = await RawClient.connect(world.port)
    try:
        await again.command("EHLO client.example")
        await again.command(f"MAIL FROM:<{OUTSIDER}>")
        assert code(await again.command(f"RCPT TO:<postmaster@{world.domain}>")) == "421 4.7.0"
    finally:
        await again.close()


async def test_connections_per_address_are_limited(world):
    clients = []
    try:
        for _ in range(20):
            client, greeting = await RawClient.connect(world.port)
            assert greeting.startswith("220")
            clients.append(client)
        extra, greeting = await RawClient.connect(world.port)
        assert code(greeting) == "421 4.7.0"
        assert await extra.reply() == ""
        await extra.close()
        await clients.pop().close()
        await asyncio.sleep(0.05)
        latest, greeting = await RawClient.connect(world.port)
        assert greeting.startswith("220")
        clients.append(latest)
    finally:
        for client in clients:
            await client.close()


# --- postmaster -----------------------------------------------------------------------


@pytest.mark.parametrize("rcpt", ["postmaster@mentor.test", "postmaster", "Postmaster@MENTOR.TEST"])
async def test_postmaster_takes_mail_from_anyone_and_tells_the_coordinators(world, people, rcpt):
    world.enrol(STAFF, "coordinator", "Coordinator Lee")
    data = message(f"postmaster@{world.domain}", subject="abuse report", sender=OUTSIDER,
                   body=b"One of your addresses sent us spam.\r\n")
    reply = await send_raw(world, data + b".\r\n", rcpt, sender=OUTSIDER)
    assert code(reply) == "250 2.0.0" and "staff" in reply
    assert STAFF not in reply
    (row,) = stored(world)
    assert row.kind == "postmaster" and row.envelope_from == OUTSIDER and row.raw == data
    await world.flush()
    (notice,) = world.sink.received
    assert notice.rcpt_tos == [STAFF]
    text = notice.message.get_payload(decode=True).decode()
    assert "abuse report" in notice.message["Subject"]
    assert OUTSIDER in text and "One of your addresses sent us spam." in text and f"M{row.id}" in text
    assert notice.message["Auto-Submitted"] == "auto-generated"
