"""The database edge: engine, sessions, SQLite pragmas, and running store work off the event loop.

Store query functions take a ``Session`` (or a Core ``Connection``) and
never commit; ``Database`` is the one place that opens a transaction and
commits it, so one accepted message is one transaction. On a SQLite file,
every write transaction of every relay process first takes one file lock,
so writers wait in the kernel's queue instead of SQLite's sleep-and-retry
busy handler.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

T = TypeVar("T")

# How long a lookup on the event loop waits for a locked SQLite file before
# it goes to a store thread instead (see Database.lookup).
INLINE_BUSY_MS = 20


def engine_url(url: str) -> str:
    """Pick the driver: plain ``sqlite:///`` and ``postgresql://`` URLs are accepted."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine whose every commit is durable before it returns.

    SQLite: WAL with ``synchronous=FULL``. The lock wait defaults to 30 s and
    can be set with a ``timeout`` (seconds) in the URL, e.g.
    ``sqlite:///var/relay.db?timeout=5``: past it a write fails, the intake
    answers 451 and the client tries again. PostgreSQL: every session sets
    ``synchronous_commit`` on, whatever the server's default, so a commit
    has reached the disk (or the synchronous standby) before the 250.
    """
    full = engine_url(url)
    if full.startswith("sqlite"):
        parsed = make_url(full)
        timeout = _timeout(parsed.query.get("timeout"))
        parsed = parsed.difference_update_query(["timeout"])
        path = parsed.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": timeout},
            execution_options={"lock_timeout": timeout},  # read back by write_lock_for
        )
        event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, record, timeout))
        # pysqlite's own transaction handling is off (see _sqlite_pragmas); start them ourselves:
        # writers take the lock up front (IMMEDIATE), readers never take it (DEFERRED, see read()).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(full, pool_size=10, max_overflow=10, pool_pre_ping=True)
    event.listen(engine, "connect", _postgres_durability)
    return engine


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN DEFERRED" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


def _timeout(value) -> float:
    if isinstance(value, tuple):
        value = value[-1]
    try:
        return max(0.0, float(value)) if value is not None else 30.0
    except ValueError:
        raise ValueError(f"the database URL's timeout must be a number of seconds, not {value!r}") from None


def _sqlite_pragmas(dbapi_connection, _record, timeout: float = 30.0) -> None:
    # WAL lets readers work while one writer commits; FULL makes each commit
    # durable before we answer 250. BEGIN IMMEDIATE takes the write lock up front
    # so two writers queue on busy_timeout instead of failing mid-transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    cursor.close()


def _postgres_durability(dbapi_connection, _record) -> None:
    # A server or role configured with synchronous_commit=off would let a
    # commit return before its WAL is flushed: a crash then loses mail we
    # answered 250 for. Set it per session, and check that it took.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO on")
            cursor.execute("SHOW synchronous_commit")
            value = cursor.fetchone()[0]
    finally:
        dbapi_connection.autocommit = autocommit
    if value not in ("on", "remote_write", "remote_apply", "local"):
        raise RuntimeError(f"PostgreSQL synchronous_commit is {value!r}; the relay needs durable commits")


class WriteLock:
    """One writer at a time across the threads and processes that share a SQLite file.

    Threads of one process queue on a ``threading.Lock`` (with the URL's
    timeout); processes queue on ``flock`` of a file beside the database,
    which wakes the next waiter when the holder commits (or dies: the kernel
    drops the lock of a killed process). SQLite's busy timeout still guards
    against writers that do not take this lock (another tool, a migration).
    The wait for another process has no timeout of its own: it lasts as long
    as that process's write transaction, and the relay's are short.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        if not self._threads.acquire(timeout=self.timeout if self.timeout > 0 else -1):
            raise TimeoutError("the store is busy: another write did not finish in time")
        try:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def try_hold(self) -> bool:
        """Take the lock only if no other thread or process holds it now; ``release`` gives it back."""
        if not self._threads.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._threads.release()
            return False
        except BaseException:
            self._threads.release()
            raise
        return True

    def release(self) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


class StoreBusy(Exception):
    """Another writer holds the store now (``Database.write_now``); nothing was written.

    ``soon``: the holder is another relay writer (a thread or process taking
    the relay's lock), whose transactions are short, so trying again on the
    loop's next turn is worth it; otherwise the work waits on a writer thread.
    """

    def __init__(self, reason: str, soon: bool = False) -> None:
        super().__init__(reason)
        self.soon = soon


