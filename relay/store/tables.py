"""Every table of the store, in one place.

The schema is owned by Alembic (``relay/store/migrations``); a test checks
that the migrations and these classes agree. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Program(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    timezone: str = Field(default="UTC", max_length=64)
    region: str = Field(default="US", max_length=2)  # default region for phone numbers
    response_window_hours: int = Field(default=48)
    settings: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    status: str = Field(default="active", max_length=16)  # active | closing | closed
    closes_on: date | None = None
    closed_at: datetime | None = None
    created_at: datetime
    # Raised whenever the program's real addresses change (enrolment, erasure),
    # so a cached address book is never used past the change.
    mask_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Alias(SQLModel, table=True):
    """Every alias ever issued; rows are never deleted, so no alias is reused."""

    local_part: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # participant | circle
    owner_id: int
    created_at: datetime


class Participant(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("program_id", "email", name="uq_participant_program_email"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    email: str = Field(max_length=320, index=True)  # normalised: domain lower-cased
    alias: str = Field(max_length=64, unique=True)  # local part on the relay domain
    handle: str = Field(max_length=64)
    role: str = Field(max_length=16)
    status: str = Field(default="active", max_length=16)  # active | suspended | left
    display_name: str = Field(default="", max_length=200)  # learned from From headers
    timezone: str = Field(default="", max_length=64)  # empty: the program's
    quiet_start: int = Field(default=21)  # local hour; no reminders from here ...
    quiet_end: int = Field(default=8)  # ... to here
    premoderate: bool = Field(default=False)  # every message from or to them is held
    away_until: datetime | None = None
    away_reason: str = Field(default="", max_length=200)
    guardian_email: str | None = Field(default=None, max_length=320)  # normalised, like email; never shown
    created_at: datetime


class ParticipantName(SQLModel, table=True):
    """Every display name a participant has written in a From header: all are masked, not only the latest."""

    __tablename__ = "participant_name"
    __table_args__ = (UniqueConstraint("participant_id", "name", name="uq_participant_name"),)

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    name: str = Field(max_length=200)
    first_seen_at: datetime


class Pairing(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id", index=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    status: str = Field(default="active", max_length=16)  # active | closing | closed
    held_by_moderator: bool = Field(default=False)  # a moderator said "hold": next messages held
    created_at: datetime
    closes_on: date | None = None
    closed_at: datetime | None = None


class Circle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("program_id", "name", name="uq_circle_program_name"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    name: str = Field(max_length=100)
    handle: str = Field(max_length=64)
    alias: str = Field(max_length=64, unique=True)
    status: str = Field(default="active", max_length=16)
    created_at: datetime


class CircleMember(SQLModel, table=True):
    __tablename__ = "circle_member"
    __table_args__ = (UniqueConstraint("circle_id", "participant_id", name="uq_circle_member"),)

    id: int | None = Field(default=None, primary_key=True)
    circle_id: int = Field(foreign_key="circle.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    delivery_mode: str = Field(default="each", max_length=16)  # each | digest
    status: str = Field(default="active", max_length=16)  # active | left
    joined_at: datetime
    left_at: datetime | None = None


class Message(SQLModel, table=True):
    """One accepted message, exactly as received, with its envelope and verdict."""

    id: int | None = Field(default=None, primary_key=True)
    program_id: int | None = Field(default=None, foreign_key="program.id", index=True)
    # participant | circle | command | moderation | bounce | notice | postmaster
    kind: str = Field(default="participant", max_length=16)
    sender_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id", index=True)
    circle_id: int | None = Field(default=None, foreign_key="circle.id", index=True)
    envelope_from: str = Field(default="", max_length=320)
    envelope_rcpts: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    peer: str = Field(default="", max_length=100)
    helo: str = Field(default="", max_length=255)
    received_at: datetime = Field(index=True)
    original_message_id: str = Field(default="", max_length=998, index=True)
    in_reply_to: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    references: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    body_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int = 0
    # stored | queued | held | delivered | partial | failed | rejected
    status: str = Field(default="queued", max_length=16, index=True)
    verdict: str = Field(default="deliver", max_length=16)  # deliver | flag | hold | reject
    urgent: bool = Field(default=False)
    auth_result: str = Field(default="", max_length=200)
    purged_at: datetime | None = None  # retention or erasure removed the body; metadata stays


class Finding(SQLModel, table=True):
    """A rule that fired on a message: the evidence behind its verdict."""

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    rule: str = Field(max_length=64)
    action: str = Field(max_length=16)
    severity: str = Field(default="normal", max_length=16)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    excerpt: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # the matched text itself, so a moderator's "redact" can remove exactly it
    match: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Delivery(SQLModel, table=True):
    """One copy of a message (or one notice) to one real mailbox: the outbound queue."""

    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    recipient_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    rcpt_email: str = Field(max_length=320)
    # forward | notice | moderation | reminder | digest | transcript | confirmation | bounce-notice
    kind: str = Field(default="forward", max_length=24)
    # held | queued | sending | deferred | delivered | failed | cancelled
    status: str = Field(default="queued", max_length=16)
    masked_message_id: str = Field(max_length=255, index=True)
    # relay-generated messages are rendered once and kept here; forwards are masked at send time
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # or, for most notices, what to render at send time: template and values as JSON (relay.notices.intent)
    intent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    null_sender: bool = Field(default=False)  # MAIL FROM:<> (failure notices)
    attempts: int = 0
    created_at: datetime
    next_attempt_at: datetime
    expires_at: datetime
    lease_until: datetime | None = None
    claimed_by: str = Field(default="", max_length=64)
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    delivered_at: datetime | None = None


class Attempt(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    at: datetime
    outcome: str = Field(max_length=16)  # delivered | deferred | failed
    code: int = 0
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    duration_ms: int = 0


class InboundEvent(SQLModel, table=True):
    """A DSN, out-of-office reply or read receipt that came back to a bounce address."""

    __tablename__ = "inbound_event"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    kind: str = Field(max_length=16)  # dsn | autoreply | mdn
    at: datetime
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class ModerationToken(SQLModel, table=True):
    """A single-use, expiring token in a notice's Reply-To; only its hash is stored."""

    __tablename__ = "moderation_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    message_id: int = Field(foreign_key="message.id", index=True)
    moderator_id: int = Field(foreign_key="participant.id")
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class ModerationAction(SQLModel, table=True):
    """Who did what to which message, when and how (email or CLI)."""

    __tablename__ = "moderation_action"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="participant.id")
    actor: str = Field(default="", max_length=320)
    action: str = Field(max_length=16)  # approve | reject | hold | suspend | note | notice
    argument: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    via: str = Field(default="email", max_length=8)  # email | cli | relay
    at: datetime
    outcome: str = Field(default="done", max_length=16)  # done | noop | refused


