"""Short keyed MACs for the addresses the relay mints (moderation tokens, bounce addresses)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def mac_b32(secret: bytes, label: str, message: str, length: int) -> str:
    """A lowercase base32 HMAC-SHA256, cut to ``length`` characters.

    The label keeps the token, check and bounce MACs apart even under one secret.
    """
    digest = hmac.new(secret, f"{label}\x00{message}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]
