"""Spreadsheet rows as people save them: BOM, CRLF, quotes, spaces; every problem named by its line."""

from __future__ import annotations

import pytest

from relay.cli import roster
from relay.ordering import natural_key

COLUMNS = roster.PARTICIPANT_COLUMNS


def rows(text: str | bytes):
    return roster.read_rows(text.encode("utf-8") if isinstance(text, str) else text, COLUMNS)


def test_bom_crlf_quotes_spaces_and_header_case():
    found = rows('\ufeff Email ,ROLE,Handle,TimeZone\r\n'
                 ' sam@example.com , mentor ,"Sam, the tutor",Europe/London\r\n')
    assert found == [roster.Row(2, {"email": "sam@example.com", "role": "mentor", "handle": "Sam, the tutor",
                                    "timezone": "Europe/London"})]


def test_line_numbers_count_blank_lines_and_quoted_line_breaks():
    text = 'email,role,handle\n\na@example.com,mentee,"two\nlines"\nb@example.com,mentee,B\n'
    assert [r.line for r in rows(text)] == [3, 5]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    ("email,role\n", "the column 'handle' is missing"),
    ("email,role,handle,emial\n", "unknown column 'emial'"),
    ("email,role,handle,email\n", "appears twice"),
    ("email,role,handle\n".encode() + "\xe9\n".encode("latin-1"), "not UTF-8"),
])
def test_file_level_problems(data, message):
    with pytest.raises(roster.RosterError, match=message):
        rows(data)


def test_too_many_values_is_a_problem_of_that_row():
    (row,) = rows("email,role,handle\na@example.com,mentee,A,extra\n")
    assert str(roster.check_person(row, "mentor.test", "default")) == "line 2: 4 values where the header names 3 columns"


@pytest.mark.parametrize("line, reason", [
    ("a@example.com,mentr,A,", "role 'mentr' is not one of mentor, mentee, moderator, coordinator"),
    ("nobody,mentee,A,", "email is not a single email address"),
    (",mentee,A,", "email is empty"),
    ("a@mentor.test,mentee,A,", "on the relay's own domain"),
    ("a@example.com,mentee,,", "handle must be 1 to 64"),
    ("a@example.com,mentee,A<b>,", "may not contain"),
    ("a@example.com,mentee,A,Europe/Londn", "unknown time zone 'Europe/Londn'"),
])
def test_row_problems_name_the_line_and_never_the_address(line, reason):
    (row,) = rows("email,role,handle,timezone\n" + line + "\n")
    problem = roster.check_person(row, "mentor.test", "default")
    assert isinstance(problem, roster.Problem) and problem.line == 2 and reason in problem.reason
    assert "a@example.com" not in str(problem)


def test_a_good_row_is_normalised():
    (row,) = rows("email,role,handle,guardian_email,program\nSam@Example.COM,Mentee,  Sam   K ,Dad@Home.example,\n")
    person = roster.check_person(row, "mentor.test", "default")
    assert person == roster.Person(2, "default", "sam@example.com", "mentee", "Sam K", "", "dad@home.example")


def test_pairs():
    found = roster.read_rows(b"mentor_email,mentee_email\r\nm@example.com,e@example.net\r\nm@example.com,m@example.com\r\n",
                             roster.PAIR_COLUMNS)
    assert roster.check_couple(found[0], "mentor.test", "p") == roster.Couple(2, "p", "m@example.com", "e@example.net")
    assert "the same address" in roster.check_couple(found[1], "mentor.test", "p").reason


def test_natural_order():
    names = ["Mentor 10", "mentor 1", "Mentor 2", "Ana", "Mentor 2b"]
    assert sorted(names, key=natural_key) == ["Ana", "mentor 1", "Mentor 2", "Mentor 2b", "Mentor 10"]
