"""Every text a person receives from the relay itself, rendered from ``templates/`` with Jinja2.

A template ``NAME.txt`` starts with a ``Subject:`` line and a blank line;
an optional ``NAME.html`` gives the HTML alternative. Notices are stored
ready to send as deliveries, so they take the same outbound path (queue,
DKIM, transport) as forwarded mail; most are stored as an intent (the
template and its values) and rendered when they are sent, as forwards are
masked when they are sent.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from relay.outbound.headers import format_address, safe_header_value
from relay.store import messages

TEMPLATES = Path(os.environ.get("RELAY_TEMPLATES") or Path(__file__).resolve().parents[1] / "templates")


def environment(path: Path = TEMPLATES) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(path)),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "application/mbox"
    data: bytes


def render(env: Environment, name: str, context: dict[str, Any]) -> tuple[str, str, str | None]:
    """(subject, text, html or None) for template ``name``."""
    text = env.get_template(f"{name}.txt").render(**context)
    first, _, body = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise ValueError(f"template {name}.txt must start with a 'Subject:' line")
    html = None
    if f"{name}.html" in env.list_templates():
        html = env.get_template(f"{name}.html").render(**context)
    return safe_header_value(first[len("subject:") :].strip()), body.lstrip("\n"), html


def compose(
    env: Environment,
    name: str,
    context: dict[str, Any],
    *,
    domain: str,
    to_address: str,
    to_name: str,
    message_id: str,
    date: datetime,
    from_name: str = "mentor-relay",
    from_local: str = "relay",
    reply_to: str = "",
    in_reply_to: str = "",
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """A complete relay-written message, marked ``Auto-Submitted: auto-generated`` (RFC 3834)."""
    subject, text, html = render(env, name, {"domain": domain, **context})
    message = EmailMessage()
    message["From"] = format_address(from_name, f"{from_local}@{domain}")
    message["To"] = format_address(to_name, to_address)
    message["Subject"] = subject
    message["Date"] = format_datetime(date, usegmt=True)
    message["Message-ID"] = message_id
    if reply_to:
        message["Reply-To"] = reply_to
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"  # keeps Exchange out-of-office replies away
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        message.add_attachment(item.data, maintype=maintype, subtype=subtype, filename=item.filename)
    _fixed_boundaries(message, message_id)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _fixed_boundaries(message: EmailMessage, message_id: str) -> None:
    """Boundaries drawn from the notice's own (random, unguessable) Message-ID instead of the clock:
    a notice rendered again at a retry, or for an export, is the same bytes."""
    seed = hashlib.sha256(message_id.encode()).hexdigest()[:32]
    for number, part in enumerate(p for p in message.walk() if p.is_multipart()):
        part.set_boundary(f"=_mentor-relay_{seed}_{number}")


def notify(
    session: Session,
    env: Environment,
    name: str,
    context: dict[str, Any],
    *,
    person: Any,
    masked_id: str,
    domain: str,
    now: datetime,
    kind: str,
    lifetime: timedelta = timedelta(days=2),
    message_id: int | None = None,
    null_sender: bool = True,
    **options: Any,
) -> int:
    """Queue template ``name`` for one participant in the caller's transaction.

    ``person`` has ``id``, ``email`` and ``handle``; ``options`` go to ``compose``
    (reply_to, in_reply_to, from_name, attachments). The notice is queued as
    its intent (template and values, see ``intent``) and rendered when it is
    sent, so the transaction that queues it (often the one accepting a
    message, on the store's single writer) does no template or MIME work.
    One with attachments is rendered now: its attachments are its content.
    """
    composing = dict(domain=domain, to_address=person.email, to_name=person.handle, message_id=masked_id, date=now,
                     **options)
    if options.get("attachments"):
        content, planned = compose(env, name, context, **composing), None
    else:
        content, planned = None, intent(name, context, **composing)
    return enqueue(
        session, content=content, intent=planned, rcpt_email=person.email, recipient_id=person.id, kind=kind,
        masked_message_id=masked_id, now=now, lifetime=lifetime, message_id=message_id, null_sender=null_sender,
    )


def intent(name: str, context: dict[str, Any], *, date: datetime, **composing: Any) -> str:
    """What ``compose`` needs, as JSON: the template, its values (plain JSON values only) and the headers."""
    return json.dumps({"template": name, "context": context, "date": date.isoformat(), "compose": composing},
                      sort_keys=True)


def render_intent(env: Environment, planned: str) -> bytes:
    """The notice a stored intent describes, composed now (pure given the templates)."""
    values = json.loads(planned)
    return compose(env, values["template"], values["context"], date=datetime.fromisoformat(values["date"]),
                   **values["compose"])


def enqueue(
    session: Session,
    *,
    content: bytes | None,
    rcpt_email: str,
    recipient_id: int | None,
    kind: str,
    masked_message_id: str,
    now: datetime,
    lifetime: timedelta = timedelta(days=2),
    message_id: int | None = None,
    null_sender: bool = True,
    status: str = "queued",
    intent: str | None = None,
) -> int:
    """Queue a relay-written message (its bytes, or its ``intent``); it commits with the caller's transaction."""
    (delivery_id,) = messages.insert_deliveries(
        session,
        [
            dict(
                message_id=message_id,
                recipient_id=recipient_id,
                rcpt_email=rcpt_email,
                kind=kind,
                status=status,
                masked_message_id=masked_message_id,
                content=content,
                intent=intent,
                null_sender=null_sender,
                created_at=now,
                next_attempt_at=now,
                expires_at=now + lifetime,
            )
        ],
    )
    return delivery_id