def _locked(error: OperationalError) -> bool:
    """A SQLite lock wait ran out: SQLITE_BUSY or SQLITE_LOCKED, or one of their extended codes."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _throw_away(conn: Connection) -> None:
    """Close a connection that failed, so the pool never hands it out again (the next use opens a fresh one)."""
    try:
        conn.invalidate()
        conn.close()
    except Exception:  # noqa: BLE001 - it is being thrown away
        pass


def write_lock_for(engine: Engine) -> WriteLock | None:
    """The file lock for a SQLite file database; none for PostgreSQL or an in-memory SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    timeout = engine.get_execution_options().get("lock_timeout", 30.0)
    return WriteLock(Path(path + "-writelock"), timeout)


class Database:
    """Runs store work in threads, so the event loop never waits on the database (SQLite lookups excepted, see lookup)."""

    def __init__(self, engine: Engine, threads: int = 4) -> None:
        self.engine = engine
        self.write_lock = write_lock_for(engine)
        # Lookups on the hot path (RCPT checks, policy context, a delivery's context)
        # must not queue behind the writer; on SQLite a read-only transaction never
        # takes the write lock and, with WAL, never waits for it.
        self.reader = engine.execution_options(read_only=True)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="store")
        self._local = threading.local()  # each thread's lookup connection (see lookup_sync)
        self._lookup_conns: list[Connection] = []
        self._lookup_lock = threading.Lock()
        self._loop_conns: dict[int, Connection] = {}  # each event loop's lookup connection, by its thread
        self._now_conns: dict[int, Connection] = {}  # each event loop's write connection (see write_now)

    @classmethod
    def from_url(cls, url: str, threads: int = 4) -> "Database":
        return cls(make_engine(url), threads=threads)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's write lock (SQLite files only) for one write transaction."""
        if self.write_lock is None:
            yield
            return
        with self.write_lock.held():
            yield

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self.writing(), Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def rows(self) -> Iterator[Connection]:
        """A Core transaction for plain row writes: what a ``transaction`` is, without the ORM Session."""
        with self.writing(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write_now(self) -> Iterator[Connection]:
        """A write transaction on this thread's own connection, only if the SQLite file can be written at once.

        For the group-commit writer on the event loop (``BatchWriter``). It
        raises ``StoreBusy`` instead of waiting when another thread or process
        holds the write lock, or when SQLite's own lock (a writer that does not
        take ours: a migration, another tool) is not free within
        ``INLINE_BUSY_MS``; nothing has been written then. Commits on success.
        """
        lock = self.write_lock
        if lock is None:
            raise StoreBusy("write_now is for a SQLite file")
        if not lock.try_hold():
            raise StoreBusy("another writer holds the store", soon=True)
        try:
            conn = self._now_connection()
            try:
                conn.begin()
            except OperationalError as error:
                self._roll_back_now(conn)
                if _locked(error):
                    raise StoreBusy("SQLite's lock is held by another writer") from error
                raise
            try:
                yield conn
                conn.commit()
            except BaseException:
                self._roll_back_now(conn)
                raise
        finally:
            lock.release()

    def _now_connection(self) -> Connection:
        thread = threading.get_ident()
        conn = self._now_conns.get(thread)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            # On the driver's connection: through SQLAlchemy the PRAGMA would begin (IMMEDIATE) a transaction.
            conn.connection.driver_connection.execute(f"PRAGMA busy_timeout={INLINE_BUSY_MS}")
            with self._lookup_lock:
                self._now_conns[thread] = conn
        return conn

    def _roll_back_now(self, conn: Connection) -> None:
        """After a failed write: roll back, keeping the connection; one that cannot roll back is thrown away."""
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - the error that got here is the one to report
            with self._lookup_lock:
                self._now_conns = {t: c for t, c in self._now_conns.items() if c is not conn}
            _throw_away(conn)

    def read_sync(self, work: Callable[[Session], T]) -> T:
        """Run read-only ``work``; anything it writes is rolled back."""
        with Session(self.reader, expire_on_commit=False) as session:
            try:
                return work(session)
            finally:
                session.rollback()

    async def read(self, work: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.read_sync, work)

    def lookup_sync(self, work: Callable[[Connection], T]) -> T:
        """Run read-only ``work`` on this thread's own connection: no ORM Session, no pool checkout.

        Every RCPT and DATA, and every copy sent, asks a few plain-SQL
        questions (``relay.store.rows``); checking a connection out of the
        pool for each (and, on PostgreSQL, pinging the server first) cost
        more than the questions. Each thread keeps one connection instead;
        whatever the work began is rolled back, and a connection that failed
        is dropped, so the next lookup opens a fresh one.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self._connect_lookup()
        return self._ask(conn, work)

    def _connect_lookup(self, busy_ms: int | None = None) -> Connection:
        conn = self.reader.connect()
        if self.dialect == "postgresql":
            # Each question runs alone, as it does on SQLite (pysqlite asks there outside any
            # transaction): no BEGIN before it and no ROLLBACK after, two round trips fewer.
            conn.connection.driver_connection.autocommit = True
        if busy_ms is not None:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
            conn.rollback()
        with self._lookup_lock:
            self._lookup_conns.append(conn)
        return conn

    def _ask(self, conn: Connection, work: Callable[[Connection], T]) -> T:
        """``work`` on a lookup connection; whatever it began is rolled back, a failed connection dropped."""
        try:
            result = work(conn)
        except BaseException:
            self._drop_lookup(conn)
            raise
        try:
            conn.rollback()
            conn.connection.driver_connection.rollback()  # plain cursors begin outside SQLAlchemy's view
        except Exception:
            self._drop_lookup(conn)
        return result

    def _drop_lookup(self, conn: Connection) -> None:
        with self._lookup_lock:
            if conn in self._lookup_conns:
                self._lookup_conns.remove(conn)
        _throw_away(conn)

    async def lookup(self, work: Callable[[Connection], T]) -> T:
        """``lookup_sync`` for the event loop (RCPT and DATA reads, a copy's context).

        On SQLite the questions are a few indexed reads of a local file in
        WAL mode, where a reader never waits for the writer: asked on the
        loop they take tens of microseconds, where handing them to a store
        thread and back cost more CPU than that, and under load far more
        time waiting for the GIL. So each loop keeps a connection of its
        own. It is opened on a store thread (opening may wait for the file),
        and it waits at most ``INLINE_BUSY_MS`` for a lock: a question that
        finds the file locked all the same goes to a store thread, which
        waits as long as the URL's timeout allows. PostgreSQL is asked over
        the network, always from a store thread.
        """
        loop = asyncio.get_running_loop()
        if self.dialect != "sqlite":
            return await loop.run_in_executor(self._pool, self.lookup_sync, work)
        loop_thread = threading.get_ident()
        conn = self._loop_conns.get(loop_thread)
        if conn is None or conn.closed:
            return await loop.run_in_executor(self._pool, self._first_loop_lookup, loop_thread, work)
        try:
            return self._ask(conn, work)
        except OperationalError as error:
            if not _locked(error):
                raise
        return await loop.run_in_executor(self._pool, self.lookup_sync, work)

    def _first_loop_lookup(self, loop_thread: int, work: Callable[[Connection], T]) -> T:
        """Open a loop's connection and ask its first question; the loop uses it only once this is done."""
        conn = self._connect_lookup(INLINE_BUSY_MS)
        result = self._ask(conn, work)
        if not conn.closed:
            with self._lookup_lock:
                current = self._loop_conns.get(loop_thread)
                spare = current is not None and not current.closed  # another first question got there first
                if not spare:
                    self._loop_conns[loop_thread] = conn
            if spare:
                self._drop_lookup(conn)
        return result

    def run_sync(self, work: Callable[[Session], T]) -> T:
        with self.transaction() as session:
            return work(session)

    async def run(self, work: Callable[[Session], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.run_sync, work)

    async def call(self, fn: Callable[..., T], *args) -> T:
        """Run any blocking function (not only store work) on the store's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        with self._lookup_lock:
            conns, self._lookup_conns = self._lookup_conns, []
            conns += self._now_conns.values()
            self._now_conns = {}
        for conn in conns:
            conn.close()
        self.engine.dispose()
        if self.write_lock is not None:
            self.write_lock.close()
