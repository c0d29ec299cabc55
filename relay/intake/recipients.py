"""What a route resolves each accepted RCPT to: one frozen value per kind of relay address.

``Transaction.recipients`` holds these and nothing else, so a later stage
(the data checks, the store step) can ask what it has with ``isinstance``
instead of guessing at attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay import model


@dataclass(frozen=True)
class PairRecipient:
    """A participant's alias, written to by their partner."""

    recipient: model.Participant
    sender: model.Participant
    pairing_id: int | None
    ended: bool = False  # a former partner writing after the pairing closed
    facts: model.PairingFacts | None = None  # read in the same statement batch as the rest, at RCPT


@dataclass(frozen=True)
class CircleInfo:
    id: int
    program_id: int
    name: str
    handle: str
    alias: str


@dataclass(frozen=True)
class CircleRecipient:
    """One member a circle message is for."""

    recipient: model.Participant
    sender: model.Participant
    circle: CircleInfo
    mode: str  # each | digest
    pairing_id: int | None = None


@dataclass(frozen=True)
class TokenRecipient:
    """A moderator's (or coordinator's) answer address: the token it carries."""

    token: str


@dataclass(frozen=True)
class BounceRecipient:
    """A VERP bounce address: the delivery it names."""

    delivery_id: int


@dataclass(frozen=True)
class AddressRecipient:
    """The service address or postmaster: the address as named."""

    address: str


Recipient = PairRecipient | CircleRecipient | TokenRecipient | BounceRecipient | AddressRecipient


def sender_of(recipients: list[Recipient]) -> model.Participant | None:
    """The enrolled writer a participant or circle route resolved, if any."""
    first = recipients[0] if recipients else None
    return first.sender if isinstance(first, (PairRecipient, CircleRecipient)) else None
