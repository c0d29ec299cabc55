"""Reading one claimed delivery and everything its masked copy depends on.

The store holds the original message; the masked copy is built at send time
from it, so a resend after a crash rebuilds the same copy with the same
Message-ID. This runs for every copy sent, so it reads plain rows with a
few plain SQL statements (``relay.store.delivery_reads``), no ORM objects:
the delivery with its message, both sides, program and circle in one; the
two sides' names in one; the thread ids the recipient knows in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable
from urllib.parse import quote

from relay import model
from relay.outbound import masking
from relay.outbound.message_ids import parse_id_list
from relay.store import delivery_reads
from relay.store.delivery_reads import CircleRow, DeliveryRow, Sides
from relay.store.rows import connection_of


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


def job_of(delivery: DeliveryRow, **more) -> OutboundJob:
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
    """The delivery's own facts alone (for recording an attempt whose job never loaded).

    ``session``: a Core Connection (``Database.lookup``) or a Session.
    """
    row = delivery_reads.delivery(connection_of(session), delivery_id)
    return job_of(row) if row is not None else None


def load_job(session: Any, delivery_id: int, domain: str,
             strip_images: Callable[[str], bool] = lambda program: False) -> OutboundJob | None:
    """``session``: a Core Connection (``Database.lookup``, the worker's) or a Session.

    ``strip_images(program name)``: whether the policy strips remote images from that program's copies.
    """
    conn = connection_of(session)
    found = delivery_reads.job(conn, delivery_id)
    if found is None:
        return None
    delivery, message, sides = found
    if delivery.content is not None or delivery.intent is not None or message is None:
        return job_of(delivery)
    mask = _mask(conn, message, delivery, sides, domain, strip_images)
    return job_of(delivery, raw=message.raw, mask=mask, sender_id=message.sender_id)


def mask_context(session: Any, message: Any, delivery: Any, domain: str,
                 strip_images: Callable[[str], bool] = lambda program: False) -> model.MaskContext:
    """The mask for a copy of ``message`` (a stored message) to ``delivery``'s recipient.

    ``delivery`` need not be stored: its ``recipient_id`` and ``masked_message_id`` are what count.
    """
    conn = connection_of(session)
    sides = delivery_reads.sides(conn, message.sender_id, delivery.recipient_id, message.program_id, message.circle_id)
    return _mask(conn, message, delivery, sides, domain, strip_images)


def _mask(conn: Any, message: Any, delivery: Any, sides: Sides, domain: str,
          strip_images: Callable[[str], bool]) -> model.MaskContext:
    sender, recipient = sides.sender, sides.recipient
    if sender is None or recipient is None or sides.program_name is None or (
            message.circle_id is not None and sides.circle is None):
        raise LookupError(f"message {message.id}: its sender, recipient, program or circle is no longer in the store")
    address_map, name_map = masking.copy_maps(conn, message.program_id, message.circle_id, sides, domain)
    in_reply_to, references = parse_id_list(message.in_reply_to), parse_id_list(message.references)
    known = delivery_reads.known_ids(conn, sender.id, recipient.id, [*in_reply_to, *references])
    # The loop marker: a copy that comes back to the relay (a participant's
    # auto-forward to an alias) carries it and is refused at the door.
    extra: list[tuple[str, str]] = [("X-Mentor-Relay-Program", sides.program_name), (model.LOOP_HEADER, domain)]
    reply_to = ""
    sender_alias = f"{sender.alias}@{domain}"
    if sides.circle is not None:
        # From the writer's handle at the circle's address: a reply goes back to the whole circle.
        sender_alias = reply_to = f"{sides.circle.alias}@{domain}"
        extra = circle_headers(sides.circle, domain) + extra
    return model.MaskContext(
        domain=domain,
        sender_handle=sender.handle,
        sender_alias=sender_alias,
        recipient_email=recipient.email,
        recipient_handle=recipient.handle,
        message_id=delivery.masked_message_id,
        date=message.received_at,
        in_reply_to=_mapped(in_reply_to, known),
        references=_mapped(references, known),
        address_map=address_map,
        name_map=name_map,
        reply_to=reply_to,
        extra_headers=tuple(extra),
        strip_remote_images=strip_images(sides.program_name),
    )


def _mapped(ids: tuple[str, ...], known: dict[str, str]) -> tuple[str, ...]:
    """The ids the recipient knows, in the reply's order, each once; the others are dropped."""
    return tuple(dict.fromkeys(known[i] for i in ids if known.get(i)))


def circle_headers(circle: CircleRow, domain: str) -> list[tuple[str, str]]:
    """RFC 2369/2919 list headers: clients offer "reply to list" and "unsubscribe", both to the relay."""
    address = f"{circle.alias}@{domain}"
    label = circle.handle.replace("\\", "").replace('"', "")
    return [
        ("List-Id", f'"{label}" <{circle.alias}.{domain}>'),
        ("List-Post", f"<mailto:{address}>"),
        ("List-Unsubscribe", f"<mailto:relay@{domain}?subject={quote('leave ' + circle.name)}>"),
    ]
