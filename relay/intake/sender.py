"""Who really sent it: the intake's seam to sender authentication.

``none`` trusts the envelope (development only); ``dmarc`` and ``authres``
run the checks in ``relay.auth`` off the event loop, since DNS blocks.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from relay.smtp.replies import Reply


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


def auth_refusal(auth: SenderVerdict, *, strict: bool) -> Reply | None:
    """The reply to a sender whose check did not pass; the same on every kind of relay address.

    A DNS failure while checking is temporary (RFC 7208 §8.6): the client
    retries. ``strict`` (answers to the relay's own notices) refuses anything
    short of a pass; otherwise only a failure is refused (the policy may hold
    it instead, when the caller asks the policy first).
    """
    if auth.verdict == "temperror":
        reason = f"Could not check who sent this message; please try again later ({auth.reason})"
        return Reply(auth.smtp_code or 451, auth.enhanced or "4.4.3", reason)
    if auth.verdict == "fail":
        return Reply(auth.smtp_code or 550, auth.enhanced or "5.7.26", auth.reason or "Sender authentication failed")
    if strict and auth.verdict != "pass":
        return Reply(auth.smtp_code or 550, auth.enhanced or "5.7.1", auth.reason or "Could not verify who sent this message")
    return None
