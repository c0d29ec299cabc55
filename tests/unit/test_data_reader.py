"""SMTP DATA read in blocks says exactly what a line-by-line reading says, wherever the blocks are cut."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.smtp import replies
from relay.smtp.data_reader import DataReader
from relay.smtp.limits import DataLimits
from relay.smtp.replies import Reply

LIMITS = DataLimits(max_size=200, max_header=60, max_line=30)


def read(
    stream: bytes, cuts: tuple[int, ...] | list[int] = (), limits: DataLimits = LIMITS
) -> tuple[bool, Reply | None, bytes | None]:
    """(ended, problem, content) after feeding ``stream`` cut at ``cuts``."""
    reader = DataReader(limits)
    ended, previous = False, 0
    for cut in [*sorted(set(cuts)), len(stream)]:
        if previous < cut:
            ended = reader.feed(stream[previous:cut])
            previous = cut
            if ended:
                break
    return ended, reader.problem, reader.content() if ended and reader.problem is None else None


def read_by_lines(stream: bytes, limits: DataLimits) -> tuple[bool, Reply | None, bytes | None]:
    """The rules, one CRLF-ended line at a time: the first problem in line order wins."""
    problem: Reply | None = None
    size = header = 0
    in_header, lines = True, []
    position = 0
    while (end := stream.find(b"\r\n", position)) >= 0:
        line, position = stream[position : end + 2], end + 2
        if line == b".\r\n":
            return True, problem, None if problem else b"".join(x[1:] if x[:1] == b"." else x for x in lines)
        size += len(line)
        found = [
            size > limits.max_size and replies.size_limit(limits.max_size),
            len(line) > limits.max_line and replies.line_too_long(limits.max_line),
            (b"\r" in line[:-2] or b"\n" in line[:-2]) and replies.BARE_LINE_ENDING,
            b"\0" in line and replies.NUL_IN_DATA,
        ]
        if in_header and line == b"\r\n":
            in_header = False
        elif in_header:
            header += len(line)
            found.append(header > limits.max_header and replies.header_too_big(limits.max_header))
        problem = problem or next((reply for reply in found if reply), None)
        lines.append(line)
    return False, problem, None


def test_a_message_is_dot_unstuffed_and_ends_at_the_lone_dot() -> None:
    stream = b"Subject: hi\r\n\r\n..leading dot\r\n.\r\nend.\r\n.\r\n"
    assert read(stream) == (True, None, b"Subject: hi\r\n\r\n.leading dot\r\n")


def test_an_empty_message_is_the_lone_dot_alone() -> None:
    assert read(b".\r\n") == (True, None, b"")


def test_the_bytes_after_the_end_are_not_data() -> None:
    reader = DataReader(LIMITS)
    assert reader.feed(b"a\r\n.\r\nQUIT\r\n")
    assert (reader.content(), reader.rest) == (b"a\r\n", b"QUIT\r\n")


@pytest.mark.parametrize(
    "stream,problem",
    [
        (b"a\n.\r\nb\r\n.\r\n", replies.BARE_LINE_ENDING),  # a bare LF before the dot is no end
        (b"a\r.\r\n.\r\n", replies.BARE_LINE_ENDING),
        (b"a\0b\r\n.\r\n", replies.NUL_IN_DATA),
        (b"x" * 29 + b"\r\n.\r\n", replies.line_too_long(30)),
        (b"x" * 500 + b"\r\n.\r\n", replies.size_limit(200)),  # the long line also passes the size
        ((b"H: " + b"x" * 20 + b"\r\n") * 3 + b"\r\nbody\r\n.\r\n", replies.header_too_big(60)),
        (b"ok\r\nbad\0\r\nbare\n\r\n.\r\n", replies.NUL_IN_DATA),  # the first problem is named
    ],
)  # fmt: skip
def test_refusals(stream: bytes, problem: Reply) -> None:
    assert read(stream) == (True, problem, None)
    assert read(stream, list(range(len(stream)))) == (True, problem, None)  # byte by byte too


def test_a_line_without_end_is_refused_once_it_ends() -> None:
    reader = DataReader(DataLimits(max_size=10**9, max_header=64, max_line=100))
    for _ in range(1000):
        assert not reader.feed(b"y" * 999 + b"\r")
    assert reader.feed(b"\r\n.\r\n") and reader.problem == replies.line_too_long(100)


_PIECES = [
    b"a", b"bc", b"\r\n", b"\r", b"\n", b".", b"\0", b" ", b"x" * 15, b"Subject: hi\r\n",
    b"\r\n.\r\n", b".\r\n", b"..\r\n", b"\r\n\r\n",
]  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=30),
    st.lists(st.integers(0, 300), max_size=8),
    st.integers(4, 40),
    st.integers(10, 80),
    st.integers(10, 300),
    st.booleans(),
)
def test_blocks_read_as_lines_do(pieces, cuts, max_line, max_header, max_size, ends) -> None:
    stream = b"".join(pieces) + (b"\r\n.\r\n" if ends else b"")
    limits = DataLimits(max_size=max_size, max_header=max_header, max_line=max_line)
    assert read(stream, cuts, limits) == read_by_lines(stream, limits)
