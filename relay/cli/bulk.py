"""What the two bulk commands (``participant import``, ``pair --csv``) share: read and check a CSV, refuse it whole.

Both are all or nothing: every row is checked on its own first, and one bad
row means nothing is written, with one line per problem naming its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NoReturn

from relay.cli import roster
from relay.cli.base import CliError, stderr


def read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except (IsADirectoryError, PermissionError) as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None


def checked_rows(path: str, columns, check: Callable[[roster.Row], Any]) -> tuple[int, list[roster.Problem], list]:
    """(rows read, the rows' problems, the rows that passed ``check``) of the CSV file at ``path``."""
    try:
        rows = roster.read_rows(read_file(path), columns)
    except roster.RosterError as error:
        raise CliError(f"{path}: {error}") from None
    checked = [check(row) for row in rows]
    return (len(rows), [c for c in checked if isinstance(c, roster.Problem)],
            [c for c in checked if not isinstance(c, roster.Problem)])


def refuse(path: str, problems: list[roster.Problem], rows: int, nothing: str) -> NoReturn:
    """Every problem on its own line, in line order, then one error: ``nothing`` was done."""
    for problem in sorted(problems, key=lambda p: p.line):
        stderr(f"{path}: {problem}")
    raise CliError(f"{nothing}: {len(problems)} of {rows} rows need fixing (see above)")
