"""What a masked copy keeps between copies (name matchers, header classes) changes no byte of any copy."""

from __future__ import annotations

from email.headerregistry import HeaderRegistry
from pathlib import Path

import pytest

from relay.outbound import rewrite
from relay.outbound.names import NameMatcher, matcher_for
from tests.unit.test_rewrite import CTX

MAIL = Path(__file__).parent.parent / "fixtures" / "mail"

TEXT = "Hi Arne,\n\nWill Mark here. Will you ask Rose Summer? I will mark it.\n\nWill\n"


def test_a_pairing_gets_one_matcher_that_masks_as_a_new_one_does() -> None:
    names = {"Will Mark": "tall-cedar", "Arne van der Heyde": "quiet-wren"}
    held = lambda handle: f"[{handle}]"
    assert matcher_for(dict(names)) is matcher_for(dict(names))
    assert matcher_for(names).replace(TEXT, held) == NameMatcher(names).replace(TEXT, held)
    assert "[tall-cedar] here" in matcher_for(names).replace(TEXT, held)


def test_other_names_or_another_order_get_their_own_matcher() -> None:
    # The first name given wins a spelling two people share, so the order is part of the key.
    one = {"Will Mark": "tall-cedar", "Will Stone": "lucky-heron"}
    other = {"Will Stone": "lucky-heron", "Will Mark": "tall-cedar"}
    assert matcher_for(one) is not matcher_for(other)
    assert matcher_for(one).whole("Will") == "tall-cedar" and matcher_for(other).whole("Will") == "lucky-heron"
    assert matcher_for({"Rose Summer": "x"}) is not matcher_for({"Rose Summer": "y"})


def test_the_copy_policy_makes_headers_as_the_email_package_does() -> None:
    ours, stock = rewrite._POLICY.header_factory, HeaderRegistry()
    values = [("Content-Type", 'text/plain; charset="utf-8"; name="Schön.txt"'),
              ("Content-Transfer-Encoding", "base64"),
              ("Content-Disposition", "attachment; filename*=utf-8''%C3%A9.pdf"), ("Subject", "=?utf-8?q?caf=C3=A9?="),
              ("Content-ID", "<abc@relay.invalid>"), ("X-Anything", "a\r\n b")]
    for name, value in values:
        mine, theirs = ours(name, value), stock(name, value)
        assert type(mine).__mro__[1:] == type(theirs).__mro__[1:] and str(mine) == str(theirs)
        assert mine.fold(policy=rewrite._POLICY) == theirs.fold(policy=rewrite._POLICY)
    assert type(ours("Content-Type", "text/html")) is type(ours("content-type", "text/plain"))
    assert ours("Content-Transfer-Encoding", "7bit") is ours("Content-Transfer-Encoding", "7bit")


@pytest.mark.parametrize("name", sorted(p.name for p in MAIL.glob("*.eml")))
def test_a_copy_built_again_is_the_same_bytes(name: str) -> None:
    raw = (MAIL / name).read_bytes()
    assert rewrite.build_masked_copy(raw, CTX) == rewrite.build_masked_copy(raw, CTX)
