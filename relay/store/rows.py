"""Plain SQL on the driver's own cursor, bound exactly as SQLAlchemy's column types bind them.

Every accepted message writes its row, its findings and its deliveries, and
every copy sent writes an attempt and moves its delivery on. Built and run
as Core statements, those writes spent several times the SQL's own cost in
statement construction, compilation and result handling. Here each
statement is written once per dialect and set of columns; values go
through the bind processors of the columns' own types (so a time is stored
as the Core would store it), and Python-side column defaults fill the
columns not given, so the rows are the ones ``insert(table).values(...)``
writes. A test holds the two byte-equal on both backends. The hot-path
reads (``lookups``, ``delivery_reads``) use the same statements, and
``moment`` and ``as_bytes`` turn what each driver returns into one shape.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Sequence

from datetime import datetime

from sqlalchemy import Column, Table
from sqlalchemy.engine import Connection, Dialect

from relay.clock import as_utc

Processor = Callable[[Any], Any] | None
_PARAM = re.compile(r"(?<![:\w]):(\w+)")  # :name, not a ::cast


def connection_of(db: Any) -> Connection:
    """The Core connection under a Session (its pending ORM changes flushed first, as a query would), or itself."""
    if isinstance(db, Connection):
        return db
    db.flush()
    return db.connection()


def moment(value) -> datetime | None:
    """A stored time as aware UTC: PostgreSQL gives datetimes, SQLite gives ISO text."""
    if value is None:
        return None
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def as_bytes(value) -> bytes | None:
    """A stored blob as bytes, whatever buffer the driver hands back."""
    return bytes(value) if value is not None and not isinstance(value, bytes) else value


def _marker(dialect: Dialect) -> str:
    return "%s" if dialect.name == "postgresql" else "?"


def _processor(column: Column, dialect: Dialect) -> Processor:
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _bind(processors: Sequence[Processor], values: Iterable[Any]) -> tuple:
    return tuple(value if p is None or value is None else p(value) for p, value in zip(processors, values))


def _cursor_run(conn: Connection, sql: str, params: tuple, fetch: bool) -> list[tuple]:
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else [(cursor.rowcount,)]
    finally:
        cursor.close()


class Insert:
    """``INSERT INTO table`` one row at a time, returning its id."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._defaults = {
            c.name: c.default.arg for c in table.columns
            if c.default is not None and c.default.is_scalar and not c.primary_key
        }
        for c in table.columns:
            if c.default is not None and not c.default.is_scalar and not c.primary_key:
                raise ValueError(f"{table.name}.{c.name} has a computed default; write it through the Core")
        self._plans: dict[tuple, tuple[str, tuple[str, ...], tuple[Processor, ...]]] = {}

    def _plan(self, dialect: Dialect, given: Iterable[str]):
        key = (dialect.name, frozenset(given))
        plan = self._plans.get(key)
        if plan is None:
            names = tuple(c.name for c in self.table.columns if c.name in key[1] or c.name in self._defaults)
            unknown = key[1] - set(self.table.columns.keys())
            if unknown:
                raise KeyError(f"{self.table.name} has no column {', '.join(sorted(unknown))}")
            quote = dialect.identifier_preparer.quote
            sql = (f"INSERT INTO {quote(self.table.name)} ({', '.join(quote(n) for n in names)}) "
                   f"VALUES ({', '.join(_marker(dialect) for _ in names)}) RETURNING id")
            plan = (sql, names, tuple(_processor(self.table.columns[n], dialect) for n in names))
            self._plans[key] = plan
        return plan

    def one(self, db: Any, values: dict[str, Any]) -> int:
        """Insert one row; its new id."""
        conn = connection_of(db)
        sql, names, processors = self._plan(conn.dialect, values)
        row = {**self._defaults, **values}
        return _cursor_run(conn, sql, _bind(processors, (row[n] for n in names)), fetch=True)[0][0]


class Statement:
    """One SQL text with ``:name`` parameters, each bound as the named column binds it.

    ``types`` maps a parameter to the column whose type binds it (times, flags);
    a parameter not named there is passed to the driver as it is.
    """

    def __init__(self, sql: str, types: dict[str, Column] | None = None) -> None:
        self.sql = " ".join(sql.split())
        self.types = dict(types or {})
        self._plans: dict[str, tuple[str, tuple[str, ...], tuple[Processor, ...]]] = {}

    def _plan(self, dialect: Dialect):
        plan = self._plans.get(dialect.name)
        if plan is None:
            names = tuple(_PARAM.findall(self.sql))
            sql = _PARAM.sub(_marker(dialect), self.sql)
            processors = tuple(_processor(self.types[n], dialect) if n in self.types else None for n in names)
            plan = (sql, names, processors)
            self._plans[dialect.name] = plan
        return plan

    def rows(self, db: Any, **params) -> list[tuple]:
        """Run it and return what a RETURNING clause gave."""
        conn = connection_of(db)
        sql, names, processors = self._plan(conn.dialect)
        return _cursor_run(conn, sql, _bind(processors, (params[n] for n in names)), fetch=True)

    def first(self, db: Any, **params) -> tuple | None:
        found = self.rows(db, **params)
        return found[0] if found else None

    def count(self, db: Any, **params) -> int:
        """Run it; how many rows it changed."""
        conn = connection_of(db)
        sql, names, processors = self._plan(conn.dialect)
        return _cursor_run(conn, sql, _bind(processors, (params[n] for n in names)), fetch=False)[0][0]
