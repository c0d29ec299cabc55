"""Which kind of relay address is this? Decided from the address alone.

Pure: aliases still need a directory lookup to say whom they belong to, but
the shape of the local part already tells moderation tokens, bounce
addresses, the service address and postmaster apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.addresses import BOUNCE_PREFIX, AddressError, split, validate_mailbox

SERVICE_LOCAL_PARTS = frozenset({"relay", "help"})
POSTMASTER = frozenset({"postmaster", "abuse"})
MODERATION_PREFIX = "mod-"
SAFEGUARDING_PREFIX = "safe-"  # urgent-alert acknowledgements and guardians' consent


@dataclass(frozen=True)
class Target:
    kind: str  # alias | moderation | bounce | safeguarding | service | postmaster | foreign | invalid
    address: str
    local: str = ""
    reason: str = ""


def classify(address: str, domain: str) -> Target:
    if address.strip("<> ").lower() == "postmaster":
        return Target("postmaster", "postmaster", "postmaster")  # RFC 5321 §4.5.1: bare <postmaster>
    try:
        value = validate_mailbox(address)
    except AddressError as error:
        return Target("invalid", address, reason=str(error))
    local, host = split(value)
    if host != domain.lower():
        return Target("foreign", value, local)
    if local in POSTMASTER:
        return Target("postmaster", value, local)
    if local in SERVICE_LOCAL_PARTS:
        return Target("service", value, local)
    if local.startswith(MODERATION_PREFIX):
        return Target("moderation", value, local)
    if local.startswith(BOUNCE_PREFIX):
        return Target("bounce", value, local)
    if local.startswith(SAFEGUARDING_PREFIX):
        return Target("safeguarding", value, local)
    return Target("alias", value, local)
