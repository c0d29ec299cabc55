"""The deployment's secrets: one HMAC secret and the DKIM keys, kept with the store and copied to each host.

The store is where they live, so every host on one database signs with the
same DKIM key and checks the same bounce and moderation tokens. The files
in ``RELAY_DATA_DIR`` (``secret.key``, the DKIM key) are this host's copy:
the first host publishes its files to the store, a new host adopts the
store's, and a host whose files belong to another deployment refuses to
start rather than sign and check with the wrong keys.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from relay.outbound.dkim import generate_key
from relay.store.tables import DeploymentKey

HMAC = "hmac"
SHOWN_STATUSES = ("next", "active", "previous")  # the DKIM keys whose records stay published


class KeysDisagree(ValueError):
    """This host's key files are not the ones the store holds."""


@dataclass(frozen=True)
class DeploymentKeys:
    secret: bytes  # HMAC secret for tokens and bounce addresses
    dkim_key: bytes  # the signing key, PEM
    selector: str  # its selector
    notes: tuple[str, ...] = ()  # what happened, for `relayctl init`


@dataclass(frozen=True)
class DkimKey:
    selector: str
    status: str
    pem: bytes


def write_private(path: Path, data: bytes) -> None:
    """A new file readable by its owner only; refuses to replace one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _secret_file(value: bytes) -> bytes:
    return value.hex().encode() + b"\n"


def _read_secret(path: Path) -> bytes | None:
    if not path.exists():
        return None
    try:
        return bytes.fromhex(path.read_text().strip())
    except ValueError:
        raise KeysDisagree(f"{path} does not hold a hexadecimal secret") from None


def ensure(db, secret_path: Path, dkim_path: Path, selector: str, now: datetime) -> DeploymentKeys:
    """Publish this host's keys to an empty store, or adopt the store's; refuse keys that disagree.

    Two hosts starting at once on an empty store both try to publish; the
    one that loses the race adopts the winner's keys (nothing is written
    to disk before the store has committed).
    """
    for _ in range(3):
        try:
            return db.run_sync(lambda s: _ensure(s, secret_path, dkim_path, selector, now))
        except IntegrityError:
            continue  # another host published first: adopt its keys
    raise RuntimeError("could not agree on the deployment keys with the store")


def _ensure(session: Session, secret_path: Path, dkim_path: Path, selector: str, now: datetime) -> DeploymentKeys:
    rows = session.exec(select(DeploymentKey)).all()
    secret, secret_note = _shared_secret(session, rows, secret_path, now)
    active, dkim_note = _signing_key(session, rows, dkim_path, selector, now)
    # Only now that the store agrees: this host's copies.
    if not secret_path.exists():
        write_private(secret_path, _secret_file(secret))
    if not dkim_path.exists():
        write_private(dkim_path, active.pem)
    return DeploymentKeys(secret=secret, dkim_key=active.pem, selector=active.selector, notes=(secret_note, dkim_note))


def _shared_secret(session: Session, rows, path: Path, now: datetime) -> tuple[bytes, str]:
    stored = next((r for r in rows if r.kind == HMAC), None)
    local = _read_secret(path)
    if stored is None:
        value = local if local is not None else secrets.token_bytes(32)
        session.add(DeploymentKey(name=HMAC, kind=HMAC, value=value, created_at=now))
        session.flush()
        return value, f"secret: {path} ({'kept, and published to the store' if local else 'created'})"
    if local is not None and local != stored.value:
        raise KeysDisagree(
            f"{path} is not the secret this database's hosts share; "
            "move it away to adopt the database's, or point RELAY_DATABASE_URL at this host's own database"
        )
    return stored.value, f"secret: {path} ({'kept' if local else 'adopted from the store'})"


def _signing_key(session: Session, rows, path: Path, selector: str, now: datetime) -> tuple[DkimKey, str]:
    stored = [r for r in rows if r.kind == "dkim"]
    local = path.read_bytes() if path.exists() else None
    if not stored:
        pem = local if local is not None else generate_key()
        session.add(DeploymentKey(name=f"dkim:{selector}", kind="dkim", selector=selector, value=pem, created_at=now))
        session.flush()
        return DkimKey(selector, "active", pem), f"dkim:   {path} ({'kept, and published to the store' if local else 'created'})"
    active = next((r for r in stored if r.status == "active"), None)
    if active is None:
        raise KeysDisagree("the store holds DKIM keys but none is active; run 'relayctl dkim-rotate --activate'")
    if local is not None and all(r.value != local for r in stored):
        raise KeysDisagree(
            f"the DKIM key {path} is not one of this database's keys; "
            "move it away to adopt the database's, or point RELAY_DATABASE_URL at this host's own database"
        )
    note = f"dkim:   {path} ({'kept' if local else 'adopted from the store'}), signing with selector {active.selector}"
    return DkimKey(active.selector, "active", active.value), note


def dkim_keys(session: Session) -> list[DkimKey]:
    """Every DKIM key the store knows, newest first."""
    rows = session.exec(select(DeploymentKey).where(DeploymentKey.kind == "dkim")).all()
    rows = sorted(rows, key=lambda r: r.created_at, reverse=True)
    return [DkimKey(r.selector, r.status, r.value) for r in rows]


def add_next_dkim_key(session: Session, selector: str, pem: bytes, now: datetime) -> None:
    """A new key, published by ``dkim-record`` but not signing until ``activate_next``."""
    known = dkim_keys(session)
    waiting = next((k for k in known if k.status == "next"), None)
    if waiting is not None:
        raise ValueError(f"the key for selector {waiting.selector} is already waiting; "
                         "publish it and run 'relayctl dkim-rotate --activate'")
    if any(k.selector == selector for k in known):
        raise ValueError(f"selector {selector} is already in use; choose another with --selector")
    session.add(DeploymentKey(name=f"dkim:{selector}", kind="dkim", selector=selector, status="next",
                              value=pem, created_at=now))


def activate_next(session: Session) -> tuple[str, str]:
    """next → active, active → previous (still published), previous → retired; (new, old) selectors."""
    rows = session.exec(select(DeploymentKey).where(DeploymentKey.kind == "dkim")).all()
    waiting = next((r for r in rows if r.status == "next"), None)
    if waiting is None:
        raise ValueError("no new DKIM key is waiting; run 'relayctl dkim-rotate' first")
    old = ""
    for row in rows:
        if row.status == "previous":
            row.status = "retired"
        elif row.status == "active":
            row.status, old = "previous", row.selector
    waiting.status = "active"
    return waiting.selector, old
