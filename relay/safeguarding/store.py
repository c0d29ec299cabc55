"""Store functions for safeguarding: reply tokens, urgent alerts, legal holds and guardians. They never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from relay.store.rows import Statement
from relay.store.tables import Guardian, LegalHold, SafeguardToken, UrgentAlert


def insert_token(session: Session, token_hash: str, purpose: str, ref_id: int, participant_id: int | None,
                 now: datetime, expires_at: datetime) -> None:
    session.add(SafeguardToken(token_hash=token_hash, purpose=purpose, ref_id=ref_id, participant_id=participant_id,
                               created_at=now, expires_at=expires_at))


def get_token(session: Session, token_hash: str) -> SafeguardToken | None:
    return session.get(SafeguardToken, token_hash)


def use_token(session: Session, token_hash: str, now: datetime) -> bool:
    """Mark a token used; False when another answer used it first (the row is claimed atomically)."""
    result = session.execute(
        update(SafeguardToken).where(SafeguardToken.token_hash == token_hash, SafeguardToken.used_at.is_(None))
        .values(used_at=now)
    )
    return result.rowcount == 1


def alert_of(session: Session, message_id: int) -> UrgentAlert | None:
    return session.exec(select(UrgentAlert).where(UrgentAlert.message_id == message_id)).first()


def due_alerts(session: Session, now: datetime, limit: int = 500) -> list[UrgentAlert]:
    """Unacknowledged alerts whose next round is due."""
    return list(session.exec(
        select(UrgentAlert).where(UrgentAlert.acked_at.is_(None), UrgentAlert.next_at <= now)
        .order_by(UrgentAlert.next_at).limit(limit)
    ))


def lock_alert(session: Session, alert_id: int) -> UrgentAlert | None:
    return session.exec(select(UrgentAlert).where(UrgentAlert.id == alert_id).with_for_update()).first()


def active_hold(session: Session, participant_id: int) -> LegalHold | None:
    return session.exec(
        select(LegalHold).where(LegalHold.participant_id == participant_id, LegalHold.cleared_at.is_(None))
        .order_by(LegalHold.id)
    ).first()


def held_participant_ids(session: Session) -> set[int]:
    return set(session.exec(select(LegalHold.participant_id).where(LegalHold.cleared_at.is_(None))))


def holds_of(session: Session, participant_id: int) -> list[LegalHold]:
    return list(session.exec(select(LegalHold).where(LegalHold.participant_id == participant_id).order_by(LegalHold.id)))


def guardian_of(session: Session, participant_id: int) -> Guardian | None:
    return session.exec(select(Guardian).where(Guardian.participant_id == participant_id)).first()


def guardian_of_pairing(session: Session, pairing_id: int) -> Guardian | None:
    """The guardian of a pairing's mentee: the per-message check of the after-store steps.

    Most mentees have none, so the question is one plain statement; only a found guardian is loaded.
    """
    found = _GUARDIAN_OF_PAIRING.rows(session, pairing=pairing_id)
    return session.get(Guardian, found[0][0]) if found else None


_GUARDIAN_OF_PAIRING = Statement(
    "SELECT guardian.id FROM guardian JOIN pairing ON pairing.mentee_id = guardian.participant_id"
    " WHERE pairing.id = :pairing ORDER BY guardian.id LIMIT 1"
)
