"""Reply addresses for urgent alerts and guardians' consent: ``safe-<token>@domain``, signed and unguessable.

The same construction as moderation tokens (a body derived from random
input through the relay's secret, then a check), under labels of their own,
so a moderation token is never a valid safeguarding token or the other way
round. A forged or mistyped address is refused before the store is asked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "safe-"
_BODY_LEN = 24
_CHECK_LEN = 8
_TOKEN_RE = re.compile(rf"[a-z2-7]{{{_BODY_LEN + _CHECK_LEN}}}")


def _mac(secret: bytes, label: str, message: str, length: int) -> str:
    digest = hmac.new(secret, f"{label}\x00{message}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


def make_token(secret: bytes, random_part: str) -> str:
    if not random_part:
        raise ValueError("random_part must not be empty")
    body = _mac(secret, "safe-body", random_part, _BODY_LEN)
    return body + _mac(secret, "safe-check", body, _CHECK_LEN)


def check_token(secret: bytes, token: str) -> bool:
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        return False
    body, check = token[:_BODY_LEN], token[_BODY_LEN:]
    return hmac.compare_digest(check, _mac(secret, "safe-check", body, _CHECK_LEN))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def local_part(token: str) -> str:
    return PREFIX + token


def parse_local_part(local: str) -> str | None:
    """The token in ``safe-<token>`` (any case), or None."""
    if not isinstance(local, str):
        return None
    local = local.strip().lower()
    if not local.startswith(PREFIX):
        return None
    token = local[len(PREFIX):]
    return token if _TOKEN_RE.fullmatch(token) else None
