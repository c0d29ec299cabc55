"""The relay's own secrets on disk: the HMAC key for tokens and bounce addresses, and the DKIM key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def ensure_secret(path: Path) -> tuple[bytes, bool]:
    """The HMAC secret, created on first use; (secret, created)."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip()), False
    _write_private(path, secrets.token_hex(32).encode() + b"\n")
    return bytes.fromhex(path.read_text().strip()), True


def ensure_dkim_key(path: Path) -> tuple[bytes, bool]:
    """The DKIM private key (PEM), generated on first use; (key, created)."""
    if path.exists():
        return path.read_bytes(), False
    from relay.outbound.dkim import generate_key

    _write_private(path, generate_key())
    return path.read_bytes(), True
