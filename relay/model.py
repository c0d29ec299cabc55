"""Frozen value types passed between the stages of a message's path.

Nothing here touches sockets, the database or the clock: every stage takes
these values in and gives new ones back, so each stage can be tested alone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


class Role(str, enum.Enum):
    MENTOR = "mentor"
    MENTEE = "mentee"
    MODERATOR = "moderator"
    COORDINATOR = "coordinator"


# Written on every copy the relay sends; a copy that comes back (a participant's
# auto-forward to an alias) carries it and is refused at the door as a loop.
LOOP_HEADER = "X-Mentor-Relay-Loop"


class Action(str, enum.Enum):
    """What the policy decides for a message, mildest first."""

    DELIVER = "deliver"
    FLAG = "flag"  # deliver and tell the moderators
    HOLD = "hold"  # keep until a moderator approves
    REJECT = "reject"  # refuse at SMTP time

    @property
    def weight(self) -> int:
        return _ACTION_WEIGHT[self]


_ACTION_WEIGHT = {Action.DELIVER: 0, Action.FLAG: 1, Action.HOLD: 2, Action.REJECT: 3}


class Severity(str, enum.Enum):
    NORMAL = "normal"
    URGENT = "urgent"  # safeguarding: notices say so loudly


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Inspection:
    """The readable content of a message, as the policy rules see it.

    Built by ``relay.intake.parse.inspect``; every text is already decoded.
    """

    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    texts: tuple[str, ...] = ()  # text/plain parts
    htmls: tuple[str, ...] = ()  # text/html parts, raw markup
    attachments: tuple[Attachment, ...] = ()
    encrypted: bool = False  # multipart/encrypted, S/MIME, PGP blocks
    signed: bool = False  # multipart/signed, PGP signatures or keys
    problems: tuple[str, ...] = ()  # why the relay could not read it fully
    auto_submitted: str = ""  # RFC 3834 value or "" for a person's mail
    message_id: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    size: int = 0
    # Read in the same single parse, for the door's checks:
    header_problems: tuple[str, ...] = ()  # headers that could be read two ways (refused at DATA)
    received_count: int = 0  # Received headers: a loop is refused past a bound
    loop_markers: tuple[str, ...] = ()  # X-Mentor-Relay-Loop values, lowercased
    mime_depth: int = 0  # deepest nesting of parts (0: a single part)
    auto_kind: str = ""  # dsn | mdn | autoreply | "" (a person's message); see relay.intake.autoreply
    dsn: tuple[str, str] = ("", "")  # a DSN's first (action, status), e.g. ("failed", "5.1.1")


@dataclass(frozen=True)
class Participant:
    id: int
    program_id: int
    email: str
    alias: str
    handle: str
    role: Role
    status: str = "active"
    premoderate: bool = False
    timezone: str = ""
    display_name: str = ""
    away_until: datetime | None = None


@dataclass(frozen=True)
class PairingFacts:
    """What the policy needs to know about the writer and the program, read with the recipient at RCPT."""

    program_name: str
    region: str
    pairing_count: int  # messages the pairing (or circle) has exchanged, counted to a bound
    pairing_on_hold: bool  # a moderator asked to hold this pairing's messages
    sender_status: str  # active | suspended | left


@dataclass(frozen=True)
class PolicyContext:
    """What the rules may know beyond the message itself."""

    program_name: str = "default"
    region: str = "US"  # default region for phone numbers
    sender: Participant | None = None
    recipients: tuple[Participant, ...] = ()
    pairing_message_count: int = 0  # messages already exchanged in the pairing
    known_addresses: frozenset[str] = frozenset()  # participants' real addresses and aliases
    relay_domain: str = ""
    # What moderators decided and what the sender check found, for the rules
    # that carry those decisions (see relay/policy/rules/status.py).
    sender_status: str = "active"  # "suspended" when a moderator suspended the sender
    pairing_on_hold: bool = False  # a moderator asked to hold this pairing's messages
    auth_verdict: str = "none"  # the sender check: pass | fail | none ("fail" refuses or holds)
    auth_reason: str = ""  # its reason, shown to the sender (refusal) or the moderator (hold)
    auth_smtp_code: int = 0  # the reply the check asks for on a refusal (0: 550)
    auth_enhanced: str = ""  # its enhanced status ("": 5.7.26)


@dataclass(frozen=True)
class Finding:
    """One rule that fired, with the evidence a moderator needs."""

    rule: str
    action: Action
    reason: str
    excerpt: str = ""
    severity: Severity = Severity.NORMAL
    match: str = ""  # the matched text itself, as it appears in the excerpt, to highlight


@dataclass(frozen=True)
class Verdict:
    action: Action
    findings: tuple[Finding, ...] = ()

    @property
    def urgent(self) -> bool:
        return any(f.severity is Severity.URGENT for f in self.findings)

    @staticmethod
    def combine(findings: tuple[Finding, ...] | list[Finding]) -> "Verdict":
        findings = tuple(findings)
        action = max((f.action for f in findings), key=lambda a: a.weight, default=Action.DELIVER)
        return Verdict(action=action, findings=findings)


@dataclass(frozen=True)
class MaskContext:
    """Everything the masked copy of one message for one recipient depends on."""

    domain: str
    sender_handle: str
    sender_alias: str
    recipient_email: str
    recipient_handle: str
    message_id: str  # the relay's Message-ID for this copy, with angle brackets
    date: datetime
    in_reply_to: tuple[str, ...] = ()  # already mapped to ids the recipient knows
    references: tuple[str, ...] = ()
    # lower-cased real address -> alias, for every participant the message may name
    # (a plain dict, or the program's shared AddressBook)
    address_map: Mapping[str, str] = field(default_factory=dict)
    # real display name -> handle: every name the copy's two sides have used
    name_map: Mapping[str, str] = field(default_factory=dict)
    reply_to: str = ""  # e.g. a circle alias, so replies go back to the circle
    extra_headers: tuple[tuple[str, str], ...] = ()  # List-Id, X-Mentor-Relay-Program, ...
    strip_remote_images: bool = False


@dataclass(frozen=True)
class StoredMessage:
    """A participant message just written to the store (handed to after-store hooks)."""

    id: int
    program_id: int
    sender: Participant
    recipients: tuple[Participant, ...]
    pairing_id: int | None
    verdict: Verdict
    inspection: Inspection
    delivery_ids: tuple[int, ...]
    received_at: datetime
    circle_id: int | None = None
