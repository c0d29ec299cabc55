"""Address parsing and normalising, and alias generation.

Pure: randomness comes in as bytes from the edge, so the same bytes always
give the same alias and tests can name the alias they expect.
"""

from __future__ import annotations

import hmac
import re

from relay.macs import mac_b32

ADJECTIVES = (
    "kind brave calm bright clever gentle happy honest jolly lively lucky merry "
    "neat proud quick quiet sunny swift tidy warm wise bold cheery eager fair "
    "fond glad grand keen mild noble plucky polite steady sturdy true witty "
    "amber azure coral golden hazel ivory jade lilac maple mossy olive pearl "
    "rosy ruby sandy silver snowy teal velvet misty breezy cosy dapper frosty "
    "nimble patient peppy spry"
).split()
ANIMALS = (
    "otter badger beaver bison crane dolphin eagle falcon ferret finch fox gecko "
    "heron ibis koala lemur lynx marten moose newt owl panda puffin quail rabbit "
    "raven robin seal sparrow swan tapir tiger turtle walrus whale wren yak zebra "
    "alpaca bee bat camel deer dove egret goose hare hedgehog jay kiwi lark llama "
    "mole orca pelican pony squirrel stork toucan vole weasel wombat"
).split()
# Unambiguous lower-case characters: no 0/o, 1/l/i.
SUFFIX_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
SUFFIX_LENGTH = 9  # 31**9 ≈ 2**44.6; with the two words (64 each) ≈ 2**56.6 in all
ALIAS_ENTROPY_BYTES = 10

_LOCAL_OK = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")
_DOMAIN_OK = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class AddressError(ValueError):
    """An address we will not accept; the message says why in plain words."""


def make_alias(entropy: bytes) -> str:
    """A friendly, unguessable alias local part such as ``kind-otter-7q2x9k4mb``."""
    if len(entropy) < ALIAS_ENTROPY_BYTES:
        raise ValueError(f"need {ALIAS_ENTROPY_BYTES} bytes of entropy")
    number = int.from_bytes(entropy[:ALIAS_ENTROPY_BYTES], "big")
    number, adjective = divmod(number, len(ADJECTIVES))
    number, animal = divmod(number, len(ANIMALS))
    suffix = []
    for _ in range(SUFFIX_LENGTH):
        number, index = divmod(number, len(SUFFIX_ALPHABET))
        suffix.append(SUFFIX_ALPHABET[index])
    return f"{ADJECTIVES[adjective]}-{ANIMALS[animal]}-{''.join(suffix)}"


def normalise(address: str) -> str:
    """The canonical form used for lookups: stripped of <> and lower-cased."""
    return address.strip().strip("<>").strip().lower()


def split(address: str) -> tuple[str, str]:
    local, _, domain = normalise(address).rpartition("@")
    return local, domain


def validate_mailbox(address: str) -> str:
    """Check an address given by an admin or a client; return its normal form.

    Refuses what a relay must never route: CR/LF/NUL, source routes, ``%``
    hacks, ``!`` paths, quoted local parts and anything without a domain.
    """
    if any(c in address for c in "\r\n\x00"):
        raise AddressError("the address contains a line break or NUL")
    value = normalise(address)
    if not value:
        raise AddressError("the address is empty")
    if value.startswith("@") or ":" in value:
        raise AddressError(f"source routes are not accepted: {value}")
    if '"' in value or "\\" in value:
        raise AddressError(f"quoted local parts are not accepted: {value}")
    if "%" in value or "!" in value:
        raise AddressError(f"'%' and '!' routing is not accepted: {value}")
    if value.count("@") != 1:
        raise AddressError(f"not a single mailbox address: {value}")
    local, domain = value.split("@")
    if not _LOCAL_OK.match(local) or ".." in local:
        raise AddressError(f"the part before @ is not a plain mailbox name: {value}")
    if not _DOMAIN_OK.match(domain):
        raise AddressError(f"the domain is not a valid domain name: {value}")
    return value


# --- bounce addresses (VERP) ---------------------------------------------------------
# Each outbound delivery's envelope sender is ``b-<delivery>-<day>-<mac>@domain``, so a
# bounce names the very copy that failed; the MAC under the relay's secret refuses a
# forged or mistyped address before the store is asked anything.

BOUNCE_PREFIX = "b-"
_BOUNCE_MAC_LEN = 10  # base32 characters: 50 bits
_BOUNCE_RE = re.compile(
    rf"{BOUNCE_PREFIX}([1-9][0-9]{{0,17}})-(0|[1-9][0-9]{{0,6}})-([a-z2-7]{{{_BOUNCE_MAC_LEN}}})"
)


def make_bounce_local_part(secret: bytes, delivery_id: int, issued_day: int) -> str:
    """``b-<delivery>-<day>-<mac>``: the envelope sender of one outbound delivery.

    ``issued_day`` is days since the epoch, so the address expires and an old
    leaked one cannot be replayed forever.
    """
    if delivery_id <= 0 or issued_day < 0:
        raise ValueError("delivery_id must be positive and issued_day not negative")
    mac = mac_b32(secret, "bounce", f"{delivery_id}-{issued_day}", _BOUNCE_MAC_LEN)
    return f"{BOUNCE_PREFIX}{delivery_id}-{issued_day}-{mac}"


def parse_bounce_local_part(
    secret: bytes, local: str, today: int, max_age_days: int = 30
) -> int | None:
    """The delivery id, or None when the address is forged, malformed or expired.

    A day in the future is refused too, beyond one day of clock skew.
    """
    if not isinstance(local, str):
        return None
    match = _BOUNCE_RE.fullmatch(local.strip().lower())
    if not match:
        return None
    delivery_id, day, mac = int(match[1]), int(match[2]), match[3]
    expected = mac_b32(secret, "bounce", f"{delivery_id}-{day}", _BOUNCE_MAC_LEN)
    if not hmac.compare_digest(mac, expected):
        return None
    if not (today - max_age_days <= day <= today + 1):
        return None
    return delivery_id
