"""The welcome for a new pairing: each side meets the other by handle and alias, in the pairing's transaction.

The welcome comes From (and Reply-To) the partner's alias, so answering it
is simply writing to the partner: the relay takes the reply like any
participant message and passes it on masked. It names no real address.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from relay import notices
from relay.outbound.message_ids import new_message_id
from relay.store.tables import Pairing, Participant, Program

KIND = "welcome"
LIFETIME = timedelta(days=5)  # like a forward: a welcome is worth retrying for days


def window_text(hours: int) -> str:
    """The response window in words: "2 days", "36 hours", "1 day"."""
    hours = max(int(hours or 48), 1)
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day{'s' if days != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


def context(person: Participant, partner: Participant, program: Program, domain: str, now: datetime) -> dict[str, Any]:
    return dict(
        person=person.handle,
        role=person.role,
        partner=partner.handle,
        partner_role=partner.role,
        partner_alias=f"{partner.alias}@{domain}",
        program=program.name,
        window=window_text(program.response_window_hours),
        service=f"relay@{domain}",
        away_example=(now + timedelta(days=14)).date().isoformat(),
    )


def queue_welcomes(
    session: Session, env: Any, domain: str, pairing: Pairing, mentor: Participant, mentee: Participant, now: datetime
) -> list[int]:
    """Queue one welcome to each side of ``pairing``; commits with the caller's transaction."""
    program = session.get(Program, pairing.program_id)
    queued = []
    for person, partner in ((mentor, mentee), (mentee, mentor)):
        alias = f"{partner.alias}@{domain}"
        queued.append(
            notices.notify(
                session, env, "welcome", context(person, partner, program, domain, now), person=person,
                masked_id=new_message_id(domain, secrets.token_hex(12)), domain=domain, now=now, kind=KIND,
                lifetime=LIFETIME, null_sender=False, from_name=partner.handle, from_local=partner.alias,
                reply_to=alias,
            )
        )
    return queued
