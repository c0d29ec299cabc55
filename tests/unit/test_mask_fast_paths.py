"""Each shortcut the masked copy takes agrees with the exact way it stands in for, on real and random input.

The name search (str.find per known word, shared by both passes) against
the plain alternation scan; fold() against set-and-translate; the escape
pattern against the alternation it was rewritten from; the parse of a
single-part original against the email package's parser; the writing of a
leaf part against its generator; single_line() against its slow path.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import MIMEPart
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relay.outbound import headers, names, rewrite, scrub
from relay.outbound.names import NameMatcher
from tests.unit.test_mail_corpus import CTX as CORPUS_CTX
from tests.unit.test_mask_fuzz import messages
from tests.unit.test_rewrite import CTX

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
RAWS = [p.read_bytes() for p in sorted(MAIL.glob("*.eml"))]

OLD_ESCAPE = re.compile(
    r"%[0-7][0-9a-f]|(?:%[89a-f][0-9a-f])+|&#[0-9]{1,8};?|&#x[0-9a-f]{1,8};?|&(?:commat|period|lowbar|plus);|=40",
    re.IGNORECASE,
)


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(["%", "&", "=", "#", "x", "X", ";", "40", "%C3%A9", "&#64", "&#X40;",
                                           "&COMMAT;", "&period;", "lowbar", "plus;", "%4", "%e9%", "9", "f", "@"]),
                          st.text(max_size=4)), max_size=30).map("".join))
def test_the_escape_pattern_finds_what_the_alternation_found(text: str) -> None:
    assert [(m.span(), m.group(0)) for m in scrub._ESCAPE.finditer(text)] == [
        (m.span(), m.group(0)) for m in OLD_ESCAPE.finditer(text)
    ]


