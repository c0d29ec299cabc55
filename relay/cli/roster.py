"""Spreadsheet rows for the bulk commands: read a CSV as people export it, and check each row on its own.

Pure: bytes in, rows or problems out, each problem naming its line. UTF-8
with or without a byte-order mark, CRLF or LF, quoted fields, spaces around
values trimmed; header names are matched without regard to case or spaces.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relay.addresses import AddressError, validate_mailbox

ROLES = ("mentor", "mentee", "moderator", "coordinator")
PARTICIPANT_COLUMNS = (("email", "role", "handle"), ("timezone", "program", "guardian_email"))
PAIR_COLUMNS = (("mentor_email", "mentee_email"), ("program",))


class RosterError(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, unknown columns)."""


@dataclass(frozen=True)
class Row:
    line: int  # where the row starts in the file, counting the header as line 1
    values: dict[str, str]


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def read_rows(data: bytes, columns: tuple[tuple[str, ...], tuple[str, ...]]) -> list[Row]:
    """Every non-blank row under the header, values trimmed; ``columns`` is (required, optional)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RosterError(f"the file is not UTF-8 text (byte {error.start}); save it as 'CSV UTF-8'") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise RosterError("the file is empty; the first line must name the columns")
        names = _header(header, columns)
        rows, last = [], reader.line_num
        for cells in reader:
            start, last = last + 1, reader.line_num
            cells = [c.strip() for c in cells]
            if not any(cells):
                continue
            if len(cells) > len(names):
                rows.append(Row(start, {"": f"{len(cells)} values where the header names {len(names)} columns"}))
                continue
            rows.append(Row(start, dict(zip(names, cells + [""] * (len(names) - len(cells))))))
    except csv.Error as error:
        raise RosterError(f"line {reader.line_num}: the file is not valid CSV ({error})") from None
    return rows


def _header(cells: list[str], columns: tuple[tuple[str, ...], tuple[str, ...]]) -> list[str]:
    required, optional = columns
    names = [" ".join(c.split()).lower().replace(" ", "_") for c in cells]
    known = required + optional
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RosterError(f"line 1: unknown column {unknown[0]!r}; the columns are {', '.join(known)}")
    missing = [n for n in required if n not in names]
    if missing:
        raise RosterError(f"line 1: the column {missing[0]!r} is missing; {', '.join(required)} are required")
    twice = [n for n in names if names.count(n) > 1]
    if twice:
        raise RosterError(f"line 1: the column {twice[0]!r} appears twice")
    return names


def handle_problem(handle: str) -> str | None:
    if not handle or len(handle) > 64:
        return "the handle must be 1 to 64 characters"
    if any(ord(c) < 32 or c in '<>"\\@' for c in handle):
        return "the handle may not contain line breaks, quotes, <, >, \\ or @"
    return None


def timezone_problem(name: str) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r}; use an IANA name such as Europe/London"
    return None


def _mailbox(value: str, what: str, relay_domain: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, problem); the problem never repeats the address."""
    if not value:
        return None, f"{what} is empty"
    try:
        address = validate_mailbox(value)
    except AddressError:
        return None, f"{what} is not a single email address"
    if address.endswith("@" + relay_domain):
        return None, f"{what} is on the relay's own domain; give the person's real address"
    return address, None


@dataclass(frozen=True)
class Person:
    line: int
    program: str
    email: str
    role: str
    handle: str
    timezone: str
    guardian_email: str | None


def check_person(row: Row, relay_domain: str, default_program: str) -> Person | Problem:
    if "" in row.values:
        return Problem(row.line, row.values[""])
    v = row.values
    email, problem = _mailbox(v.get("email", ""), "email", relay_domain)
    if problem:
        return Problem(row.line, problem)
    role = v.get("role", "").lower()
    if role not in ROLES:
        return Problem(row.line, f"role {v.get('role', '')!r} is not one of {', '.join(ROLES)}")
    problem = handle_problem(v.get("handle", "")) or timezone_problem(v.get("timezone", ""))
    handle = " ".join(v.get("handle", "").split())
    if problem:
        return Problem(row.line, problem)
    guardian = None
    if v.get("guardian_email"):
        guardian, problem = _mailbox(v["guardian_email"], "guardian_email", relay_domain)
        if problem:
            return Problem(row.line, problem)
        if guardian == email:
            return Problem(row.line, "guardian_email is the participant's own address")
    return Person(row.line, v.get("program") or default_program, email, role, handle, v.get("timezone", ""), guardian)


@dataclass(frozen=True)
class Couple:
    line: int
    program: str
    mentor_email: str
    mentee_email: str


def check_couple(row: Row, relay_domain: str, default_program: str) -> Couple | Problem:
    if "" in row.values:
        return Problem(row.line, row.values[""])
    mentor, problem = _mailbox(row.values.get("mentor_email", ""), "mentor_email", relay_domain)
    if problem:
        return Problem(row.line, problem)
    mentee, problem = _mailbox(row.values.get("mentee_email", ""), "mentee_email", relay_domain)
    if problem:
        return Problem(row.line, problem)
    if mentor == mentee:
        return Problem(row.line, "mentor_email and mentee_email are the same address")
    return Couple(row.line, row.values.get("program") or default_program, mentor, mentee)
