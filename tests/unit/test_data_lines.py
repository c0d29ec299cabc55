"""A copy as DATA carries it: the same bytes aiosmtplib's own ``sendmail`` would have written."""

from __future__ import annotations

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given, strategies as st

from relay.outbound.transports import data_lines


def as_aiosmtplib_sends(message: bytes) -> bytes:
    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"


def test_a_copy_with_crlf_lines_has_its_dots_doubled_and_the_final_dot_added() -> None:
    copy = b"Subject: x\r\n\r\n.leading\r\nmid.dle\r\n.\r\n..two\r\nend"
    assert data_lines(copy) == b"Subject: x\r\n\r\n..leading\r\nmid.dle\r\n..\r\n...two\r\nend\r\n.\r\n"


def test_a_leading_dot_on_the_first_line_is_doubled_too() -> None:
    assert data_lines(b".x\r\n") == b"..x\r\n.\r\n"


def test_bare_line_feeds_and_carriage_returns_become_crlf() -> None:
    assert data_lines(b"a\nb\rc\r\n.d\n") == b"a\r\nb\r\nc\r\n..d\r\n.\r\n"


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b" ", b"\xc3\xa9"]), max_size=40))
def test_any_message_is_sent_as_aiosmtplib_would_send_it(pieces: list[bytes]) -> None:
    message = b"".join(pieces)
    assert data_lines(message) == as_aiosmtplib_sends(message)
