"""STARTTLS on the intake: offered as soon as a certificate is configured, and mail flows over it."""

from __future__ import annotations

import ssl

import aiosmtplib
import pytest

from relay import service
from tests.fixtures import harness
from tests.fixtures.certs import self_signed
from tests.fixtures.harness import World

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"


@pytest.fixture
async def tls_world(tmp_path, sqlite_url, sink, clock):
    cert, key = self_signed(tmp_path)
    settings = harness.test_settings(tmp_path, sqlite_url, sink.port, tls_cert=cert, tls_key=key)
    relay = service.build(settings, clock=clock)
    await service.start(relay, listen=True, work=False)
    world = World(relay, sink, clock)
    world.cert = cert
    yield world
    await service.stop(relay)


async def test_starttls_is_offered_and_a_message_goes_through_it(tls_world):
    world = tls_world
    mentor_alias = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    context = ssl.create_default_context(cafile=str(world.cert))
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=world.port, start_tls=False, tls_context=context, timeout=30)
    await client.connect()
    try:
        await client.ehlo()
        assert client.supports_extension("starttls")
        await client.starttls(server_hostname="mentor.test")
        assert client.transport.get_extra_info("ssl_object") is not None
        await client.ehlo()
        assert not client.supports_extension("starttls")  # offered once, before TLS only
        errors, response = await client.sendmail(MENTEE, [mentor_alias], world.message(MENTEE, mentor_alias, "over TLS", "hi").as_bytes())
        assert errors == {} and "queued as M" in response
    finally:
        await client.quit()
    await world.flush()
    assert len(world.sink.received) == 1


async def test_without_a_certificate_starttls_is_not_offered(world):
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=world.port, start_tls=False, timeout=30)
    await client.connect()
    try:
        await client.ehlo()
        assert not client.supports_extension("starttls")
        assert client.supports_extension("size")
    finally:
        await client.quit()
