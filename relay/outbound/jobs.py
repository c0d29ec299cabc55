"""Reading one claimed delivery and everything its masked copy depends on.

The store holds the original message; the masked copy is built at send time
from it, so a resend after a crash rebuilds the same copy with the same
Message-ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from urllib.parse import quote

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


def job_of(delivery: Delivery, **more) -> OutboundJob:
    """The delivery's own facts; ``more`` adds what a forward needs to be masked."""
    return OutboundJob(
        delivery_id=delivery.id,
        kind=delivery.kind,
        rcpt=delivery.rcpt_email,
        attempts=delivery.attempts,
        expires_at=delivery.expires_at,
        null_sender=delivery.null_sender,
        content=delivery.content,
        message_id=delivery.message_id,
        **more,
    )


def load_job(session: Session, delivery_id: int, domain: str, strip_images: Callable[[str], bool] = lambda program: False) -> OutboundJob | None:
    """``strip_images(program name)``: whether the policy strips remote images from that program's copies."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    if delivery.content is not None or delivery.message_id is None:
        return job_of(delivery)
    message = session.get(Message, delivery.message_id)
    mask = mask_context(session, message, delivery, domain, strip_images)
    return job_of(delivery, raw=message.raw, mask=mask, sender_id=message.sender_id)


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

