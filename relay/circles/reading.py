"""A circle message as one member may read it inside a relay-written text (digest, reminder).

The text is taken from the masked copy that member would have received, so
a digest or reminder hides exactly what a forwarded copy hides: real
addresses become aliases, real names become handles, quoted text is left
out (it repeats earlier messages).
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from relay.circles.questions import new_text
from relay.intake.parse import html_to_text
from relay.outbound.jobs import mask_context
from relay.outbound.message_ids import new_message_id
from relay.outbound.rewrite import build_masked_copy
from relay.store.tables import Delivery, Message, Participant

MAX_CHARS = 4000


@dataclass(frozen=True)
class Reading:
    handle: str
    subject: str
    text: str
    received_at: datetime
    attachments: int


def masked_reading(session: Session, message: Message, reader: Participant, domain: str) -> Reading:
    # A copy that is never stored: only its text is used, never its ids.
    delivery = Delivery(recipient_id=reader.id, rcpt_email=reader.email, masked_message_id=new_message_id(domain, "digest"),
                        created_at=message.received_at, next_attempt_at=message.received_at, expires_at=message.received_at)
    ctx = mask_context(session, message, delivery, domain)
    copy = email.message_from_bytes(build_masked_copy(message.raw, ctx), policy=email.policy.default)
    text, attachments = _text_and_attachments(copy)
    fresh = new_text(text) or text.strip()
    if len(fresh) > MAX_CHARS:
        fresh = fresh[:MAX_CHARS].rstrip() + "\n[…]"
    return Reading(ctx.sender_handle, str(copy["Subject"] or ""), fresh, message.received_at, attachments)


def _text_and_attachments(copy) -> tuple[str, int]:
    body = copy.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        try:
            content = body.get_content()
        except (LookupError, ValueError):
            content = ""
        text = html_to_text(content) if body.get_content_type() == "text/html" else content
    attachments = sum(1 for _ in copy.iter_attachments()) if copy.is_multipart() else 0
    return text, attachments
