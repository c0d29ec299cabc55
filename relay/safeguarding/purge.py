"""Removing message bodies while keeping the rows: dates, sizes, verdicts, actions and reminders still add up.

Used by retention (a closed pairing's messages, some time after it closed)
and by erasure (everything a person wrote or received). Copies still
waiting to be approved are cancelled, since there is nothing left to send.
Callers wrap this in ``wipe.secure`` so the freed bytes are zeroed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import or_, update
from sqlmodel import Session, select

from relay.store.tables import Delivery, Finding, Message

FINISHED = ("delivered", "failed", "cancelled")
QUOTING_KINDS = ("moderation", "confirmation", "urgent", "notice")  # relay-written copies that quote a message
CHUNK = 500


def _chunks(ids: Sequence[int]):
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


def purge_messages(session: Session, message_ids: Sequence[int], now: datetime) -> int:
    """Blank the text of these messages, their findings' excerpts and the copies made of them; returns messages purged."""
    purged = 0
    for chunk in _chunks(sorted(set(message_ids))):
        purged += session.execute(
            update(Message).where(Message.id.in_(chunk), Message.purged_at.is_(None))
            .values(raw=b"", body_text="", subject="", in_reply_to="", references="", purged_at=now)
        ).rowcount
        session.execute(update(Finding).where(Finding.message_id.in_(chunk)).values(excerpt="", match=""))
        session.execute(
            update(Delivery).where(Delivery.message_id.in_(chunk), Delivery.status == "held")
            .values(status="cancelled", last_error="the message was purged before it was approved")
        )
        purge_copies(session, select(Delivery.id).where(Delivery.message_id.in_(chunk)))
    return purged


def purge_copies(session: Session, delivery_ids) -> None:
    """Drop the stored content (or notice intent) of finished relay-written copies (notices, transcripts, redacted copies)."""
    session.execute(
        update(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.status.in_(FINISHED),
                               or_(Delivery.content.is_not(None), Delivery.intent.is_not(None)))
        .values(content=None, intent=None)
    )


def quoting_answers(session: Session, message_ids: Sequence[int]) -> list[int]:
    """Staff answers (moderation, acknowledgements) to notices about these messages: they quote the text."""
    quoted = list(session.exec(select(Delivery.masked_message_id).where(
        Delivery.message_id.in_(list(message_ids) or [0]), Delivery.kind.in_(QUOTING_KINDS))))
    if not quoted:
        return []
    return list(session.exec(select(Message.id).where(Message.kind.in_(("moderation", "safeguarding")),
                                                      Message.in_reply_to.in_(quoted))))
