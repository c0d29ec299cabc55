"""Reading one claimed delivery and everything its masked copy depends on.

The store holds the original message; the masked copy is built at send time
from it, so a resend after a crash rebuilds the same copy with the same
Message-ID. The delivery and its message are read with one SQL statement
into plain rows, not ORM objects: this runs for every copy sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable
from urllib.parse import quote

from sqlalchemy import bindparam, select
from sqlmodel import Session

from relay import model
from relay.outbound import masking
from relay.outbound.message_ids import parse_id_list
from relay.store import messages
from relay.store.tables import Circle, Delivery, Message, Participant, Program


@dataclass(frozen=True)
class OutboundJob:
    delivery_id: int
    kind: str
    rcpt: str
    attempts: int
    expires_at: datetime
    null_sender: bool
    content: bytes | None  # relay-written messages are stored ready to send
    raw: bytes | None = None  # forwards: the original, masked at send time
    mask: model.MaskContext | None = None
    message_id: int | None = None
    sender_id: int | None = None
    intent: str | None = None  # a notice to render at send time (relay.notices.intent)


DELIVERY = Delivery.__table__
MESSAGE = Message.__table__
# The message's columns under a prefix, so one row carries both without a clash of names.
_MESSAGE_COLUMNS = [column.label(f"m_{column.name}") for column in MESSAGE.c]
# Built once; each delivery only binds its id.
_JOB_QUERY = (
    select(DELIVERY, *_MESSAGE_COLUMNS)
    .select_from(DELIVERY.outerjoin(MESSAGE, MESSAGE.c.id == DELIVERY.c.message_id))
    .where(DELIVERY.c.id == bindparam("delivery_id"))
)
_DELIVERY_QUERY = select(DELIVERY).where(DELIVERY.c.id == bindparam("delivery_id"))


def job_of(delivery: Any, **more) -> OutboundJob:
    """The delivery's own facts; ``more`` adds what a forward needs to be masked."""
    return OutboundJob(
        delivery_id=delivery.id,
        kind=delivery.kind,
        rcpt=delivery.rcpt_email,
        attempts=delivery.attempts,
        expires_at=delivery.expires_at,
        null_sender=delivery.null_sender,
        content=delivery.content,
        intent=delivery.intent,
        message_id=delivery.message_id,
        **more,
    )


def load_delivery(session: Any, delivery_id: int) -> OutboundJob | None:
    """The delivery's own facts alone (for recording an attempt whose job never loaded)."""
    row = _connection(session).execute(_DELIVERY_QUERY, {"delivery_id": delivery_id}).first()
    return job_of(row) if row is not None else None


def load_job(session: Session, delivery_id: int, domain: str,
             strip_images: Callable[[str], bool] = lambda program: False) -> OutboundJob | None:
    """``strip_images(program name)``: whether the policy strips remote images from that program's copies."""
    row = _connection(session).execute(_JOB_QUERY, {"delivery_id": delivery_id}).first()
    if row is None:
        return None
    if row.content is not None or row.intent is not None or row.message_id is None or row.m_id is None:
        return job_of(row)
    # The row reads as the delivery; its message's columns, unprefixed, read as the message.
    message = SimpleNamespace(**{key[2:]: value for key, value in row._mapping.items() if key.startswith("m_")})
    mask = mask_context(session, message, row, domain, strip_images)
    return job_of(row, raw=message.raw, mask=mask, sender_id=message.sender_id)


def _connection(session: Any) -> Any:
    """The Core connection under a Session (plain statements skip the ORM's execution path)."""
    return session.connection() if isinstance(session, Session) else session


def mask_context(session: Session, message: Message, delivery: Delivery, domain: str,
                 strip_images: Callable[[str], bool] = lambda program: False) -> model.MaskContext:
    sender = session.get(Participant, message.sender_id)
    recipient = session.get(Participant, delivery.recipient_id)
    program = session.get(Program, message.program_id)
    address_map, name_map = masking.copy_maps(session, message, sender, recipient, domain)
    in_reply_to = messages.ids_known_to(session, sender.id, recipient.id, parse_id_list(message.in_reply_to))
    references = messages.ids_known_to(session, sender.id, recipient.id, parse_id_list(message.references))
    # The loop marker: a copy that comes back to the relay (a participant's
    # auto-forward to an alias) carries it and is refused at the door.
    extra: list[tuple[str, str]] = [("X-Mentor-Relay-Program", program.name), (model.LOOP_HEADER, domain)]
    reply_to = ""
    sender_alias = f"{sender.alias}@{domain}"
    if message.circle_id is not None:
        circle = session.get(Circle, message.circle_id)
        # From the writer's handle at the circle's address: a reply goes back to the whole circle.
        sender_alias = reply_to = f"{circle.alias}@{domain}"
        extra = circle_headers(circle, domain) + extra
    return model.MaskContext(
        domain=domain,
        sender_handle=sender.handle,
        sender_alias=sender_alias,
        recipient_email=recipient.email,
        recipient_handle=recipient.handle,
        message_id=delivery.masked_message_id,
        date=message.received_at,
        in_reply_to=in_reply_to,
        references=references,
        address_map=address_map,
        name_map=name_map,
        reply_to=reply_to,
        extra_headers=tuple(extra),
        strip_remote_images=strip_images(program.name),
    )


def circle_headers(circle: Circle, domain: str) -> list[tuple[str, str]]:
    """RFC 2369/2919 list headers: clients offer "reply to list" and "unsubscribe", both to the relay."""
    address = f"{circle.alias}@{domain}"
    label = circle.handle.replace("\\", "").replace('"', "")
    return [
        ("List-Id", f'"{label}" <{circle.alias}.{domain}>'),
        ("List-Post", f"<mailto:{address}>"),
        ("List-Unsubscribe", f"<mailto:relay@{domain}?subject={quote('leave ' + circle.name)}>"),
    ]

