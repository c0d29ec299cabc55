"""A day's circle messages grouped into threads for a digest."""

from __future__ import annotations

import pytest

from relay.circles.threads import Item, base_subject, group


@pytest.mark.parametrize(
    "subject, expected",
    [("Re: Essay deadlines", "essay deadlines"), ("RE: re: Fwd:  Essay   deadlines", "essay deadlines"),
     ("AW: Frage", "frage"), ("Re[2]: Plans", "plans"), ("", "")],
)
def test_base_subject(subject, expected):
    assert base_subject(subject) == expected


def test_replies_join_their_thread_by_id_even_with_a_new_subject():
    items = [
        Item(1, "Essay deadlines", frozenset({"<a@x>", "<a1@relay>", "<a2@relay>"})),
        Item(2, "Reading list", frozenset({"<b@y>"})),
        Item(3, "Changed subject", frozenset({"<c@z>"}), parents=("<a2@relay>",)),  # a reply to a masked copy
        Item(4, "Re: Reading list", frozenset({"<d@w>"})),  # no ids: by subject
        Item(5, "Re: Changed subject", frozenset({"<e@v>"}), parents=("<c@z>",)),
    ]
    threads = group(items)
    assert [(t.subject, t.keys) for t in threads] == [("Essay deadlines", [1, 3, 5]), ("Reading list", [2, 4])]


def test_unrelated_messages_are_threads_of_their_own_in_arrival_order():
    items = [Item(i, f"Topic {i}", frozenset({f"<{i}@x>"})) for i in (3, 1, 2)]
    assert [t.keys for t in group(items)] == [[3], [1], [2]]


def test_a_message_without_a_subject_is_its_own_thread():
    threads = group([Item(1, "", frozenset()), Item(2, "", frozenset())])
    assert [t.subject for t in threads] == ["(no subject)", "(no subject)"]
