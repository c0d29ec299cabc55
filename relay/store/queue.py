"""The outbound queue: claiming due deliveries, recording attempts, listing and retrying.

A claim is a lease: a delivery in ``sending`` whose lease has run out (its
worker died) is due again, so a crash at any moment delays mail, never loses
it. On PostgreSQL, claims take row locks with SKIP LOCKED so several relay
instances share one queue; SQLite serialises writers anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import and_, insert, or_, select as sa_select, update
from sqlmodel import Session, select

from relay.store import messages
from relay.store.tables import Attempt, Delivery

DELIVERY = Delivery.__table__
ATTEMPT = Attempt.__table__
WAITING = ("queued", "deferred")


def claim_due(
    session: Session, now: datetime, worker: str, limit: int, lease: timedelta = timedelta(minutes=10)
) -> list[int]:
    """Take up to ``limit`` due deliveries for this worker; the oldest first."""
    due = or_(
        and_(DELIVERY.c.status.in_(WAITING), DELIVERY.c.next_attempt_at <= now),
        and_(DELIVERY.c.status == "sending", DELIVERY.c.lease_until < now),
    )
    query = sa_select(DELIVERY.c.id).where(due).order_by(DELIVERY.c.next_attempt_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in session.execute(query)]
    if ids:
        session.execute(
            update(DELIVERY)
            .where(DELIVERY.c.id.in_(ids))
            .values(status="sending", lease_until=now + lease, claimed_by=worker)
        )
    return ids


def next_due_at(session: Session) -> datetime | None:
    row = session.execute(
        sa_select(DELIVERY.c.next_attempt_at)
        .where(DELIVERY.c.status.in_(WAITING))
        .order_by(DELIVERY.c.next_attempt_at)
        .limit(1)
    ).first()
    return row.next_attempt_at if row else None


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; ``next_attempt_at`` only for deferrals."""

    status: str  # delivered | deferred | failed
    code: int = 0
    detail: str = ""
    duration_ms: int = 0
    next_attempt_at: datetime | None = None


def record_attempt(session: Session, delivery_id: int, worker: str, now: datetime, outcome: Outcome) -> bool:
    """Store an attempt and move the delivery on; False if another worker took it over meanwhile."""
    values = {
        "status": outcome.status,
        "attempts": DELIVERY.c.attempts + 1,
        "last_error": "" if outcome.status == "delivered" else outcome.detail[:2000],
        "lease_until": None,
        "claimed_by": "",
    }
    if outcome.status == "delivered":
        values["delivered_at"] = now
    if outcome.next_attempt_at is not None:
        values["next_attempt_at"] = outcome.next_attempt_at
    result = session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status == "sending", DELIVERY.c.claimed_by == worker)
        .values(**values)
    )
    if result.rowcount != 1:
        return False
    session.execute(
        insert(ATTEMPT).values(
            delivery_id=delivery_id,
            at=now,
            outcome=outcome.status,
            code=outcome.code,
            detail=outcome.detail[:2000],
            duration_ms=outcome.duration_ms,
        )
    )
    message_id = session.execute(sa_select(DELIVERY.c.message_id).where(DELIVERY.c.id == delivery_id)).scalar()
    if message_id is not None:
        messages.refresh_status(session, message_id)
    return True


def release_held(session: Session, message_id: int, now: datetime, lifetime: timedelta = timedelta(days=5)) -> int:
    """A moderator approved: held copies become due now, with a full queue lifetime from now."""
    result = session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.message_id == message_id, DELIVERY.c.status == "held")
        .values(status="queued", next_attempt_at=now, expires_at=now + lifetime)
    )
    messages.refresh_status(session, message_id)
    return result.rowcount


def cancel_held(session: Session, message_id: int, reason: str) -> int:
    result = session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.message_id == message_id, DELIVERY.c.status == "held")
        .values(status="cancelled", last_error=reason)
    )
    return result.rowcount


def list_queue(session: Session, statuses: Sequence[str] = ("queued", "sending", "deferred", "held", "failed"), limit: int = 200) -> list[Delivery]:
    query = select(Delivery).where(Delivery.status.in_(statuses)).order_by(Delivery.next_attempt_at).limit(limit)
    return list(session.exec(query))


def attempts_of(session: Session, delivery_id: int) -> list[Attempt]:
    return list(session.exec(select(Attempt).where(Attempt.delivery_id == delivery_id).order_by(Attempt.id)))


def retry(session: Session, now: datetime, delivery_ids: Sequence[int] | None = None) -> int:
    """Make deferred (or failed) deliveries due now; ``None`` means every deferred one."""
    query = update(DELIVERY).values(status="queued", next_attempt_at=now)
    if delivery_ids is None:
        query = query.where(DELIVERY.c.status == "deferred")
    else:
        query = query.where(DELIVERY.c.id.in_(list(delivery_ids)), DELIVERY.c.status.in_(("deferred", "failed")))
    return session.execute(query).rowcount


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)
