"""Moderation tokens, the record of moderator actions, and the review queue. Query functions never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, update
from sqlmodel import Session, select

from relay import model
from relay.store.tables import Message, ModerationAction, ModerationToken, Participant

TOKEN = ModerationToken.__table__
ACTION = ModerationAction.__table__
MESSAGE = Message.__table__

# The answers that decide a held message; the first one done wins.
DECISIONS = ("approve", "reject", "redact")


def insert_token(
    session: Session, token_hash: str, message_id: int, moderator_id: int, now: datetime, expires_at: datetime
) -> None:
    session.add(
        ModerationToken(
            token_hash=token_hash, message_id=message_id, moderator_id=moderator_id, created_at=now, expires_at=expires_at
        )
    )
    session.flush()


def get_token(session: Session, token_hash: str) -> ModerationToken | None:
    return session.get(ModerationToken, token_hash)


def use_token(session: Session, token_hash: str, now: datetime) -> bool:
    """Mark a token used; False if it was used meanwhile (only one answer per token)."""
    result = session.execute(
        update(TOKEN).where(TOKEN.c.token_hash == token_hash, TOKEN.c.used_at.is_(None)).values(used_at=now)
    )
    return result.rowcount == 1


def lock_message(session: Session, message_id: int) -> Message | None:
    """The message, row-locked on PostgreSQL so two moderators' answers are taken one at a time."""
    query = select(Message).where(Message.id == message_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def record_action(
    session: Session,
    *,
    message_id: int | None,
    actor_id: int | None,
    actor: str,
    action: str,
    argument: str = "",
    via: str,
    at: datetime,
    outcome: str,
) -> int:
    row = ModerationAction(
        message_id=message_id,
        actor_id=actor_id,
        actor=actor[:320],
        action=action[:16],
        argument=argument,
        via=via,
        at=at,
        outcome=outcome,
    )
    session.add(row)
    session.flush()
    return row.id


def decision(session: Session, message_id: int) -> ModerationAction | None:
    """The approve, reject or redact that decided this message, if one did."""
    return session.exec(
        select(ModerationAction)
        .where(
            ModerationAction.message_id == message_id,
            ModerationAction.action.in_(DECISIONS),
            ModerationAction.outcome == "done",
        )
        .order_by(ModerationAction.id)
    ).first()


def active_moderators(session: Session, program_id: int) -> list[Participant]:
    return list(
        session.exec(
            select(Participant)
            .where(
                Participant.program_id == program_id,
                Participant.role == model.Role.MODERATOR.value,
                Participant.status == "active",
            )
            .order_by(Participant.id)
        )
    )


def moderators_by_email(session: Session, email: str) -> list[Participant]:
    return list(
        session.exec(
            select(Participant).where(
                Participant.email == email,
                Participant.role == model.Role.MODERATOR.value,
                Participant.status == "active",
            )
        )
    )


def review_queue(session: Session, limit: int = 200) -> list[Message]:
    """Held messages, and flagged ones no moderator has answered yet; oldest first."""
    answered = exists().where(
        and_(ACTION.c.message_id == MESSAGE.c.id, ACTION.c.outcome == "done", ACTION.c.action != "notice")
    )
    query = (
        select(Message)
        .where(
            Message.kind.in_(("participant", "circle")),
            or_(Message.status == "held", and_(Message.verdict == "flag", ~answered)),
        )
        .order_by(Message.received_at, Message.id)
        .limit(limit)
    )
    return list(session.exec(query))
