"""The shipped urgent list: common ways of telling of self-harm, abuse or running away, and not everyday talk."""

from pathlib import Path

import pytest

from relay.model import Action, Inspection, PolicyContext, Severity
from relay.policy.engine import evaluate
from relay.policy.loader import load_policy, parse_policy
from relay.policy.rules.base import SettingError
from relay.policy.rules.words import MAX_FORMS, phrase_forms, phrase_pieces

SHIPPED = load_policy(Path(__file__).resolve().parents[2] / "config" / "policy.toml").for_program("any")
CTX = PolicyContext()


def urgent(text):
    return [f for f in evaluate(Inspection(texts=(text,)), CTX, SHIPPED).findings if f.severity is Severity.URGENT]


@pytest.mark.parametrize(
    "text",
    [
        # self-harm and suicide
        "I want to kill myself",
        "sometimes i just wanna die",
        "I've been cutting myself again",
        "i started self-harming in year 8",
        "I wish I was dead",
        "honestly i wish i had never been born",
        "nobody would miss me",
        "No one would even notice if I was gone",
        "everyone would be better off without me",
        "I don't want to live anymore",
        "I can't take it any more",
        "i took too many pills last night",
        "I keep thinking about ending my own life",
        # abuse
        "he hits me",
        "My dad hit me again when he got home",
        "my stepdad always hurts me",
        "she keeps slapping me",
        "my brother beat me up",
        "I'm scared of my dad",
        "I don't feel safe at home. I'm not safe at home",
        "he touched me and told me not to say",
        # running away
        "I'm going to run away",
        "im gonna run away tonight",
        "I am thinking about running away",
        "I'm running away from home",
        "I might leave home for good",
    ],
)
def test_common_phrasings_are_urgent(text):
    found = urgent(text)
    assert found, text
    verdict = evaluate(Inspection(texts=(text,)), CTX, SHIPPED)
    assert verdict.urgent is True
    assert verdict.action in (Action.FLAG, Action.HOLD)
    assert all(f.rule == "words" and "urgent word list" in f.reason for f in found)


@pytest.mark.parametrize(
    "text",
    [
        "this homework is killing me",
        "I could kill for a pizza",
        "we had to run away with the win before they equalised",
        "my legs are killing me after practice",
        "I nearly died laughing",
        "the ball hit my head in PE",
        "she beat me at chess again",
        "it hit me that I should apply",
        "I hurt my knee at football",
        "the dog ran away with my sock",
        "we ran away from the rain",
        "I want to leave home for university one day",
        "nobody would believe how big the cake was",
        "I can't go on the trip",
        "this song makes me want to dance",
        "that exam was brutal, I'm dead",
    ],
)
def test_everyday_phrasings_are_not(text):
    assert urgent(text) == [], text
    assert evaluate(Inspection(texts=(text,)), CTX, SHIPPED).urgent is False


def test_urgent_words_in_the_subject_and_html_count_too():
    verdict = evaluate(
        Inspection(subject="help", htmls=("<p>I think I'm <b>going to</b> run away</p>",)), CTX, SHIPPED
    )
    assert verdict.urgent is True
    assert [f.match for f in verdict.findings] == ["going to run away"]


def test_the_match_shows_what_was_written():
    (found,) = urgent("so Mum said... my DAD hits me when he's angry")
    assert found.match == "DAD hits me"
    assert found.reason == '"dad hits me" from the urgent word list, in the text'  # what matched, not every choice


def test_the_programs_own_urgent_words_come_in_their_own_list():
    text = """
[program.north.words.urgent_program]
words = ["(the |)bridge tonight", "blue pills"]
"""
    policies = parse_policy(text)
    north, other = policies.for_program("north"), policies.for_program("south")
    verdict = evaluate(Inspection(texts=("meet me at the bridge tonight",)), CTX, north)
    assert verdict.urgent and [f.reason for f in verdict.findings] == [
        '"the bridge tonight" from the urgent_program word list, in the text'
    ]
    assert evaluate(Inspection(texts=("meet me at the bridge tonight",)), CTX, other).findings == ()
    assert urgent("I want to kill myself")  # the shipped list still applies beside the program's own


@pytest.mark.parametrize(
    "phrase, forms",
    [
        ("kill myself", [("kill", "myself")]),
        ("(he|she) hits me", [("he", "hits", "me"), ("she", "hits", "me")]),
        ("i (really |)want to die", [("i", "really", "want", "to", "die"), ("i", "want", "to", "die")]),
        ("(going to|gonna) run away", [("going", "to", "run", "away"), ("gonna", "run", "away")]),
        ("(Don’t|dont) tell", [("don't", "tell"), ("dont", "tell")]),
        ("self-harm*", [("self", "harm*")]),
    ],
)
def test_phrases_expand_into_the_ways_they_can_be_written(phrase, forms):
    assert list(phrase_forms(phrase)) == forms


@pytest.mark.parametrize("phrase", ["(he|she hits me", "he) hits me", "(a|b|c|d) " * 7])
def test_phrases_that_cannot_be_read_are_refused(phrase):
    with pytest.raises(SettingError):
        phrase_pieces(phrase)


def test_a_bad_phrase_in_a_policy_file_names_the_list():
    from relay.policy.loader import PolicyError

    with pytest.raises(PolicyError, match=r"\[default\.words\.urgent\] words: unbalanced brackets"):
        parse_policy('[default.words.urgent]\nwords = ["(he|she hits me"]\n')
    assert 4**7 > MAX_FORMS
