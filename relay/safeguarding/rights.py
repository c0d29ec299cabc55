"""A person's rights over their data: an export of everything about them, and erasure.

Export: ``messages.mbox`` holds every message they wrote, as stored, and
every message they received, as it reached them (the masked copy, so the
other side's real address never appears), plus what the relay itself wrote
to them; ``record.json`` holds their record, pairings, consents, holds and
the moderation actions about them. Erasure removes their real address,
handle and name, blanks the text of every message they wrote or received
(and of the notices, transcripts and answers that quoted it), keeps the
anonymous rows, and retires the alias for ever: the Alias row stays, so it
is never issued again, and mail to it is refused like an unknown alias.
A legal hold refuses erasure.
"""

from __future__ import annotations

import json
import mailbox
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, select

from relay.notices import environment
from relay.safeguarding import store as safe_store
from relay.safeguarding import wipe
from relay.safeguarding.purge import purge_copies, purge_messages, quoting_answers
from relay.store.tables import (Attempt, Consent, Delivery, InboundEvent, Message, ModerationAction, Pairing,
                                Participant, Program)

ERASED_HANDLE = "(erased)"


class RightsError(Exception):
    """Refused, with a reason for the operator (a legal hold, nobody by that address)."""


def wrote(session: Session, person_ids: list[int]) -> list[Message]:
    return list(session.exec(select(Message).where(Message.sender_id.in_(person_ids)).order_by(Message.id)))


def received(session: Session, person_ids: list[int]) -> list[Delivery]:
    return list(session.exec(select(Delivery).where(Delivery.recipient_id.in_(person_ids)).order_by(Delivery.id)))


def _as_received(session: Session, delivery: Delivery, domain: str) -> bytes | None:
    from relay.outbound.content import copy_bytes
    from relay.outbound.jobs import load_job

    job = load_job(session, delivery.id, domain)
    return copy_bytes(job, environment()) if job is not None else None


def export_messages(session: Session, person_ids: list[int], domain: str) -> list[bytes]:
    """Every message they wrote (as stored) and received (as sent to them), oldest first."""
    dated: list[tuple[datetime, int, bytes]] = [(m.received_at, m.id, m.raw) for m in wrote(session, person_ids) if m.raw]
    for delivery in received(session, person_ids):
        data = _as_received(session, delivery, domain)
        if data:
            dated.append((delivery.created_at, 10**12 + delivery.id, data))
    return [data for _, _, data in sorted(dated)]


def record(session: Session, people: list[Participant]) -> dict[str, Any]:
    ids = [p.id for p in people]
    own = [m.id for m in wrote(session, ids)]
    pairings = list(session.exec(select(Pairing).where(or_(Pairing.mentor_id.in_(ids), Pairing.mentee_id.in_(ids)))))
    actions = session.exec(select(ModerationAction).where(or_(ModerationAction.message_id.in_(own or [0]),
                                                              ModerationAction.actor_id.in_(ids)))).all()
    return {
        "participants": [{
            "program": session.get(Program, p.program_id).name, "email": p.email, "alias": p.alias, "handle": p.handle,
            "role": p.role, "status": p.status, "display_name": p.display_name, "timezone": p.timezone,
            "created_at": p.created_at, "guardian": _guardian(session, p.id),
            "legal_holds": [h.model_dump(exclude={"participant_id"}) for h in safe_store.holds_of(session, p.id)],
        } for p in people],
        "pairings": [{"id": x.id, "role": "mentor" if x.mentor_id in ids else "mentee", "status": x.status,
                      "created_at": x.created_at, "closed_at": x.closed_at} for x in pairings],
        "consents": [c.model_dump() for c in session.exec(select(Consent).where(Consent.participant_id.in_(ids)))],
        "moderation_actions": [{"message_id": a.message_id, "action": a.action, "argument": a.argument, "via": a.via,
                                "at": a.at, "outcome": a.outcome} for a in actions],
        "messages_written": len(own),
    }


