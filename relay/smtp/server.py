"""The SMTP listener: one asyncio server on the service's event loop, with TLS and the door's limits."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

from relay.smtp.limits import Door
from relay.smtp.handler import RelayHandler
from relay.smtp.protocol import RelaySMTP

IDENT = "mentor-relay ESMTP"


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """STARTTLS is offered as soon as a certificate is configured."""
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def protocol_factory(handler: RelayHandler, hostname: str, max_size: int, tls: ssl.SSLContext | None = None):
    door: Door = handler.door
    if door.data.max_size != max_size:
        # The service passes RELAY_MAX_MESSAGE_SIZE here; it wins over the door's default.
        from dataclasses import replace

        door.data = replace(door.data, max_size=max_size)

    def make() -> RelaySMTP:
        return RelaySMTP(
            handler,
            door=door,
            hostname=hostname,
            ident=IDENT,
            decode_data=False,
            enable_SMTPUTF8=True,
            tls_context=tls,
            timeout=300,
        )

    return make


async def start(
    handler: RelayHandler, host: str, port: int, hostname: str, max_size: int, tls=None, sock=None
) -> asyncio.Server:
    """Listen on host:port, or on ``sock`` when several processes share one bound socket."""
    loop = asyncio.get_running_loop()
    factory = protocol_factory(handler, hostname, max_size, tls)
    if sock is not None:
        return await loop.create_server(factory, sock=sock)
    return await loop.create_server(factory, host=host, port=port)


def bind(host: str, port: int, count: int = 1) -> list[socket.socket]:
    """``count`` listening sockets on one address, bound before the relay forks: one per process.

    Several processes accepting on one shared socket do not share the work:
    whichever event loop wakes first accepts every waiting connection, so
    one process took 18 to 20 of 20 sessions opened at once and the others
    idled. With SO_REUSEPORT each process listens on its own socket and the
    kernel spreads new connections across them. (Only processes of the same
    user can join the group.) Without SO_REUSEPORT, all share one socket.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if count == 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [socket.create_server((host, port), family=family, backlog=1024)] * count
    first = socket.create_server((host, port), family=family, backlog=1024, reuse_port=True)
    bound = first.getsockname()[1]  # the port the kernel chose, when asked for port 0
    return [first] + [socket.create_server((host, bound), family=family, backlog=1024, reuse_port=True)
                      for _ in range(count - 1)]
