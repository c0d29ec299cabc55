"""Retention: ``retention_days`` after a pairing closes, its message bodies are purged; the rows stay.

The planner looks, per program, for closed pairings past their retention
whose messages still have bodies, and plans one job for each; the handler
purges the messages, the copies made of them and the transcripts sent to
the pair, with freed bytes zeroed, then the store's files are compacted.
A legal hold on either person stops it; the job key counts the holds ever
placed, so a pairing skipped under a hold is planned again once it is
cleared.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from relay.safeguarding import store as safe_store
from relay.safeguarding import wipe
from relay.safeguarding.purge import purge_copies, purge_messages, quoting_answers
from relay.safeguarding.settings import safeguarding
from relay.store import jobs
from relay.store.tables import Delivery, Job, LegalHold, Message, Pairing, Program

log = logging.getLogger(__name__)

JOB_KIND = "retention-purge"


def due_on(closed_at: datetime, retention_days: int) -> datetime:
    return closed_at + timedelta(days=retention_days)


def _holds_ever(session: Session, participant_ids: tuple[int, int]) -> int:
    return session.exec(select(func.count()).select_from(LegalHold)
                        .where(LegalHold.participant_id.in_(participant_ids))).one()


def plan_purges(session: Session, now: datetime) -> list[jobs.Planned]:
    """Planner: one job per closed pairing past retention that still has message bodies."""
    held, planned = safe_store.held_participant_ids(session), []
    for program in session.exec(select(Program).order_by(Program.id)):
        cutoff = now - timedelta(days=safeguarding(program).retention_days)
        waiting = session.exec(
            select(Pairing).where(Pairing.program_id == program.id, Pairing.status == "closed",
                                  Pairing.closed_at.is_not(None), Pairing.closed_at <= cutoff,
                                  select(Message.id).where(Message.pairing_id == Pairing.id,
                                                           Message.purged_at.is_(None)).exists())
        )
        for pairing in waiting:
            pair = (pairing.mentor_id, pairing.mentee_id)
            if held & set(pair):
                continue
            key = f"{JOB_KIND}:{pairing.id}:{_holds_ever(session, pair)}"
            planned.append(jobs.Planned(key, JOB_KIND, due_on(pairing.closed_at, safeguarding(program).retention_days),
                                        {"pairing_id": pairing.id}))
    return planned


class PurgeHandler:
    """Purges one pairing's bodies; afterwards (outside the transaction) the files are compacted."""

    def __init__(self) -> None:
        self.pending = False

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        pairing = session.get(Pairing, jobs.payload(job).get("pairing_id"))
        if pairing is None or pairing.status != "closed":
            return
        if any(safe_store.active_hold(session, pid) for pid in (pairing.mentor_id, pairing.mentee_id)):
            log.info("retention: pairing %s is under a legal hold; not purged", pairing.id)
            return
        with wipe.secure(session):
            ids = list(session.exec(select(Message.id).where(Message.pairing_id == pairing.id)))
            count = purge_messages(session, ids + quoting_answers(session, ids), now)
            purge_copies(session, select(Delivery.id).where(
                Delivery.kind == "transcript", Delivery.recipient_id.in_((pairing.mentor_id, pairing.mentee_id))))
        log.info("retention: purged %s message(s) of pairing %s", count, pairing.id)
        self.pending = True

    def compact_after(self, engine) -> None:
        """The scheduler's after-tick step: make the purged bytes leave the files."""
        if self.pending:
            self.pending = False
            wipe.compact(engine)
