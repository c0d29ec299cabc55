"""Data checks at the door: headers that could mean two things, too-deep MIME, too many messages.

Each check is ``await check(txn, raw, inspection)`` and returns a Reply to
refuse at DATA, or None. They run for participant and circle mail before
the policy. A header the relay cannot read one way only (two From or
Subject headers, a From with several mailboxes, an encoded word that
decodes to a line break or NUL) is refused outright rather than held: the
masked copy and the moderator would each see a different message, and
the sender's client can always send a clean one.
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Any, Callable

from relay.intake.parse import DEFAULT_MAX_DEPTH, header_problems
from relay.intake.throttle import WindowCounter
from relay.smtp import replies
from relay.smtp.replies import Reply

DEPTH_PROBLEM = "MIME nesting deeper than"


def mime_depth_exceeds(raw: bytes, limit: int) -> bool:
    """True when parts are nested more than ``limit`` levels (an explicit stack: no recursion)."""
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except RecursionError:
        return True
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        children = part.get_payload() if part.is_multipart() else None
        if isinstance(children, list) and children:
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in children)
    return False


class HeaderCheck:
    """Refuses ambiguous or unsafe headers with 550 5.6.0, naming what is wrong."""

    def __init__(self, call: Callable[..., Any]) -> None:
        self.call = call  # runs blocking work off the event loop (Database.call)

    async def __call__(self, txn, raw: bytes, inspection) -> Reply | None:
        problems = await self.call(header_problems, raw)
        if problems:
            return replies.malformed_headers("; ".join(problems))
        return None


class DepthCheck:
    """Refuses MIME nested deeper than the setting with 554 5.6.0."""

    def __init__(self, limit: int, call: Callable[..., Any]) -> None:
        self.limit, self.call = limit, call

    async def __call__(self, txn, raw: bytes, inspection) -> Reply | None:
        too_deep = any(p.startswith(DEPTH_PROBLEM) for p in inspection.problems)
        if not too_deep and self.limit < DEFAULT_MAX_DEPTH:
            too_deep = await self.call(mime_depth_exceeds, raw, self.limit)
        return replies.mime_too_deep(min(self.limit, DEFAULT_MAX_DEPTH)) if too_deep else None


class RateCheck:
    """At most ``per_hour`` messages per participant; past it 450 4.7.1 (the client retries later)."""

    def __init__(self, per_hour: int, now: Callable[[], Any]) -> None:
        self.counter = WindowCounter(per_hour)
        self.per_hour, self.now = per_hour, now

    async def __call__(self, txn, raw: bytes, inspection) -> Reply | None:
        key = sender_key(txn)
        now = self.now()
        if self.counter.exceeded(key, now):
            return replies.too_many_messages(self.per_hour)
        self.counter.hit(key, now)
        return None


def sender_key(txn) -> Any:
    """The participant behind a transaction when a route resolved one, else the envelope sender."""
    first = txn.recipients[0] if txn.recipients else None
    sender = getattr(first, "sender", None)
    return ("participant", sender.id) if sender is not None else ("mail-from", txn.mail_from.lower())
