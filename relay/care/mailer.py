"""Renders a notice for one participant and queues it in the caller's transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from relay import notices
from relay.outbound.message_ids import new_message_id
from relay.store.tables import Participant


@dataclass
class Mailer:
    env: Any
    domain: str

    def send(self, session: Session, template: str, person: Participant, context: dict, now: datetime, *,
             kind: str = "notice", attachments=(), in_reply_to: str = "") -> int:
        return notices.notify(
            session, self.env, template, {"person": person.handle, **context}, person=person, kind=kind,
            domain=self.domain, now=now, masked_id=new_message_id(self.domain, secrets.token_hex(12)),
            attachments=attachments, in_reply_to=in_reply_to,
        )

    def alias(self, person: Participant) -> str:
        return f"{person.alias}@{self.domain}"