def _guardian(session: Session, participant_id: int) -> dict | None:
    row = safe_store.guardian_of(session, participant_id)
    return None if row is None else row.model_dump(exclude={"id", "participant_id"})


def write_export(directory: Path, messages: list[bytes], data: dict[str, Any]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    box_path, record_path = directory / "messages.mbox", directory / "record.json"
    box_path.unlink(missing_ok=True)
    box = mailbox.mbox(str(box_path), create=True)
    try:
        for raw in messages:
            box.add(mailbox.mboxMessage(raw))
        box.flush()
    finally:
        box.close()
    record_path.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    return box_path, record_path


@dataclass(frozen=True)
class Erased:
    people: int
    messages: int


def erase(session: Session, people: list[Participant], now: datetime) -> Erased:
    """Everything but anonymous rows, in the caller's transaction; run ``wipe.compact`` after the commit."""
    for person in people:
        hold = safe_store.active_hold(session, person.id)
        if hold is not None:
            raise RightsError(f"{person.handle} is under a legal hold since {hold.placed_at:%Y-%m-%d} "
                              f"({hold.reason}); clear it first")
    ids = [p.id for p in people]
    with wipe.secure(session):
        message_ids = _erase_messages(session, ids, now)
        _erase_deliveries(session, ids)
        for person in people:
            _erase_person(session, person)
    return Erased(people=len(people), messages=len(message_ids))


def _erase_messages(session: Session, ids: list[int], now: datetime) -> list[int]:
    theirs = [m.id for m in wrote(session, ids)]
    theirs += [d.message_id for d in received(session, ids) if d.message_id is not None]
    message_ids = sorted(set(theirs + quoting_answers(session, theirs)))
    session.execute(update(Delivery).where(Delivery.message_id.in_(message_ids or [0]),
                                           Delivery.status.in_(("queued", "deferred")))
                    .values(status="cancelled", last_error="erased"))
    purge_messages(session, message_ids, now)
    session.execute(update(Message).where(Message.sender_id.in_(ids))
                    .values(envelope_from="", peer="", helo="", auth_result="", original_message_id=""))
    session.execute(update(ModerationAction).where(ModerationAction.message_id.in_(message_ids or [0])).values(argument=""))
    return message_ids


def _erase_deliveries(session: Session, ids: list[int]) -> None:
    mine = select(Delivery.id).where(Delivery.recipient_id.in_(ids))
    session.execute(update(Delivery).where(Delivery.recipient_id.in_(ids), Delivery.status.in_(("queued", "deferred", "held")))
                    .values(status="cancelled", last_error="erased"))
    session.execute(update(Attempt).where(Attempt.delivery_id.in_(mine)).values(detail=""))
    session.execute(update(InboundEvent).where(InboundEvent.delivery_id.in_(mine)).values(detail=""))
    session.execute(update(Delivery).where(Delivery.recipient_id.in_(ids)).values(content=None, intent=None,
                                                                                  rcpt_email="erased.invalid"))
    partners = select(Pairing.mentor_id).where(Pairing.mentee_id.in_(ids)).union(
        select(Pairing.mentee_id).where(Pairing.mentor_id.in_(ids)))
    purge_copies(session, select(Delivery.id).where(Delivery.kind == "transcript", Delivery.recipient_id.in_(partners)))


def _erase_person(session: Session, person: Participant) -> None:
    session.execute(update(ModerationAction).where(ModerationAction.actor == person.email).values(actor="erased"))
    guardian = safe_store.guardian_of(session, person.id)
    if guardian is not None:
        guardian.email, guardian.decided_by = f"erased-{guardian.id}@erased.invalid", ""
        session.add(guardian)
    person.email = f"erased-{person.id}@erased.invalid"
    person.handle, person.display_name, person.away_reason = ERASED_HANDLE, "", ""
    person.status = "erased"
    session.add(person)


def people_by_email(session: Session, email: str) -> list[Participant]:
    from relay.store import directory

    return [p for p in directory.participants_by_email(session, email) if p.status != "erased"]

