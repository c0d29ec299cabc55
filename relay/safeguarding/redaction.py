"""A held message released without what held it: the masked copies are built from the redacted text.

The original stays in the store for the record (until retention purges it);
each held copy gets its finished, redacted masked content, so the outbound
worker sends it as it sends any relay-written message, and a resend after a
crash sends the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from relay.outbound.jobs import mask_context
from relay.outbound.rewrite import build_masked_copy
from relay.safeguarding.guardian_copy import redacted_copies
from relay.safeguarding.redact import redact_message
from relay.store import messages, queue
from relay.store.tables import Delivery, Finding, Message

# What the writer is told was removed, by rule; other rules are named as they are.
LABELS = {
    "contact_phone": "a phone number",
    "contact_email": "an email address",
    "contact_address": "a postal address",
    "contact_social": "a social media handle",
    "contact_links": "a link",
}


@dataclass(frozen=True)
class Redacted:
    released: int  # copies released
    removed: tuple[str, ...]  # what was removed, for the writer: "a phone number (415-867-5309)"
    replacements: int


def removable(findings: list[Finding]) -> list[Finding]:
    """The findings that held the message and matched some text."""
    return [f for f in findings if f.action == "hold" and f.match.strip()]


def describe(findings: list[Finding]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for f in findings:
        seen.setdefault(f"{LABELS.get(f.rule, f.rule)} ({' '.join(f.match.split())})", None)
    return tuple(seen)


def redact_held(session: Session, message: Message, domain: str, now: datetime, lifetime: timedelta) -> Redacted | None:
    """Give every held copy of ``message`` its redacted masked content and release it; None when nothing matched."""
    found = removable(messages.findings_of(session, message.id))
    if not found:
        return None
    raw, count = redact_message(message.raw, [f.match for f in found])
    held = list(session.exec(select(Delivery).where(Delivery.message_id == message.id, Delivery.status == "held",
                                                    Delivery.kind == "forward")))
    for delivery in held:
        delivery.content = build_masked_copy(raw, mask_context(session, message, delivery, domain))
        session.add(delivery)
    redacted_copies(session, message, raw, domain)
    session.flush()
    from relay.safeguarding.consent import waits_for_consent

    # Redacted now; a child's message still waiting for the family's consent is released by that consent.
    released = 0 if waits_for_consent(session, message) else queue.release_held(session, message.id, now, lifetime)
    return Redacted(released=released, removed=describe(found), replacements=count)


def tell_writer(session: Session, desk, message: Message, removed: tuple[str, ...]) -> None:
    """The writer learns what the program removed before passing the message on."""
    from relay import notices
    from relay.moderation.notice import conversation_label
    from relay.store.tables import Participant

    sender = session.get(Participant, message.sender_id) if message.sender_id else None
    if sender is None:
        return
    context = {"handle": sender.handle, "subject": message.subject or "(no subject)",
               "where": conversation_label(session, message, viewer_id=sender.id), "removed": list(removed)}
    notices.notify(session, desk.env, "redacted_notice", context, person=sender, kind="notice", domain=desk.domain,
                   now=desk.now, masked_id=desk.new_message_id(), message_id=message.id)
