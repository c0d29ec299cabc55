"""Scheduled jobs and leader leases: idempotent planning and claims that hold across relay instances.

A job is planned at most once (its unique ``key``) and run at most once: a
claim moves it from ``pending`` to ``running`` in one committed statement
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite), and
the work commits together with its ``done`` mark. None of these functions commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import and_, insert, or_, select as sa_select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from relay.store.tables import Job, Lease

JOB = Job.__table__
LEASE = Lease.__table__


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Planned:
    """A job a planner wants to exist; the scheduler writes these in short transactions."""

    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    move: bool = False  # a pending job of this key takes the new due time


def ensure_planned(session: Session, planned: Sequence[Planned]) -> int:
    """Write what a planner returned: one lookup of the keys, then only what is new or moved."""
    if not planned:
        return 0
    rows = session.execute(
        sa_select(JOB.c.key, JOB.c.id, JOB.c.status, JOB.c.due_at).where(JOB.c.key.in_([p.key for p in planned]))
    )
    existing = {row.key: row for row in rows}
    created = 0
    for job in planned:
        row = existing.get(job.key)
        if row is None:
            created += ensure_job(session, job.key, job.kind, job.due_at, job.payload)
        elif job.move and row.status == "pending" and row.due_at != job.due_at:
            session.execute(update(JOB).where(JOB.c.id == row.id, JOB.c.status == "pending").values(due_at=job.due_at))
    return created


def ensure_job(
    session: Session, key: str, kind: str, due_at: datetime, payload: dict[str, Any] | None = None, *, move: bool = False
) -> bool:
    """Plan a job once; True when this call created it. With ``move``, a pending job takes the new due time."""
    existing = session.execute(sa_select(JOB.c.id, JOB.c.status, JOB.c.due_at).where(JOB.c.key == key)).first()
    if existing is not None:
        if move and existing.status == "pending" and existing.due_at != due_at:
            session.execute(update(JOB).where(JOB.c.id == existing.id, JOB.c.status == "pending").values(due_at=due_at))
        return False
    try:
        # A savepoint: another instance planning the same key at the same moment loses quietly.
        with session.begin_nested():
            session.execute(
                insert(JOB).values(key=key, kind=kind, due_at=due_at, status="pending", payload=json.dumps(payload or {}))
            )
    except IntegrityError:
        return False
    return True


def record_job(session: Session, key: str, kind: str, now: datetime, payload: dict[str, Any] | None = None) -> bool:
    """A job that is done the moment it is planned: a once-only mark (e.g. one away note per absence)."""
    created = ensure_job(session, key, kind, now, payload)
    if created:
        session.execute(update(JOB).where(JOB.c.key == key).values(status="done", done_at=now, claimed_by="intake"))
    return created


def claim_due(session: Session, now: datetime, holder: str, limit: int = 100, lease: timedelta = timedelta(minutes=10)) -> list[int]:
    """Take due jobs for ``holder``: pending ones, and running ones whose claimant's lease ran out."""
    due = or_(
        and_(JOB.c.status == "pending", JOB.c.due_at <= now),
        and_(JOB.c.status == "running", JOB.c.lease_until < now),
    )
    query = sa_select(JOB.c.id).where(due).order_by(JOB.c.due_at, JOB.c.id).limit(limit)
    if _postgres(session):
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in session.execute(query)]
    if ids:
        session.execute(
            update(JOB).where(JOB.c.id.in_(ids)).values(status="running", claimed_by=holder, lease_until=now + lease)
        )
    return ids


def lock_claimed(session: Session, job_id: int, holder: str) -> Job | None:
    """The job row, locked, if ``holder`` still holds the claim (else another instance took it over)."""
    query = select(Job).where(Job.id == job_id, Job.status == "running", Job.claimed_by == holder)
    if _postgres(session):
        query = query.with_for_update()
    return session.exec(query).first()


def finish(session: Session, job: Job, now: datetime) -> None:
    """Done, unless the handler rescheduled (pending) or cancelled the job itself."""
    if job.status == "running":
        job.status = "done"
        job.done_at = now
    job.lease_until = None


def record_failure(session: Session, job_id: int, holder: str, now: datetime, error: str, max_attempts: int = 5) -> None:
    """Retry with a growing delay; after ``max_attempts`` the job stays failed for an operator to see."""
    row = session.execute(sa_select(JOB.c.attempts).where(JOB.c.id == job_id, JOB.c.claimed_by == holder)).first()
    if row is None:
        return
    attempts = row.attempts + 1
    status = "failed" if attempts >= max_attempts else "pending"
    session.execute(
        update(JOB)
        .where(JOB.c.id == job_id)
        .values(
            attempts=attempts,
            status=status,
            due_at=now + timedelta(minutes=5 * 2 ** (attempts - 1)),
            lease_until=None,
            last_error=error[:2000],
        )
    )


def payload(job: Job) -> dict[str, Any]:
    try:
        value = json.loads(job.payload or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def list_jobs(session: Session, statuses: tuple[str, ...] = ("pending", "running", "failed"), limit: int = 200) -> list[Job]:
    query = select(Job).where(Job.status.in_(statuses)).order_by(Job.due_at).limit(limit)
    return list(session.exec(query))


def acquire_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the named lease; True when ``holder`` holds it until ``now + ttl``."""
    query = sa_select(LEASE.c.holder, LEASE.c.until).where(LEASE.c.name == name)
    if _postgres(session):
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        try:
            with session.begin_nested():
                session.execute(insert(LEASE).values(name=name, holder=holder, until=now + ttl))
        except IntegrityError:
            return False
        return True
    until = row.until if row.until.tzinfo else row.until.replace(tzinfo=now.tzinfo)
    if row.holder != holder and until > now:
        return False
    session.execute(update(LEASE).where(LEASE.c.name == name).values(holder=holder, until=now + ttl))
    return True


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(LEASE.delete().where(LEASE.c.name == name, LEASE.c.holder == holder))