class Job(SQLModel, table=True):
    """A scheduled piece of work; ``key`` makes planning idempotent."""

    __table_args__ = (Index("ix_job_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)  # reminder | digest | closure-notice | closure | circle-digest
    due_at: datetime
    status: str = Field(default="pending", max_length=16)  # pending | running | done | failed | cancelled
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    claimed_by: str = Field(default="", max_length=64)
    lease_until: datetime | None = None
    attempts: int = 0
    done_at: datetime | None = None
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Reminder(SQLModel, table=True):
    """A "your mentee is waiting" reminder or an escalation, sent once per level."""

    __table_args__ = (UniqueConstraint("message_id", "recipient_id", "level", name="uq_reminder_level"),)

    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int | None = Field(default=None, foreign_key="pairing.id", index=True)
    circle_id: int | None = Field(default=None, foreign_key="circle.id")
    message_id: int = Field(foreign_key="message.id", index=True)  # the waiting message
    recipient_id: int = Field(foreign_key="participant.id")
    level: int  # 1, 2 = reminders; 3 = escalation to coordinators
    sent_at: datetime
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")


class Consent(SQLModel, table=True):
    """A participant's "share my address" consent for one pairing."""

    __table_args__ = (UniqueConstraint("pairing_id", "participant_id", name="uq_consent"),)

    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id")
    participant_id: int = Field(foreign_key="participant.id")
    at: datetime
    approved_by: int | None = Field(default=None, foreign_key="participant.id")
    approved_at: datetime | None = None


class Lease(SQLModel, table=True):
    """A named lease (e.g. scheduler leader) shared by every relay instance."""

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    until: datetime


class DeploymentKey(SQLModel, table=True):
    """A secret every host of one deployment shares: the HMAC secret, or one DKIM key by selector.

    Kept with the store so that every host on one database signs with the same
    DKIM key and checks the same tokens. ``status`` of a DKIM key: ``next``
    (published, not yet signing), ``active`` (signing), ``previous`` (still
    published so mail already signed keeps verifying) or ``retired``.
    """

    __tablename__ = "deployment_key"

    name: str = Field(primary_key=True, max_length=80)  # "hmac" or "dkim:<selector>"
    kind: str = Field(max_length=16)  # hmac | dkim
    selector: str = Field(default="", max_length=63)
    status: str = Field(default="active", max_length=16)
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


class SafeguardToken(SQLModel, table=True):
    """A single-use reply address for an urgent alert or a guardian's consent; only its hash is stored."""

    __tablename__ = "safeguard_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=16)  # urgent | consent
    ref_id: int  # urgent_alert.id or guardian.id
    participant_id: int | None = Field(default=None, foreign_key="participant.id")  # the staff member it was sent to
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class UrgentAlert(SQLModel, table=True):
    """An urgent message's alert to staff: re-sent each period until someone acknowledges it."""

    __tablename__ = "urgent_alert"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", unique=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    raised_at: datetime
    rounds: int = 1
    next_at: datetime = Field(index=True)  # when it goes out again if still unacknowledged
    acked_at: datetime | None = None
    acked_by_id: int | None = Field(default=None, foreign_key="participant.id")
    acked_via: str = Field(default="", max_length=8)  # email | cli


class LegalHold(SQLModel, table=True):
    """Stops retention purges and erasure for one person, with who placed it and why."""

    __tablename__ = "legal_hold"

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    placed_by: str = Field(default="", max_length=320)
    placed_at: datetime
    cleared_at: datetime | None = None
    cleared_by: str = Field(default="", max_length=320)


class Guardian(SQLModel, table=True):
    """A mentee's parent or guardian, and the family's consent: who, when, how, which message."""

    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", unique=True)
    email: str = Field(max_length=320)
    consent: str = Field(default="none", max_length=16)  # none | requested | given | refused
    requested_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str = Field(default="", max_length=320)
    decided_how: str = Field(default="", max_length=16)  # email | paper
    decided_message_id: str = Field(default="", max_length=998)
    created_at: datetime
