"""words: whole words and phrases, case- and accent-insensitive, each list with its action."""

import pytest

from relay.model import Action, Inspection, PolicyContext, Severity
from relay.policy.rules.base import SettingError
from relay.policy.rules.words import WordList, WordsSettings, check, parse

SHIPPED = parse({})


def hits(text, settings=SHIPPED):
    return [(f.match, f.action, f.severity) for f in check(Inspection(texts=(text,)), PolicyContext(), settings)]


URGENT = (Action.FLAG, Severity.URGENT)
SECRECY = (Action.HOLD, Severity.URGENT)
SWEAR = (Action.FLAG, Severity.NORMAL)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("sometimes I think about suicide", [("suicide", *URGENT)]),
        ("SUÏCIDE", [("SUÏCIDE", *URGENT)]),
        ("i just want to   kill\nmyself", [("kill myself", *URGENT)]),
        ("I Want To Die", [("Want To Die", *URGENT)]),
        ("this is our little secret ok", [("our little secret", *SECRECY)]),
        ("Don’t tell your parents about this", [("Don’t tell your parents", *SECRECY)]),
        ("this homework is shit", [("shit", *SWEAR)]),
        ("what the FUCKING hell", [("FUCKING", *SWEAR)]),
        ("ＳＨＩＴ happens", [("ＳＨＩＴ", *SWEAR)]),
    ],
)
def test_lists_match_whole_words_ignoring_case_and_accents(text, expected):
    assert hits(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my class starts at nine",
        "we passed the assessment",
        "Dickens wrote Oliver Twist",
        "Shitake mushrooms? I mean shiitake",
        "the therapist was kind",
        "a secret ingredient in the cake",
        "I am so tired after practice",
    ],
)
def test_substrings_and_ordinary_words_do_not_match(text):
    assert hits(text) == []


def test_words_are_found_in_html_text_and_subject_but_not_in_links():
    inspection = Inspection(
        subject="Self-Harm",
        htmls=('<p>I <b>cut</b> <i>myself</i> again</p><a href="https://example.org/suicide-prevention">help</a>',),
    )
    found = check(inspection, PolicyContext(), SHIPPED)
    assert [(f.match, f.reason) for f in found] == [
        ("Self-Harm", '"self harm" from the urgent word list, in the subject'),
        ("cut myself", '"cut myself" from the urgent word list, in the HTML'),
    ]


def test_wildcard_matches_endings_only():
    settings = WordsSettings(lists=(WordList(name="w", words=("bull*",)),))
    assert [m for m, *_ in hits("bullying and bulls", settings)] == ["bullying"]
    assert hits("a pitbull", settings) == []


def test_file_tables_override_shipped_lists_by_name_and_add_new_ones():
    settings = parse(
        {
            "flag": {"words": ["darn"]},
            "urgent": {"action": "hold"},
            "bullying": {"action": "flag", "words": ["nobody likes you"]},
            "secrecy": {"enabled": False},
        }
    )
    by_name = {wl.name: wl for wl in settings.lists}
    assert set(by_name) == {"urgent", "flag", "bullying"}
    assert by_name["flag"].words == ("darn",)
    assert by_name["urgent"].action is Action.HOLD and by_name["urgent"].severity is Severity.URGENT
    assert "suicide" in by_name["urgent"].words
    assert hits("nobody likes you, darn", settings) == [
        ("darn", Action.FLAG, Severity.NORMAL),
        ("nobody likes you", Action.FLAG, Severity.NORMAL),
    ]


@pytest.mark.parametrize(
    "table, key",
    [
        ({"urgent": ["x"]}, "urgent"),
        ({"urgent": {"words": "suicide"}}, "urgent.words"),
        ({"urgent": {"action": "shout"}}, "urgent.action"),
        ({"urgent": {"colour": "red"}}, "urgent.colour"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_bad_tables_name_the_key(table, key):
    with pytest.raises(SettingError) as caught:
        parse(table)
    assert caught.value.key == key
