"""Grouping a day's circle messages into threads for a digest. Pure.

A message joins the thread of any earlier message it refers to (In-Reply-To
or References naming that message's original id or any of its copies' ids);
failing that, the thread with the same subject once "Re:"-style prefixes
are removed. Threads keep the order of their first message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = re.compile(r"^(?:\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class Item:
    key: int
    subject: str
    ids: frozenset[str]  # every Message-ID this message is known by
    parents: tuple[str, ...] = ()  # ids it refers to (In-Reply-To, References)


@dataclass
class Thread:
    subject: str
    keys: list[int] = field(default_factory=list)


def base_subject(subject: str) -> str:
    return " ".join(_PREFIX.sub("", subject or "").split()).casefold()


def group(items: list[Item]) -> list[Thread]:
    """Items in arrival order in, threads in order of their first item out."""
    threads: list[Thread] = []
    by_id: dict[str, Thread] = {}
    by_subject: dict[str, Thread] = {}
    for item in items:
        thread = next((by_id[p] for p in item.parents if p in by_id), None)
        subject = base_subject(item.subject)
        if thread is None and subject:
            thread = by_subject.get(subject)
        if thread is None:
            thread = Thread(subject=_PREFIX.sub("", item.subject or "").strip() or "(no subject)")
            threads.append(thread)
        thread.keys.append(item.key)
        for message_id in item.ids:
            by_id.setdefault(message_id, thread)
        if subject:
            by_subject.setdefault(subject, thread)
    return threads
