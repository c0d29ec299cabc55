"""The SMTP listener: one asyncio server on the service's event loop, with TLS and size limits."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from aiosmtpd.smtp import SMTP

from relay.smtp.handler import RelayHandler

IDENT = "mentor-relay ESMTP"


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


def protocol_factory(handler: RelayHandler, hostname: str, max_size: int, tls: ssl.SSLContext | None = None):
    def make() -> SMTP:
        return SMTP(
            handler,
            hostname=hostname,
            ident=IDENT,
            data_size_limit=max_size,
            decode_data=False,
            enable_SMTPUTF8=True,
            tls_context=tls,
            timeout=300,
        )

    return make


async def start(handler: RelayHandler, host: str, port: int, hostname: str, max_size: int, tls=None) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(protocol_factory(handler, hostname, max_size, tls), host=host, port=port)
