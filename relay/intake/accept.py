"""The one path of a message through intake: classify at RCPT, parse once at DATA, then the route.

The SMTP handler hands each envelope event here. At RCPT each address is
classified (participant alias, circle alias, moderation token, bounce
address, service address, postmaster) and the route for its kind resolves
it to a typed recipient (``relay.intake.recipients``). At DATA the message
is parsed exactly once, into one frozen ``Inspection``, off the event loop;
the loop check reads it, and the route then authenticates the sender,
decides (the policy table) and writes one transaction before it answers.
Any exception before the commit becomes ``451 4.3.0``: the client keeps
the message and tries again, and nothing half-stored is left behind.

Two refusals happen here for every kind but bounces: a client that keeps
naming recipients the relay refuses is cut off (``421 4.7.0``: it is
guessing aliases), and a message that has looped (too many ``Received``
headers, or the relay's own loop marker) is refused with ``554 5.4.6``.
Bounces are spared the loop test: a DSN quotes the original's headers,
though only in its body, and a DSN about a looping copy must still arrive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Awaitable, Callable, Protocol

from relay import cpu
from relay.clock import SystemClock
from relay.intake.classify import Target, classify
from relay.intake.parse import inspect
from relay.intake.recipients import Recipient
from relay.model import Inspection
from relay.smtp import replies
from relay.smtp.limits import Door
from relay.smtp.replies import Reply

log = logging.getLogger(__name__)


@dataclass
class Transaction:
    """What one SMTP transaction has said so far (MAIL FROM to the end of DATA)."""

    peer: str
    helo: str
    mail_from: str
    kind: str = ""
    recipients: list[Recipient] = field(default_factory=list)  # what the route resolved each RCPT to
    rcpt_addresses: list[str] = field(default_factory=list)


class Route(Protocol):
    """How one kind of relay address is checked at RCPT and stored at DATA."""

    # Kinds of address this route takes into its own transaction (a reply-all to a circle
    # also names the writer's partner aliases); empty for most routes.
    gathers: frozenset[str]

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        """Check one recipient; on success record it in ``txn.recipients``."""

    async def accept(self, txn: Transaction, raw: bytes, inspection: Inspection) -> Reply:
        """Store the message (committed) and say what happened."""


AliasKind = Callable[[str], Awaitable[str]]

MAX_RECEIVED = 50  # RFC 5321 6.3 suggests at least 100 is a loop; real paths are under 20
LOOP_EXEMPT_KINDS = frozenset({"bounce"})


def loop_reason(inspection: Inspection, domain: str) -> str:
    """Why this message has looped, judged on its top-level headers only; "" when it has not."""
    if inspection.received_count > MAX_RECEIVED:
        return f"{inspection.received_count} Received headers"
    if domain in inspection.loop_markers:
        return "the relay's own loop marker"
    return ""


class Intake:
    """Routes are keyed by kind: participant, circle, moderation, bounce, service, postmaster."""

    def __init__(
        self,
        domain: str,
        routes: dict[str, Route],
        alias_kind: AliasKind,
        max_recipients: int = 100,
        door: Door | None = None,
        now: Callable[[], datetime] = SystemClock().now,
        cpu: concurrent.futures.Executor | None = None,
    ) -> None:
        self.domain = domain.lower()
        self.routes = routes
        self.alias_kind = alias_kind
        self.max_recipients = max_recipients
        self.door = door or Door()
        self.now = now
        self.cpu = cpu  # parsing a large message is CPU work: its own executor, never the database's threads

    async def rcpt(self, txn: Transaction, address: str) -> Reply:
        if self.door.failures.exceeded(txn.peer, self.now()):
            return replies.TOO_MANY_FAILED_RECIPIENTS
        reply = await self._rcpt(txn, address)
        if not reply.ok and reply.code >= 500:
            # Only permanent refusals count: they are what an alias-guesser collects.
            self.door.failures.hit(txn.peer, self.now())
        return reply

    async def _rcpt(self, txn: Transaction, address: str) -> Reply:
        target = classify(address, self.domain)
        if target.kind == "alias":
            # Participant and circle aliases look alike; the alias registry says which.
            try:
                target = replace(target, kind=await self.alias_kind(target.local))
            except Exception:
                log.exception("alias lookup failed")
                return replies.TEMPORARY_FAILURE
        if target.kind == "invalid":
            return replies.bad_address(target.reason)
        if target.kind == "foreign":
            return replies.RELAY_DENIED
        if len(txn.rcpt_addresses) >= self.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        kind = target.kind
        if txn.kind and target.kind != txn.kind:
            # Different kinds are stored differently; 452 asks the client to send them apart,
            # unless one route gathers the other's addresses (a reply-all to a circle and its writer).
            kind = _gathering(self.routes, txn.kind, target.kind)
            if kind is None:
                return replies.SEPARATE_MESSAGE
        route = self.routes.get(kind)
        if route is None:
            return replies.UNKNOWN_RECIPIENT
        try:
            reply = await route.check_rcpt(txn, target)
        except Exception:
            log.exception("recipient check failed for %s", target.kind)
            return replies.TEMPORARY_FAILURE
        if reply.ok:
            txn.kind = kind
            txn.rcpt_addresses.append(target.address)
        return reply

    async def data(self, txn: Transaction, raw: bytes) -> Reply:
        if not txn.kind:
            return replies.NO_VALID_RECIPIENTS
        try:
            # The one parse of this message: every later stage reads this value.
            inspection = await cpu.run(self.cpu, len(raw), inspect, raw)
        except Exception:
            log.exception("could not read a %s message from %s", txn.kind, txn.peer)
            return replies.TEMPORARY_FAILURE
        if txn.kind not in LOOP_EXEMPT_KINDS:
            reason = loop_reason(inspection, self.domain)
            if reason:
                log.warning("loop refused from %s: %s", txn.peer, reason)
                return replies.LOOP_DETECTED
        try:
            return await self.routes[txn.kind].accept(txn, raw, inspection)
        except Exception:
            log.exception("could not store a %s message from %s", txn.kind, txn.peer)
            return replies.TEMPORARY_FAILURE


def _gathering(routes: dict[str, Route], current: str, new: str) -> str | None:
    """The kind whose route takes both kinds into one transaction (its ``gathers``), if any."""
    for kind, other in ((current, new), (new, current)):
        route = routes.get(kind)
        if route is not None and other in route.gathers:
            return kind
    return None
