"""The order people expect in lists of names: "Mentor 2" before "Mentor 10", case aside."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Runs of digits compare as numbers, the rest without regard to case."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold()) for part in _DIGITS.split(text) if part
    )
