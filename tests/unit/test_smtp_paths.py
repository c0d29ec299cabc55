"""MAIL and RCPT paths in their plain form are read as aiosmtpd's own address parser reads them."""

from __future__ import annotations

import asyncio

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.smtp.limits import Door
from relay.smtp.protocol import RelaySMTP, plain_path


@pytest.fixture(scope="module")
def protocol():
    loop = asyncio.new_event_loop()
    yield RelaySMTP(object(), door=Door(), hostname="relay.test", loop=loop)
    loop.close()


@pytest.mark.parametrize(
    "arg,expected",
    [
        ("<jo.kim@school.example.net>", ("jo.kim@school.example.net", "")),
        ("<Jo+Kim@Example.ORG> SIZE=4096 BODY=8BITMIME", ("Jo+Kim@Example.ORG", "SIZE=4096 BODY=8BITMIME")),
        (" <a@b>", ("a@b", "")),
        ("<>", None),  # the null sender
        ('<"jo kim"@example.org>', None),
        ("<jo@[192.0.2.1]>", None),
        ("<jo@example.org> (comment)", None),
        ("<zoë@example.org>", None),
        ("<jo..kim@example.org>", None),
        ("jo@example.org", None),
    ],
)  # fmt: skip
def test_plain_paths(protocol, arg: str, expected: tuple[str, str] | None) -> None:
    assert plain_path(arg) == expected
    assert protocol._getaddr(arg) == SMTP._getaddr(protocol, arg)


_WORDS = ["a", "jo", "K", "x-y", "1", "!", "#", "'", "{", "é", "", ".", '"', " ", "(c)", "[1]", "\\"]
_SUFFIXES = ["", " ", "\t", "x", "(", " (c)", " SIZE=1", "  SIZE=1 BODY=7BIT", " SIZE=1 ", " <", ">"]


@settings(max_examples=1000, deadline=None)
@given(
    st.sampled_from(["", " ", "\t"]),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4),
    st.sampled_from(_SUFFIXES),
)
def test_plain_paths_agree_with_aiosmtpd(protocol, lead, local, domain, suffix) -> None:
    arg = f"{lead}<{'.'.join(local)}@{'.'.join(domain)}>{suffix}"
    assert protocol._getaddr(arg) == SMTP._getaddr(protocol, arg)
