"""Data checks at the door: headers that could mean two things, too-deep MIME, too many messages.

Each check is ``await check(txn, raw, inspection)`` and returns a Reply to
refuse at DATA, or None; what they judge was read in the intake's one parse. They run for participant and circle mail before
the policy. A header the relay cannot read one way only (two From or
Subject headers, a From with several mailboxes, an encoded word that
decodes to a line break or NUL) is refused outright rather than held: the
masked copy and the moderator would each see a different message, and
the sender's client can always send a clean one.
"""

from __future__ import annotations

from typing import Any, Callable

from relay.intake.parse import DEFAULT_MAX_DEPTH
from relay.intake.recipients import sender_of
from relay.intake.throttle import WindowCounter
from relay.model import Inspection
from relay.smtp import replies
from relay.smtp.replies import Reply


class HeaderCheck:
    """Refuses ambiguous or unsafe headers with 550 5.6.0, naming what is wrong."""

    async def __call__(self, txn, raw: bytes, inspection: Inspection) -> Reply | None:
        if inspection.header_problems:
            return replies.malformed_headers("; ".join(inspection.header_problems))
        return None


class DepthCheck:
    """Refuses MIME nested deeper than the setting with 554 5.6.0."""

    def __init__(self, limit: int) -> None:
        # The parse never descends past its own bound, and reports one level more when it stops.
        self.limit = min(limit, DEFAULT_MAX_DEPTH)

    async def __call__(self, txn, raw: bytes, inspection: Inspection) -> Reply | None:
        return replies.mime_too_deep(self.limit) if inspection.mime_depth > self.limit else None


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
    sender = sender_of(txn.recipients)
    return ("participant", sender.id) if sender is not None else ("mail-from", txn.mail_from.lower())
