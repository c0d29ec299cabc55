"""relayctl backup and restore: one file holding a consistent snapshot of a deployment.

The file is a gzip'd tar: ``manifest.json``; on SQLite ``relay.db``, copied
with SQLite's online backup API so the relay may keep serving; the
deployment keys (``keys.json``, also inside the database on SQLite); this
host's key files; the policy file in use; and the settings in effect
(``settings.env``, without the smarthost password). On PostgreSQL the
messages and directory are left to ``pg_dump``; the README shows the line.
It holds the signing key and the secret: keep it as safe as the database.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import select

from relay.cli.base import CliError, Context
from relay.store.tables import DeploymentKey

FORMAT = 1
SECRET_SETTINGS = ("RELAY_SMARTHOST_PASSWORD",)


def register(sub) -> None:
    backup = sub.add_parser("backup", help="write a consistent snapshot (store on SQLite, keys, policy, settings)")
    backup.add_argument("file", help="the backup file to write (a .tar.gz)")
    backup.set_defaults(func=run_backup)
    restore = sub.add_parser("restore", help="restore a backup into an empty data directory")
    restore.add_argument("file", help="a file written by 'relayctl backup'")
    restore.add_argument("--force", action="store_true", help="overwrite a data directory that is not empty")
    restore.set_defaults(func=run_restore)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return Path(parsed.database) if parsed.drivername.startswith("sqlite") and parsed.database else None


def _policy(ctx: Context) -> Path | None:
    from relay.composition import policy_path

    return policy_path(ctx.settings)


def run_backup(args, ctx: Context) -> int:
    settings = ctx.settings
    target = Path(args.file)
    rows = ctx.run(lambda s: [_key_json(r) for r in s.exec(select(DeploymentKey)).all()])
    if not rows:
        raise CliError("the store holds no keys yet; run 'relayctl init' first")
    db_file = sqlite_path(settings.database_url)
    from relay.store import schema

    manifest = {
        "format": FORMAT,
        "created_at": ctx.clock.now().isoformat(),
        "backend": "sqlite" if db_file else "postgresql",
        "schema": schema.current_revision(ctx.db.engine),
        "domain": settings.domain,
    }
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(target, "w:gz") as tar:
        if db_file is not None:
            copy = Path(scratch) / "relay.db"
            _sqlite_snapshot(db_file, copy)
            tar.add(copy, arcname="relay.db")
        _add_bytes(tar, "keys.json", json.dumps(rows, indent=1).encode())
        for name, path in (("secret.key", settings.secret_path), ("dkim.pem", settings.dkim_key), ("policy.toml", _policy(ctx))):
            if path is not None and path.is_file():
                tar.add(path, arcname=name)
        _add_bytes(tar, "settings.env", _settings_text(settings.extra).encode())
        _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1).encode())
    target.chmod(0o600)
    print(f"wrote {target} ({manifest['backend']}, schema {manifest['schema']})")
    if db_file is None:
        print("PostgreSQL: dump the database too, e.g. pg_dump --format=custom --file=relay.pgdump \"$RELAY_DATABASE_URL\"")
    return 0


def run_restore(args, ctx: Context) -> int:
    settings = ctx.settings
    source = Path(args.file)
    if not source.is_file():
        raise CliError(f"no backup file at {source}")
    data_dir = settings.data_dir
    if data_dir.exists() and any(data_dir.iterdir()) and not args.force:
        raise CliError(f"{data_dir} is not empty; restore into an empty RELAY_DATA_DIR or add --force")
    try:
        tar = tarfile.open(source, "r:gz")
    except (tarfile.TarError, OSError) as error:
        raise CliError(f"{source} is not a backup written by 'relayctl backup' ({error})") from None
    with tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        if "manifest.json" not in members:
            raise CliError(f"{source} is not a backup written by 'relayctl backup' (no manifest)")
        read = lambda name: tar.extractfile(members[name]).read()  # noqa: E731
        manifest = json.loads(read("manifest.json"))
        if manifest.get("format") != FORMAT:
            raise CliError(f"{source} has backup format {manifest.get('format')!r}; this relay reads {FORMAT}")
        db_file = sqlite_path(settings.database_url)
        if manifest["backend"] == "sqlite" and db_file is None:
            raise CliError("this backup holds a SQLite store; set RELAY_DATABASE_URL to a SQLite file (or leave it unset)")
        data_dir.mkdir(parents=True, exist_ok=True)
        if db_file is not None and "relay.db" in members:
            _restore_sqlite(read("relay.db"), db_file, args.force)
        ctx_keys = [_key_row(k) for k in json.loads(read("keys.json"))]
        _restore_keys(ctx, ctx_keys, args.force)
        for name, path in (("secret.key", settings.secret_path), ("dkim.pem", settings.dkim_key),
                           ("policy.toml", data_dir / "policy.toml"), ("settings.env", data_dir / "settings.env.restored")):
            if name in members:
                _write(path, read(name), args.force)
    print(f"restored {source} ({manifest['backend']}, schema {manifest['schema']}, domain {manifest['domain']}) into {data_dir}")
    if manifest["backend"] == "postgresql":
        print("PostgreSQL: restore the database too, e.g. pg_restore --dbname=\"$RELAY_DATABASE_URL\" relay.pgdump")
    print(f"the policy and settings in use at backup time are in {data_dir / 'policy.toml'} and {data_dir / 'settings.env.restored'}")
    return 0


def _sqlite_snapshot(source: Path, target: Path) -> None:
    if not source.is_file():
        raise CliError(f"no SQLite store at {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # a consistent copy, page by page, while writers carry on
    finally:
        dst.close()
        src.close()


def _restore_sqlite(data: bytes, target: Path, force: bool) -> None:
    if target.exists() and not force:
        raise CliError(f"{target} exists; add --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
        handle.write(data)
    shutil.move(handle.name, target)


def _restore_keys(ctx: Context, rows: list[DeploymentKey], force: bool) -> None:
    """Put the backup's keys in the store; refuse to replace different ones without --force."""

    def work(session):
        current = {r.name: r for r in session.exec(select(DeploymentKey)).all()}
        for row in rows:
            existing = current.get(row.name)
            if existing is None:
                session.add(row)
            elif existing.value != row.value or existing.status != row.status:
                if not force:
                    raise CliError(f"the store already holds a different key {row.name}; add --force to replace it")
                existing.value, existing.status = row.value, row.status

    ctx.run(work)


def _write(path: Path, data: bytes, force: bool) -> None:
    if path.exists():
        if path.read_bytes() == data:
            return
        if not force:
            raise CliError(f"{path} exists; add --force to replace it")
        path.unlink()
    from relay.keys import write_private

    write_private(path, data)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def _settings_text(values) -> str:
    lines = ["# RELAY_* settings in effect when the backup was written"]
    for key in sorted(values):
        value = "(not kept in backups)" if key in SECRET_SETTINGS else values[key]
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def _key_json(row: DeploymentKey) -> dict:
    return {"name": row.name, "kind": row.kind, "selector": row.selector, "status": row.status,
            "value": base64.b64encode(row.value).decode(), "created_at": row.created_at.isoformat()}


def _key_row(data: dict) -> DeploymentKey:
    return DeploymentKey(name=data["name"], kind=data["kind"], selector=data["selector"], status=data["status"],
                         value=base64.b64decode(data["value"]), created_at=datetime.fromisoformat(data["created_at"]))
