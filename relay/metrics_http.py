"""The small HTTP listener on ``RELAY_METRICS_LISTEN``: ``/metrics`` (Prometheus text) and ``/healthz``.

It runs on the service's event loop; the store is read on the store's
threads. ``/healthz`` answers 200 when the store answers and the SMTP
listener is up, and 503 with the reason otherwise (also while draining).
With several processes each binds the same port (SO_REUSEPORT) and any of
them answers with the sum of all their counters.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import text

from relay.config import _split_host_port
from relay.metrics import Metrics, ProcessShare, exposition, store_gauges

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 2.0
SHARE_EVERY = 1.0  # seconds between a process's counter files


def metrics_listen(settings) -> tuple[str, int] | None:
    value = (settings.extra.get("RELAY_METRICS_LISTEN") or "").strip()
    if not value:
        return None
    return _split_host_port(value, "RELAY_METRICS_LISTEN")


@dataclass
class StatusServer:
    relay: Any
    metrics: Metrics
    share: ProcessShare | None = None
    server: asyncio.AbstractServer | None = None
    _tasks: list[asyncio.Task] = field(default_factory=list)

    async def health(self) -> tuple[int, str]:
        relay = self.relay
        if relay.handler is not None and relay.handler.draining:
            return 503, "draining: stopping"
        if relay.server is None or not relay.server.is_serving():
            return 503, "smtp: the listener is not up"
        try:
            await asyncio.wait_for(relay.db.read(lambda s: s.exec(text("SELECT 1")).one()), HEALTH_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - any failure is the reason given
            return 503, f"store: {type(error).__name__}"
        return 200, "ok"

    async def scrape(self) -> bytes:
        now = self.relay.clock.now()
        store = await self.relay.db.read(lambda s: store_gauges(s, now))
        return await asyncio.to_thread(exposition, self.metrics, self.share, store)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass  # headers: nothing here needs them
            parts = request.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) >= 2 else ""
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, body, kind = 405, b"GET only\n", "text/plain"
            elif path == "/metrics":
                status, body, kind = 200, await self.scrape(), CONTENT_TYPE_LATEST
            elif path == "/healthz":
                code, reason = await self.health()
                status, body, kind = code, (reason + "\n").encode(), "text/plain"
            else:
                status, body, kind = 404, b"/metrics or /healthz\n", "text/plain"
            head = (f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
            writer.write(head.encode() + (body if parts[:1] != ["HEAD"] else b""))
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("status request failed")
        finally:
            writer.close()

    async def _share_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.share.write, self.metrics)
            except OSError:
                log.warning("could not write this process's counters to %s", self.share.directory)
            await asyncio.sleep(SHARE_EVERY)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.share is not None:
            self.share.remove()


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def start_http(relay: Any) -> StatusServer:
    """Count SMTP replies, and listen on RELAY_METRICS_LISTEN when it is set; ``close()`` undoes it."""
    settings = relay.settings
    metrics: Metrics = relay.intake_ctx.metrics
    if relay.handler is not None:
        relay.handler.on_reply = metrics.smtp_reply
        relay.handler.on_delay = metrics.in_flow_delayed
    address = metrics_listen(settings)
    several = settings.processes > 1
    shared = several and address is not None  # only a scrape reads the other processes' counters
    status = StatusServer(relay, metrics, ProcessShare(settings.data_dir / "run" / "metrics") if shared else None)
    if status.share is not None:
        status._tasks.append(asyncio.create_task(status._share_loop(), name="metrics-share"))
    if address is not None:
        status.server = await asyncio.start_server(status.handle, address[0], address[1], reuse_port=several)
        log.info("metrics on http://%s:%s/metrics, health on /healthz", *status.server.sockets[0].getsockname()[:2])
    return status
