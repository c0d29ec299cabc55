"""Does a circle message ask the mentors something? Read from the new text only."""

from __future__ import annotations

import pytest

from relay.circles.questions import asks_mentors, new_text

QUOTED = """Thanks, that helps.

On Mon, 2 Nov 2026 at 15:00, Jo <kind-otter-7q2x9k@mentor.test> wrote:
> Does anyone know when the deadline is?
> Mentors, please help!
"""


@pytest.mark.parametrize(
    "text, expected",
    [
        ("When is the Common App deadline?", True),
        ("Does anyone know if essays can be 700 words ?\n\nJo", True),
        ("Mentors, I could use some advice on my essay.", True),
        ("Hi mentors\n\nI finished my draft and would love feedback.", True),
        ("Dear all mentors: my draft is attached.", True),
        ("@mentor I am stuck on the second prompt.", True),
        ("I have a question for the mentors about interviews.", True),
        ("I was going to ask the mentor about scholarships.", True),
        ("Thanks everyone, I submitted it today!", False),
        ("My mentor at school said the same thing.", False),
        ("Here is the link: https://example.org/apply?id=42&step=2", False),
        (QUOTED, False),
        ("", False),
    ],
)
def test_asks_mentors(text, expected):
    assert asks_mentors(text) is expected


def test_new_text_drops_the_quote_and_its_attribution():
    assert new_text(QUOTED) == "Thanks, that helps."


def test_new_text_of_a_plain_message_is_the_message():
    assert new_text("One line.\nTwo lines.\n") == "One line.\nTwo lines."
