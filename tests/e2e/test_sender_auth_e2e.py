"""Spoofed participants over real SMTP, with a DNS that serves real-looking DKIM, SPF and DMARC records.

The relay runs with RELAY_SENDER_AUTH=dmarc and an injected in-memory DNS.
The participant's domain signs with DKIM and publishes an SPF record that
does not cover the loopback client, so only a valid aligned signature
makes a message believable: exactly the spoofer's position.
"""

from __future__ import annotations

import dkim
import pytest
from sqlmodel import select

from relay import service
from relay.outbound.dkim import Signer, generate_key, public_txt_value
from relay.store.tables import Message, Participant
from tests.fixtures import harness
from tests.fixtures.dns import FakeDns
from tests.fixtures.harness import World

MENTEE = "rosa@school.example"
MENTOR = "sam@mentors.example"


@pytest.fixture(scope="module")
def keys():
    return {"school": generate_key(2048), "attacker": generate_key(2048)}


def fake_dns(keys) -> FakeDns:
    return (
        FakeDns()
        .add("s1._domainkey.school.example", "TXT", public_txt_value(keys["school"]))
        .add("school.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
        .add("_dmarc.school.example", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@school.example")
        .add("s1._domainkey.attacker.example", "TXT", public_txt_value(keys["attacker"]))
        .add("attacker.example", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    )


async def make_world(tmp_path, sqlite_url, sink, clock, dns, policy_text: str = ""):
    overrides = dict(sender_auth="dmarc")
    if policy_text:
        policy = tmp_path / "policy.toml"
        policy.write_text(policy_text)
        overrides["policy"] = policy
    relay = service.build(harness.test_settings(tmp_path, sqlite_url, sink.port, **overrides), clock=clock, dns=dns)
    await service.start(relay, listen=True, work=False)
    world = World(relay, sink, clock)
    world.enrol(MENTOR, "mentor", "Sam")
    world.mentee_alias = world.enrol(MENTEE, "mentee", "Rosa")
    return world


@pytest.fixture
async def world_dns(tmp_path, sqlite_url, sink, clock, keys):
    dns = fake_dns(keys)
    world = await make_world(tmp_path, sqlite_url, sink, clock, dns)
    world.dns = dns
    world.pair(MENTOR, MENTEE)
    yield world
    await service.stop(world.relay)


def raw_message(world, to: str, subject: str = "my essay") -> bytes:
    return world.message(MENTEE, to, subject, "Here is the draft you asked for.\n").as_bytes().replace(b"\n", b"\r\n")


def sign(keys, key: str, domain: str, raw: bytes, **options) -> bytes:
    if not options:
        return Signer(keys[key], "s1", domain).sign(raw)
    return dkim.sign(raw, b"s1", domain.encode(), keys[key], include_headers=[b"from", b"to", b"subject", b"date"], **options) + raw


def mentor_alias(world) -> str:
    row = world.relay.db.run_sync(lambda s: s.exec(select(Participant).where(Participant.email == MENTOR)).one())
    return f"{row.alias}@{world.domain}"


def stored(world):
    return world.relay.db.run_sync(lambda s: list(s.exec(select(Message))))


async def test_the_real_participant_signed_by_their_domain_passes(world_dns, keys):
    to = mentor_alias(world_dns)
    reply = await world_dns.send(MENTEE, to, raw=sign(keys, "school", "school.example", raw_message(world_dns, to)))
    assert reply.code == 250, reply
    await world_dns.flush()
    assert len(world_dns.sink.received) == 1


def spoofs(keys, world, to):
    raw = raw_message(world, to)
    signed = sign(keys, "school", "school.example", raw)
    return {
        # Nothing signed, and SPF for school.example does not list the client.
        "unsigned": (raw, 550, "5.7.23"),  # only SPF spoke: RFC 7372 says 5.7.23
        # A valid signature, but by the attacker's own domain: not aligned with From.
        "attacker-signature": (sign(keys, "attacker", "attacker.example", raw), 550, "5.7.26"),
        # A real school signature over other content: the body hash fails.
        "altered-body": (signed.replace(b"Here is the draft", b"Here is my number"), 550, "5.7.26"),
        # RFC 8301: rsa-sha1 is not accepted even though dkimpy verifies it.
        "rsa-sha1": (sign(keys, "school", "school.example", raw, signature_algorithm=b"rsa-sha1"), 550, "5.7.26"),
        # l= signs only a prefix; what follows is the spoofer's.
        "body-length": (sign(keys, "school", "school.example", raw, length=True) + b"Call me on 555 0100.\r\n", 550, "5.7.26"),
        # RFC 6376 8.15: an unsigned second Subject above the signed one.
        "extra-subject": (b"Subject: meet me alone\r\n" + signed, 550, "5.6.0"),
        "extra-from": (f"From: Rosa <{MENTEE}>\r\n".encode() + signed, 550, "5.6.0"),
    }


@pytest.mark.parametrize(
    "case", ["unsigned", "attacker-signature", "altered-body", "rsa-sha1", "body-length", "extra-subject", "extra-from"]
)
async def test_spoofed_participant_mail_is_refused(world_dns, keys, case):
    to = mentor_alias(world_dns)
    raw, code, enhanced = spoofs(keys, world_dns, to)[case]
    reply = await world_dns.send(MENTEE, to, raw=raw)
    assert (reply.code, reply.text.split()[0]) == (code, enhanced), reply
    assert stored(world_dns) == []
    await world_dns.flush()
    assert world_dns.sink.received == []


async def test_a_dns_timeout_answers_451_and_stores_nothing(world_dns, keys):
    to = mentor_alias(world_dns)
    world_dns.dns.time_out("s1._domainkey.school.example").time_out("school.example")
    reply = await world_dns.send(MENTEE, to, raw=sign(keys, "school", "school.example", raw_message(world_dns, to)))
    assert (reply.code, reply.text.split()[0]) == (451, "4.4.3"), reply
    assert stored(world_dns) == []


async def test_hold_on_auth_failure_keeps_the_spoof_for_a_moderator(tmp_path, sqlite_url, sink, clock, keys):
    world = await make_world(tmp_path, sqlite_url, sink, clock, fake_dns(keys), "[default]\nhold_on_auth_failure = true\n")
    try:
        world.pair(MENTOR, MENTEE)
        to = mentor_alias(world)
        reply = await world.send(MENTEE, to, raw=raw_message(world, to))
        assert reply.code == 250 and "moderator" in reply.text
        (row,) = stored(world)
        assert row.status == "held"
        await world.flush()
        assert all(r.rcpt_tos != [MENTOR] for r in world.sink.received)
    finally:
        await service.stop(world.relay)
