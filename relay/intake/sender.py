"""Who really sent it: the intake's seam to sender authentication.

``none`` trusts the envelope (development only); ``dmarc`` and ``authres``
run the checks in ``relay.auth`` off the event loop, since DNS blocks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SenderVerdict:
    verdict: str  # pass | fail | temperror | none
    reason: str = ""
    smtp_code: int = 0
    enhanced: str = ""


class SenderCheck:
    def __init__(self, mode: str, dns: Any = None, authserv_id: str = "", trusted_peers: frozenset[str] = frozenset()):
        self.mode = mode
        self.dns = dns
        self.authserv_id = authserv_id
        self.trusted_peers = trusted_peers

    async def verify(self, raw: bytes, mail_from: str, peer_ip: str, helo: str) -> SenderVerdict:
        if self.mode == "none":
            return SenderVerdict("pass", "sender authentication is off (RELAY_SENDER_AUTH=none)")
        from relay.auth.sender import authenticate

        result = await asyncio.to_thread(
            authenticate,
            raw,
            mail_from,
            peer_ip,
            helo,
            self.mode,
            self.dns,
            authserv_id=self.authserv_id,
            trusted_peers=self.trusted_peers,
        )
        return SenderVerdict(result.verdict, result.reason, result.smtp_code, result.enhanced)
