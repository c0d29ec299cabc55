"""Message-IDs written strictly, id lists read forgivingly."""

from __future__ import annotations

import pytest

from relay.outbound.message_ids import format_id_list, new_message_id, parse_id_list


@pytest.mark.parametrize(
    "domain, token, expected",
    [
        ("mentor.example.org", "a1b2c3", "<a1b2c3@mentor.example.org>"),
        ("mentor.example.org", "a1 b2\r\n<c3>", "<a1b2c3@mentor.example.org>"),
        ("mentor.example.org", "a@b", "<ab@mentor.example.org>"),
    ],
)
def test_new_message_id(domain: str, token: str, expected: str) -> None:
    assert new_message_id(domain, token) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", ()),
        ("<a@x>", ("<a@x>",)),
        ("<a@x> <b@y>\r\n\t<c@z>", ("<a@x>", "<b@y>", "<c@z>")),
        ("<a@x>,<b@y>", ("<a@x>", "<b@y>")),
        ("a@x b@y", ("<a@x>", "<b@y>")),  # brackets missing
        ("<a@x> (Jane's message of Tuesday) <b@y>", ("<a@x>", "<b@y>")),
        ("<a@\r\n x>", ("<a@x>",)),  # folded inside the id
        ("<a@x> <a@x> <b@y>", ("<a@x>", "<b@y>")),
        ("junk <> words <b@y", ("<b@y>",)),  # closing bracket lost
        ("Message from Jane <CAF123@mail.gmail.com>", ("<CAF123@mail.gmail.com>",)),
        ("<local-only>", ("<local-only>",)),
    ],
)
def test_parse_id_list(value: str, expected: tuple[str, ...]) -> None:
    assert parse_id_list(value) == expected


@pytest.mark.parametrize(
    "ids, limit, expected",
    [
        ((), 20, ""),
        (("<a@x>", "b@y"), 20, "<a@x> <b@y>"),
        (("<1@x>", "<2@x>", "<3@x>", "<4@x>", "<5@x>"), 3, "<1@x> <4@x> <5@x>"),
        (("<1@x>", "<2@x>", "<3@x>"), 1, "<3@x>"),
        (("<1@x>", "<2@x>"), 2, "<1@x> <2@x>"),
        (("<1@x>", " ", "<1@x>", "<2@x>"), 5, "<1@x> <2@x>"),
    ],
)
def test_format_id_list(ids: tuple[str, ...], limit: int, expected: str) -> None:
    assert format_id_list(ids, limit) == expected


def test_format_id_list_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError):
        format_id_list(("<a@x>",), 0)
