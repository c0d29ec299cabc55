"""Moderation tokens: unguessable, lowercase, checkable.

A moderation notice is answered by replying to ``mod-<token>@domain``. The
token carries an HMAC under the relay's secret, so a forged or mistyped
address is refused before the store is asked anything, and the store keeps
only a hash of each token. (Bounce addresses live in ``relay.addresses``.)
Randomness and the current day come from the caller: nothing here reads the
clock or the system's random source.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from relay.macs import mac_b32 as _mac_b32

MODERATION_PREFIX = "mod-"

_BODY_LEN = 24  # base32 characters: 120 bits derived from the random part
_CHECK_LEN = 8  # base32 characters: 40 bits of MAC, enough to drop typos and forgeries

_TOKEN_RE = re.compile(rf"[a-z2-7]{{{_BODY_LEN + _CHECK_LEN}}}")


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
