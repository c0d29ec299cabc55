"""Moderation tokens and VERP bounce addresses refuse every kind of tampering."""

from __future__ import annotations

import re

import pytest

from relay.addresses import make_bounce_local_part, parse_bounce_local_part
from relay.moderation.tokens import (
    check_token,
    make_token,
    moderation_local_part,
    parse_moderation_local_part,
    token_hash,
)

SECRET = b"relay-secret-0123456789abcdef0123"
OTHER_SECRET = b"another-relay-secret-987654321000"
# RFC 5321 dot-string atoms, restricted to what every MTA passes untouched.
LOCAL_PART_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
TODAY = 20_423  # 2025-12-01 as days since the epoch


@pytest.mark.parametrize(
    "random_part",
    ["Xy_-Zk9Q3vWqPmL8aaBBccDD", "0123456789abcdef", "ÜNICODE random ☃", "a"],
)
def test_token_is_lowercase_local_part_and_checks(random_part: str) -> None:
    token = make_token(SECRET, random_part)
    local = moderation_local_part(token)
    assert token == token.lower()
    assert LOCAL_PART_RE.fullmatch(local), local
    assert len(local) <= 64
    assert parse_moderation_local_part(local) == token
    assert check_token(SECRET, token)


def test_tokens_differ_by_random_part_and_secret() -> None:
    tokens = {
        make_token(SECRET, "one"),
        make_token(SECRET, "two"),
        make_token(OTHER_SECRET, "one"),
    }
    assert len(tokens) == 3


def test_token_is_deterministic_for_its_inputs() -> None:
    assert make_token(SECRET, "same") == make_token(SECRET, "same")


def _flip(text: str, index: int) -> str:
    replacement = "a" if text[index] != "a" else "b"
    return text[:index] + replacement + text[index + 1 :]


GOOD = make_token(SECRET, "r4nd0m-part")


@pytest.mark.parametrize(
    "secret,token",
    [
        (SECRET, _flip(GOOD, 0)),  # changed character in the body
        (SECRET, _flip(GOOD, 20)),
        (SECRET, _flip(GOOD, len(GOOD) - 1)),  # changed character in the check
        (OTHER_SECRET, GOOD),  # another relay's secret
        (SECRET, GOOD[:-1]),  # truncated
        (SECRET, GOOD + "a"),  # extended
        (SECRET, GOOD.upper()),  # tokens are lowercase only
        (SECRET, ""),
    ],
)
def test_check_token_refuses_tampering(secret: bytes, token: str) -> None:
    assert not check_token(secret, token)


@pytest.mark.parametrize(
    "local,expected",
    [
        (f"mod-{GOOD}", GOOD),
        (f"MOD-{GOOD.upper()}", GOOD),  # some systems change case
        (f" mod-{GOOD} ", GOOD),
        (GOOD, None),  # no prefix
        (f"mod-{GOOD[:-2]}", None),  # too short
        (f"mod-{GOOD}x", None),  # too long
        (f"mod-{GOOD[:-1]}1", None),  # 1 is not in the base32 alphabet
        (f"mod-{GOOD[:-1]}!", None),
        (f"b-{GOOD}", None),
        ("mod-", None),
        ("", None),
    ],
)
def test_parse_moderation_local_part(local: str, expected: str | None) -> None:
    assert parse_moderation_local_part(local) == expected


def test_token_hash_is_sha256_hex_and_not_the_token() -> None:
    digest = token_hash(GOOD)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest != GOOD
    assert digest == token_hash(GOOD)
    assert digest != token_hash(_flip(GOOD, 3))


def test_make_token_refuses_empty_random_part() -> None:
    with pytest.raises(ValueError):
        make_token(SECRET, "")


@pytest.mark.parametrize("delivery_id", [1, 42, 9_876_543_210])
def test_bounce_address_round_trip(delivery_id: int) -> None:
    local = make_bounce_local_part(SECRET, delivery_id, TODAY)
    assert LOCAL_PART_RE.fullmatch(local), local
    assert local.startswith(f"b-{delivery_id}-{TODAY}-")
    assert parse_bounce_local_part(SECRET, local, today=TODAY) == delivery_id
    assert parse_bounce_local_part(SECRET, local.upper(), today=TODAY) == delivery_id


BOUNCE = make_bounce_local_part(SECRET, 42, TODAY)
OTHER_ID = BOUNCE.replace("b-42-", "b-43-", 1)
OTHER_DAY = BOUNCE.replace(f"-{TODAY}-", f"-{TODAY + 1}-", 1)


@pytest.mark.parametrize(
    "secret,local,today",
    [
        (SECRET, _flip(BOUNCE, len(BOUNCE) - 1), TODAY),  # changed MAC character
        (SECRET, OTHER_ID, TODAY),  # a different delivery id with the old MAC
        (SECRET, OTHER_DAY, TODAY + 1),  # a later day with the old MAC
        (OTHER_SECRET, BOUNCE, TODAY),  # another secret
        (SECRET, BOUNCE, TODAY + 31),  # expired
        (SECRET, BOUNCE, TODAY - 2),  # issued in the future
        (SECRET, BOUNCE[:-1], TODAY),  # malformed: short MAC
        (SECRET, BOUNCE + "a", TODAY),
        (SECRET, "b-42-20423", TODAY),
        (SECRET, "b-042-20423-aaaaaaaaaa", TODAY),  # leading zero
        (SECRET, "b-0-20423-aaaaaaaaaa", TODAY),
        (SECRET, "b--1-20423-aaaaaaaaaa", TODAY),
        (SECRET, f"x{BOUNCE}", TODAY),
        (SECRET, "", TODAY),
    ],
)
def test_bounce_address_refused(secret: bytes, local: str, today: int) -> None:
    assert parse_bounce_local_part(secret, local, today=today) is None


@pytest.mark.parametrize("age,max_age,accepted", [(0, 30, True), (30, 30, True), (31, 30, False), (5, 3, False)])
def test_bounce_address_age_limit(age: int, max_age: int, accepted: bool) -> None:
    local = make_bounce_local_part(SECRET, 7, TODAY - age)
    result = parse_bounce_local_part(SECRET, local, today=TODAY, max_age_days=max_age)
    assert (result == 7) is accepted


@pytest.mark.parametrize("delivery_id,day", [(0, TODAY), (-1, TODAY), (1, -1)])
def test_make_bounce_refuses_bad_inputs(delivery_id: int, day: int) -> None:
    with pytest.raises(ValueError):
        make_bounce_local_part(SECRET, delivery_id, day)
