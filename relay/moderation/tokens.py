"""Moderation tokens and VERP bounce addresses: unguessable, lowercase, checkable.

A moderation notice is answered by replying to ``mod-<token>@domain``; a
bounce comes back to ``b-<delivery>-<day>-<mac>@domain``. Both carry an HMAC
under the relay's secret, so a forged or mistyped address is refused before
the store is asked anything, and the store keeps only a hash of each token.
Randomness and the current day come from the caller: nothing here reads the
clock or the system's random source.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

MODERATION_PREFIX = "mod-"
BOUNCE_PREFIX = "b-"

_BODY_LEN = 24  # base32 characters: 120 bits derived from the random part
_CHECK_LEN = 8  # base32 characters: 40 bits of MAC, enough to drop typos and forgeries
_BOUNCE_MAC_LEN = 10  # base32 characters: 50 bits

_TOKEN_RE = re.compile(rf"[a-z2-7]{{{_BODY_LEN + _CHECK_LEN}}}")
_BOUNCE_RE = re.compile(
    rf"{BOUNCE_PREFIX}([1-9][0-9]{{0,17}})-(0|[1-9][0-9]{{0,6}})-([a-z2-7]{{{_BOUNCE_MAC_LEN}}})"
)


def _mac_b32(secret: bytes, label: str, message: str, length: int) -> str:
    """A lowercase base32 HMAC-SHA256, cut to ``length`` characters.

    The label keeps the token, check and bounce MACs apart even under one secret.
    """
    digest = hmac.new(secret, f"{label}\x00{message}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


def make_token(secret: bytes, random_part: str) -> str:
    """A moderation token: 24 characters derived from ``random_part``, then an 8-character check.

    Deriving the body through the secret makes the token safe even when the
    random part has an awkward alphabet (``secrets.token_urlsafe``); the
    check lets ``check_token`` refuse forgeries without a database lookup.
    """
    if not random_part:
        raise ValueError("random_part must not be empty")
    body = _mac_b32(secret, "mod-body", random_part, _BODY_LEN)
    return body + _mac_b32(secret, "mod-check", body, _CHECK_LEN)


def check_token(secret: bytes, token: str) -> bool:
    """True when ``token`` was made by ``make_token`` under ``secret`` (constant-time)."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return False
    body, check = token[:_BODY_LEN], token[_BODY_LEN:]
    return hmac.compare_digest(check, _mac_b32(secret, "mod-check", body, _CHECK_LEN))


def token_hash(token: str) -> str:
    """What the store keeps: a leaked table must not let anyone answer a notice."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def moderation_local_part(token: str) -> str:
    return MODERATION_PREFIX + token


def parse_moderation_local_part(local: str) -> str | None:
    """The token in ``mod-<token>``, or None when the local part is not one.

    Mail systems may change the case of a local part, so it is compared
    lowercased; the token alphabet is lowercase only.
    """
    if not isinstance(local, str):
        return None
    local = local.strip().lower()
    if not local.startswith(MODERATION_PREFIX):
        return None
    token = local[len(MODERATION_PREFIX) :]
    return token if _TOKEN_RE.fullmatch(token) else None


def make_bounce_local_part(secret: bytes, delivery_id: int, issued_day: int) -> str:
    """``b-<delivery>-<day>-<mac>``: the envelope sender of one outbound delivery.

    ``issued_day`` is days since the epoch, so the address expires and an old
    leaked one cannot be replayed forever.
    """
    if delivery_id <= 0 or issued_day < 0:
        raise ValueError("delivery_id must be positive and issued_day not negative")
    mac = _mac_b32(secret, "bounce", f"{delivery_id}-{issued_day}", _BOUNCE_MAC_LEN)
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
    expected = _mac_b32(secret, "bounce", f"{delivery_id}-{day}", _BOUNCE_MAC_LEN)
    if not hmac.compare_digest(mac, expected):
        return None
    if not (today - max_age_days <= day <= today + 1):
        return None
    return delivery_id
