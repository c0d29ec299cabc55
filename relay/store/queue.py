"""The outbound queue: claiming due deliveries, recording attempts, listing and retrying.

A claim is a short lease that its worker renews while the copy is in
flight: a delivery in ``sending`` whose lease has run out (its worker or
its whole host died) is due again, so a crash at any moment delays mail by
about a lease, never loses it. On PostgreSQL, claims take row locks with
SKIP LOCKED so several relay instances share one queue; SQLite serialises
writers anyway. The functions a worker calls on every delivery (claim,
record, renew) take a Core connection or a Session alike and are plain
SQL statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import and_, insert, or_, select as sa_select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from relay.store import messages
from relay.store.rows import Insert, Statement
from relay.store.tables import Attempt, Delivery, InboundEvent, Message

DELIVERY = Delivery.__table__
ATTEMPT = Attempt.__table__
WAITING = ("queued", "deferred")
FORCED_LIFETIME = timedelta(days=1)
INTERRUPTED = "interrupted: the relay stopped during this attempt; sending again"
RELEASED = "released by an operator after its worker's lease ran out; sending again"
LEASE = timedelta(seconds=60)  # renewed every third of it while the copy is in flight


def _dialect(db: Any) -> str:
    """The dialect's name for a Session or a Core Connection."""
    return (db.dialect if isinstance(db, Connection) else db.get_bind().dialect).name


def _backend(db: Any) -> str:
    """Which of a per-backend pair of statements ``db`` runs: "postgresql" or "sqlite"."""
    return "postgresql" if _dialect(db) == "postgresql" else "sqlite"


_CLAIM = """
    UPDATE delivery SET status = 'sending', lease_until = :until, claimed_by = :worker
    WHERE id IN (SELECT id FROM delivery
                 WHERE (status IN {waiting} AND next_attempt_at <= :now)
                    OR (status = 'sending' AND lease_until < :now)
                 ORDER BY next_attempt_at LIMIT :limit{lock})
    RETURNING id, next_attempt_at
"""
_CLAIM_TYPES = {"now": DELIVERY.c.next_attempt_at, "until": DELIVERY.c.lease_until}
# PostgreSQL: several relays share one queue, and each skips the rows another is claiming.
_CLAIMS = {"postgresql": Statement(_CLAIM.format(waiting=WAITING, lock=" FOR UPDATE SKIP LOCKED"), _CLAIM_TYPES),
           "sqlite": Statement(_CLAIM.format(waiting=WAITING, lock=""), _CLAIM_TYPES)}


def claim_due(session: Any, now: datetime, worker: str, limit: int, lease: timedelta = LEASE) -> list[int]:
    """Take up to ``limit`` due deliveries for this worker; the oldest first.

    One plain statement: the outbound worker claims several times a second under load.
    """
    claim = _CLAIMS[_backend(session)]
    claimed = claim.rows(session, now=now, until=now + lease, worker=worker, limit=limit)
    return [row[0] for row in sorted(claimed, key=lambda row: (row[1], row[0]))]


_DUE = Statement(f"""
    SELECT count(*) FROM (SELECT id FROM delivery WHERE status IN {WAITING} AND next_attempt_at <= :now
                          LIMIT :up_to) AS due
""", {"now": DELIVERY.c.next_attempt_at})


def count_due(session: Any, now: datetime, up_to: int) -> int:
    """Due copies nobody has claimed, counted no further than ``up_to`` (the in-flow control asks after each claim)."""
    return _DUE.first(session, now=now, up_to=up_to)[0]


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to; ``next_attempt_at`` only for deferrals."""

    status: str  # delivered | deferred | failed
    code: int = 0
    detail: str = ""
    duration_ms: int = 0
    next_attempt_at: datetime | None = None


def renew_leases(session: Any, worker: str, delivery_ids: Sequence[int], until: datetime) -> int:
    """Extend this worker's claims on copies still in flight; how many it still holds."""
    if not delivery_ids:
        return 0
    return session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(list(delivery_ids)), DELIVERY.c.status == "sending", DELIVERY.c.claimed_by == worker)
        .values(lease_until=until)
    ).rowcount


