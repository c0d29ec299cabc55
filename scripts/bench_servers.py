"""The two Python baselines: aiosmtpd that stores nothing, and aiosmtpd that commits each message to SQLite.

Each runs in its own process (like the relay) and prints its port on one line:

    python scripts/bench_servers.py bare
    python scripts/bench_servers.py sqlite /tmp/dir
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from pathlib import Path

from aiosmtpd.smtp import SMTP


class BareHandler:
    """Answers 250 to every message: the ceiling of aiosmtpd plus the load generator."""

    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 OK"


class SqliteHandler:
    """One fsync'd SQLite transaction per message (WAL, synchronous=FULL) before the 250."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, sender TEXT, rcpts TEXT, raw BLOB)")
        self.lock = threading.Lock()  # one connection, one transaction at a time

    async def handle_DATA(self, server, session, envelope):
        await asyncio.to_thread(self.commit, envelope.mail_from, ",".join(envelope.rcpt_tos),
                                envelope.original_content)
        return "250 2.0.0 OK"

    def commit(self, sender: str, rcpts: str, raw: bytes) -> None:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT INTO m (sender, rcpts, raw) VALUES (?, ?, ?)", (sender, rcpts, raw))
            self.db.execute("COMMIT")


async def serve(handler) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="bench", decode_data=False),
                                      "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    kind = sys.argv[1]
    handler = BareHandler() if kind == "bare" else SqliteHandler(Path(sys.argv[2]) / "baseline.db")
    try:
        asyncio.run(serve(handler))
    except KeyboardInterrupt:
        pass
