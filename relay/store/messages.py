"""Accepted messages, their findings and their deliveries' status.

Inserts on the intake path are plain rows on the driver's cursor
(``relay.store.rows``): no ORM unit of work and no statement compilation
per message. None of these functions commits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import func, or_, select as sa_select
from sqlmodel import Session, select

from relay import model
from relay.store.rows import Insert, Statement
from relay.store.tables import Delivery, Finding, Message

MESSAGE = Message.__table__
FINDING = Finding.__table__
DELIVERY = Delivery.__table__
_MESSAGE_ROW, _FINDING_ROW, _DELIVERY_ROW = Insert(MESSAGE), Insert(FINDING), Insert(DELIVERY)


def insert_message(session: Session, **values) -> int:
    if "envelope_rcpts" in values and not isinstance(values["envelope_rcpts"], str):
        values["envelope_rcpts"] = json.dumps(list(values["envelope_rcpts"]))
    for key in ("in_reply_to", "references"):
        if key in values and not isinstance(values[key], str):
            values[key] = " ".join(values[key])
    values.setdefault("size", len(values.get("raw", b"")))
    return _MESSAGE_ROW.one(session, values)


def insert_findings(session: Session, message_id: int, findings: Iterable[model.Finding]) -> None:
    for f in findings:
        _FINDING_ROW.one(session, {
            "message_id": message_id,
            "rule": f.rule,
            "action": f.action.value,
            "severity": f.severity.value,
            "reason": f.reason,
            "excerpt": f.excerpt,
            "match": f.match,
        })


def insert_deliveries(session: Session, rows: Sequence[dict]) -> list[int]:
    return [_DELIVERY_ROW.one(session, row) for row in rows]  # one by one: each id makes a bounce address


def get_message(session: Session, message_id: int) -> Message | None:
    return session.get(Message, message_id)


def list_messages(session: Session, limit: int = 50, status: str | None = None) -> list[Message]:
    query = select(Message).order_by(Message.id.desc()).limit(limit)
    if status:
        query = query.where(Message.status == status)
    return list(session.exec(query))


def findings_of(session: Session, message_id: int) -> list[Finding]:
    return list(session.exec(select(Finding).where(Finding.message_id == message_id).order_by(Finding.id)))


def deliveries_of(session: Session, message_id: int) -> list[Delivery]:
    return list(session.exec(select(Delivery).where(Delivery.message_id == message_id).order_by(Delivery.id)))


_SET_STATUS = Statement("UPDATE message SET status = :status WHERE id = :id")
_FORWARD_STATUSES = Statement("SELECT status FROM delivery WHERE message_id = :id AND kind = 'forward'")


def set_status(session: Session, message_id: int, status: str) -> None:
    _SET_STATUS.count(session, id=message_id, status=status)


def refresh_status(session: Session, message_id: int) -> str:
    """Derive a forwarded message's status from its deliveries, read afresh."""
    return settle_status(session, message_id, [s for (s,) in _FORWARD_STATUSES.rows(session, id=message_id)])


def settle_status(session: Session, message_id: int, statuses: Sequence[str]) -> str:
    """Store the status its forwarded copies' ``statuses`` add up to (none: the message keeps its own)."""
    status = summarise(statuses)
    if status:
        set_status(session, message_id, status)
    return status


def summarise(statuses: Sequence[str]) -> str:
    """Pure: the message status that a set of delivery statuses adds up to."""
    if not statuses:
        return ""
    kinds = set(statuses)
    if "held" in kinds:
        return "held"
    if kinds & {"queued", "sending", "deferred"}:
        return "queued"
    if kinds <= {"delivered"}:
        return "delivered"
    if kinds <= {"failed", "cancelled"}:
        return "failed" if "failed" in kinds else "rejected"
    return "partial"


def count_pairing_messages(session: Session, pairing_id: int, up_to: int = 1000) -> int:
    """How many messages the pairing has exchanged, counted no further than ``up_to``.

    Pre-moderation only asks "fewer than N?" for a small N; counting a long
    conversation to the end on every message would grow without bound.
    """
    first = sa_select(MESSAGE.c.id).where(MESSAGE.c.pairing_id == pairing_id).limit(up_to).subquery()
    return session.execute(sa_select(func.count()).select_from(first)).scalar_one()


def search_messages(
    session: Session,
    *,
    participant_id: int | None = None,
    pairing_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
    limit: int = 100,
) -> list[Message]:
    query = select(Message).order_by(Message.id.desc()).limit(limit)
    if participant_id is not None:
        query = query.where(
            or_(Message.sender_id == participant_id, Message.id.in_(_received_by(participant_id)))
        )
    if pairing_id is not None:
        query = query.where(Message.pairing_id == pairing_id)
    if status:
        query = query.where(Message.status == status)
    if since is not None:
        query = query.where(Message.received_at >= since)
    if until is not None:
        query = query.where(Message.received_at < until)
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(or_(func.lower(Message.subject).like(pattern), func.lower(Message.body_text).like(pattern)))
    return list(session.exec(query))


def _received_by(participant_id: int):
    return sa_select(DELIVERY.c.message_id).where(DELIVERY.c.recipient_id == participant_id)