_RECORD = """
    UPDATE delivery SET status = :status, attempts = attempts + 1, last_error = :last_error, lease_until = NULL,
           claimed_by = '', delivered_at = COALESCE(:delivered_at, delivered_at),
           next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at)
    WHERE id = :id AND status = 'sending' AND claimed_by = :worker
    RETURNING message_id, kind,
              (SELECT {joined} FROM delivery other
               WHERE other.message_id = delivery.message_id AND other.kind = 'forward' AND other.id <> delivery.id)
"""
_RECORD_TYPES = {"delivered_at": DELIVERY.c.delivered_at, "next_attempt_at": DELIVERY.c.next_attempt_at}
# The other forwarded copies' statuses come back with the update, so the message's status needs no query of its own.
_RECORDS = {"postgresql": Statement(_RECORD.format(joined="string_agg(other.status, ',')"), _RECORD_TYPES),
            "sqlite": Statement(_RECORD.format(joined="group_concat(other.status, ',')"), _RECORD_TYPES)}
_ATTEMPT_ROW = Insert(ATTEMPT)


def record_attempt(session: Any, delivery_id: int, worker: str, now: datetime, outcome: Outcome) -> bool:
    """Store an attempt and move the delivery and its message on; False if another worker took it over meanwhile.

    Runs for every copy sent, so its statements are plain rows (``relay.store.rows``): the update
    (which also returns the other copies' statuses), the attempt, and the message's status.
    """
    record = _RECORDS[_backend(session)]
    changed = record.rows(
        session, id=delivery_id, worker=worker, status=outcome.status,
        last_error="" if outcome.status == "delivered" else outcome.detail[:2000],
        delivered_at=now if outcome.status == "delivered" else None, next_attempt_at=outcome.next_attempt_at,
    )
    if len(changed) != 1:
        return False
    _ATTEMPT_ROW.one(session, dict(delivery_id=delivery_id, at=now, outcome=outcome.status, code=outcome.code,
                                   detail=outcome.detail[:2000], duration_ms=outcome.duration_ms))
    message_id, kind, others = changed[0]
    if message_id is not None:
        statuses = (others.split(",") if others else []) + ([outcome.status] if kind == "forward" else [])
        messages.settle_status(session, message_id, statuses)
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
    """Make deferred (or failed) deliveries, and queued ones due later, due now; ``None``: every deferred or later one.

    A queued delivery is due later when a scheduler tick ran ``--at`` a future moment.

    A failed delivery forced again gets at least a day of lifetime, so a
    temporary refusal on the forced try is retried instead of failing (and
    notifying the sender) a second time at once.
    """
    waiting = or_(DELIVERY.c.status == "deferred", and_(DELIVERY.c.status == "queued", DELIVERY.c.next_attempt_at > now))
    if delivery_ids is None:
        query = update(DELIVERY).where(waiting)
        return session.execute(query.values(status="queued", next_attempt_at=now)).rowcount
    ids = list(delivery_ids)
    count = session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(ids), waiting)
        .values(status="queued", next_attempt_at=now)
    ).rowcount
    for row in session.execute(
        sa_select(DELIVERY.c.id, DELIVERY.c.expires_at).where(DELIVERY.c.id.in_(ids), DELIVERY.c.status == "failed")
    ).all():
        session.execute(
            update(DELIVERY)
            .where(DELIVERY.c.id == row.id)
            .values(status="queued", next_attempt_at=now, expires_at=max(row.expires_at, now + FORCED_LIFETIME))
        )
        count += 1
    return count


