"""The relay as a benchmark target: `relayctl serve` on a temporary data directory, delivering to the sink."""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
MENTOR, MENTEE = "mentor@bench.example", "mentee@bench.example"
FIRST = ("Alex Sam Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Robin Drew Charlie Emerson Hayden Kai "
         "Logan Parker Reese Rowan Sage Skyler Toni Jesse Noor Amara Ines Mateo Lucia Yusuf Mei Priya").split()
LAST = ("Garcia Smith Nguyen Okafor Kowalski Rossi Müller Silva Haddad Tanaka Novak Jensen Moreau Kaur Cohen "
        "Ivanova Mensah Larsen Ortega Fischer Dubois Walsh Papadopoulos Lindqvist Abubakar Horvat").split()


def relay_env(workdir: Path, sink_port: int, database_url: str = "") -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(
        RELAY_DATA_DIR=str(workdir), RELAY_DOMAIN="bench.test", RELAY_LISTEN="127.0.0.1:0",
        RELAY_SMARTHOST=f"127.0.0.1:{sink_port}", RELAY_SMARTHOST_TLS="none", RELAY_SENDER_AUTH="none",
        RELAY_MESSAGES_PER_HOUR="100000000", RELAY_MAX_CONNECTIONS_PER_PEER="1000"
    )
    if database_url:
        env["RELAY_DATABASE_URL"] = database_url
    return env


@contextmanager
def fresh_store(database_url: str) -> Iterator[str]:
    """SQLite in the data directory (empty URL), or a schema of its own on PostgreSQL, dropped afterwards."""
    if not database_url:
        yield ""
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from relay.store.db import engine_url

    schema = f"bench_{secrets.token_hex(6)}"
    engine = create_engine(engine_url(database_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(engine_url(database_url)).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def relayctl(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "relay.cli.main", *args], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"relayctl {' '.join(args)} failed: {result.stderr.strip()[-500:]}")
    return result.stdout.strip()


def crowd(count: int, seed: int = 11) -> list[tuple[str, str, str, str]]:
    """``count`` made-up participants: (email, role, handle, real name), mentors and mentees alternating."""
    rng = random.Random(seed)
    people = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        role = "mentor" if n % 2 == 0 else "mentee"
        email = f"{first.lower()}.{last.lower().replace('ü', 'u')}{n}@school{n % 7}.example"
        people.append((email, role, f"{role.capitalize()}{n:04d}", f"{first} {last}"))
    return people


def enrol_crowd(env: dict, people: list[tuple[str, str, str, str]]) -> None:
    """Enrol the crowd in pairs, with real names as if learned from their From headers, in one transaction.

    Through the store rather than relayctl, so that the names the masking has to
    find are set too, and a thousand people take seconds.
    """
    from relay import model
    from relay.store import directory
    from relay.store.db import Database

    url = env.get("RELAY_DATABASE_URL") or f"sqlite:///{Path(env['RELAY_DATA_DIR']) / 'relay.db'}"
    db = Database.from_url(url, threads=1)
    now = datetime.now(timezone.utc)
    try:
        with db.transaction() as session:
            program = directory.get_or_create_program(session, "default", now)
            rows = []
            for email, role, handle, name in people:
                row = directory.add_participant(session, program, email, model.Role(role), handle, now,
                                                lambda: secrets.token_bytes(16))
                directory.learn_name(session, row.id, name, now)
                rows.append(row)
            for mentor, mentee in zip(rows[0::2], rows[1::2]):
                directory.pair(session, mentor, mentee, now)
    finally:
        db.close()


def prepare(env: dict, workdir: Path, crowd_size: int = 0) -> str:
    """A fresh store with the bench pair (plus ``crowd_size`` others); returns the mentor's alias."""
    workdir.mkdir(parents=True, exist_ok=True)
    relayctl(env, "init")
    added = json.loads(relayctl(env, "participant", "add", MENTOR, "--role", "mentor", "--handle", "Mentor",
                                "--json"))
    relayctl(env, "participant", "add", MENTEE, "--role", "mentee", "--handle", "Mentee")
    relayctl(env, "pair", MENTOR, MENTEE, "--no-welcome")
    if crowd_size:
        enrol_crowd(env, crowd(crowd_size))
    return added["alias"]


def start(env: dict, workdir: Path, processes: int) -> subprocess.Popen:
    """`relayctl serve --processes N`, its log in the data directory."""
    with (workdir / "serve.log").open("w") as log:
        return subprocess.Popen([sys.executable, "-m", "relay.cli.main", "serve", "--processes", str(processes)],
                                env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)


def listening_port(line: str) -> int:
    """Port from "mentor-relay: listening on 127.0.0.1:PORT for @DOMAIN"."""
    return int(line.rsplit(" for ", 1)[0].rsplit(":", 1)[1])


def log_tail(workdir: Path, lines: int = 5) -> str:
    path = workdir / "serve.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
