"""When a forwarded copy fails for good, its sender is told privately, in the relay's own words.

The notice names the recipient by handle and the message by its subject;
it never copies the remote server's diagnostic, which can name the
recipient's real mailbox. It is sent with an empty envelope sender and
``Auto-Submitted: auto-generated``, and only forwards are reported: a
notice that fails is never reported, so failures cannot chase each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from sqlmodel import Session

from relay.notices import notify
from relay.outbound.message_ids import new_message_id
from relay.store.queue import Outcome
from relay.store.tables import Delivery, Message, Participant

NOTICE_KIND = "bounce-notice"
REPORTED_KINDS = frozenset({"forward"})


def plan_failure_notice(
    session: Session,
    env: Any,
    delivery_id: int,
    *,
    domain: str,
    now: datetime,
    token: Callable[[], str],
    lifetime: timedelta,
) -> int | None:
    """Queue the notice for one failed copy inside the caller's transaction; its delivery id, or None."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.kind not in REPORTED_KINDS or delivery.message_id is None:
        return None
    message = session.get(Message, delivery.message_id)
    sender = session.get(Participant, message.sender_id) if message and message.sender_id else None
    if sender is None:
        return None
    recipient = session.get(Participant, delivery.recipient_id) if delivery.recipient_id else None
    context = {
        "handle": sender.handle,
        "recipient": recipient.handle if recipient else "the other participant",
        "subject": message.subject.strip() or "(no subject)",
    }
    return notify(
        session, env, "delivery_failed", context, person=sender, kind=NOTICE_KIND, domain=domain, now=now,
        masked_id=new_message_id(domain, token()), lifetime=lifetime, message_id=message.id, null_sender=True,
        in_reply_to=message.original_message_id,
    )


class FailureNotices:
    """The worker's ``on_final`` hook: a copy failed for good, so tell its sender."""

    def __init__(self, templates: Any, domain: str, token: Callable[[], str],
                 lifetime: timedelta = timedelta(days=2)) -> None:
        self.templates, self.domain, self.token, self.lifetime = templates, domain, token, lifetime

    def __call__(self, session: Any, delivery_id: int, outcome: Outcome, now: datetime) -> bool:
        queued = plan_failure_notice(
            session, self.templates, delivery_id, domain=self.domain, now=now, token=self.token,
            lifetime=self.lifetime,
        )
        return queued is not None