def release_expired(session: Any, delivery_id: int, now: datetime) -> bool:
    """Make a ``sending`` delivery whose lease has run out due now (``queue retry``); False if its holder is alive."""
    released = session.execute(
        update(DELIVERY)
        .where(
            DELIVERY.c.id == delivery_id,
            DELIVERY.c.status == "sending",
            or_(DELIVERY.c.lease_until.is_(None), DELIVERY.c.lease_until < now),
        )
        .values(status="queued", next_attempt_at=now, lease_until=None, claimed_by="")
    ).rowcount
    if released != 1:
        return False
    session.execute(
        insert(ATTEMPT).values(delivery_id=delivery_id, at=now, outcome="interrupted", code=0, detail=RELEASED)
    )
    return True


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    return session.get(Delivery, delivery_id)


def claimers(session: Session, prefix: str) -> list[str]:
    """Names of the workers whose prefix is ``prefix`` that hold claims now."""
    rows = session.execute(
        sa_select(DELIVERY.c.claimed_by)
        .where(DELIVERY.c.status == "sending", DELIVERY.c.claimed_by.startswith(prefix, autoescape=True))
        .distinct()
    )
    return [row.claimed_by for row in rows]


def release_claims(session: Session, workers: Sequence[str], now: datetime) -> int:
    """Deliveries claimed by workers known to be dead are due again now, with the interruption recorded.

    The copy may already have reached the smarthost before the worker died;
    sending it again with the same Message-ID is the at-least-once promise.
    """
    if not workers:
        return 0
    ids = [
        row.id
        for row in session.execute(
            sa_select(DELIVERY.c.id).where(DELIVERY.c.status == "sending", DELIVERY.c.claimed_by.in_(list(workers)))
        )
    ]
    if not ids:
        return 0
    session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id.in_(ids))
        .values(status="queued", next_attempt_at=now, lease_until=None, claimed_by="")
    )
    session.execute(
        insert(ATTEMPT),
        [dict(delivery_id=i, at=now, outcome="interrupted", code=0, detail=INTERRUPTED, duration_ms=0) for i in ids],
    )
    return len(ids)


def fail_by_report(session: Session, delivery_id: int, now: datetime, detail: str) -> bool:
    """A delivery status notification said the copy failed after it left: mark it failed.

    True only on the change to failed, so the sender is told once however
    many reports arrive for one copy.
    """
    result = session.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id == delivery_id, DELIVERY.c.status.notin_(("failed", "cancelled")))
        .values(status="failed", last_error=detail[:2000], lease_until=None, claimed_by="")
    )
    if result.rowcount != 1:
        return False
    session.execute(
        insert(ATTEMPT).values(delivery_id=delivery_id, at=now, outcome="failed", code=0, detail=detail[:2000])
    )
    message_id = session.execute(sa_select(DELIVERY.c.message_id).where(DELIVERY.c.id == delivery_id)).scalar()
    if message_id is not None:
        messages.refresh_status(session, message_id)
    return True


def add_inbound_event(
    session: Session, *, delivery_id: int | None, message_id: int | None, kind: str, at: datetime, detail: str = ""
) -> int:
    result = session.execute(
        insert(InboundEvent.__table__).values(
            delivery_id=delivery_id, message_id=message_id, kind=kind, at=at, detail=detail[:2000]
        )
    )
    return result.inserted_primary_key[0]


def recent_delivery_of_kind(
    session: Session, kind: str, recipient_id: int, pairing_id: int | None, since: datetime
) -> int | None:
    """The newest delivery of ``kind`` to this participant about this pairing since ``since``."""
    query = (
        sa_select(DELIVERY.c.id)
        .join(Message.__table__, Message.__table__.c.id == DELIVERY.c.message_id)
        .where(DELIVERY.c.kind == kind, DELIVERY.c.recipient_id == recipient_id, DELIVERY.c.created_at >= since)
        .order_by(DELIVERY.c.id.desc())
        .limit(1)
    )
    if pairing_id is not None:
        query = query.where(Message.__table__.c.pairing_id == pairing_id)
    return session.execute(query).scalar()
