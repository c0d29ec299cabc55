"""Property: in ordinary English, first names that are also words are masked only where they stand as names."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.outbound.scrub import Scrubber

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# First names (and surnames) that are ordinary English words.
NAMES = [
    "Will", "Mark", "May", "June", "Grace", "Hope", "Rose", "Bill", "Summer", "Hunter", "Art", "Faith",
    "Joy", "Dawn", "Frank", "Pat", "Sue", "Ray", "Rich", "Drew", "Jack", "Holly", "Ivy", "Chase", "Miles",
]
# Ordinary words; "said", "wrote" and the like are left out because they are a name's evidence.
WORDS = (
    "i you we they it the a an and but so then today tomorrow essay draft book class school club "
    "send read write finish start help try need want like think see bring plan check keep give "
    "good long short new old first second last next quick careful clear small big every some "
    "about with for from into after before over under again soon now later here there"
).split()
SENDER, RECIPIENT = "brave-finch", "kind-otter"


@st.composite
def people(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    chosen = draw(st.lists(st.sampled_from(NAMES), min_size=6, max_size=6, unique=True))
    return chosen[0:2], chosen[2:4], chosen[4:6]  # sender, recipient, someone in another pairing


@st.composite
def sentence(draw: st.DrawFn, name_words: list[str]) -> str:
    pool = WORDS + [n.lower() for n in name_words]
    words = draw(st.lists(st.sampled_from(pool), min_size=3, max_size=12))
    first = draw(st.one_of(st.sampled_from(pool), st.sampled_from(name_words)))
    words[0] = first[:1].upper() + first[1:]
    return " ".join(words) + draw(st.sampled_from([".", "!", "?"]))


def named(draw: st.DrawFn, who: list[str], handle: str, other: list[str]) -> tuple[str, str]:
    """A place where a name stands as a name: (original, expected copy)."""
    first, last = who
    form = draw(st.integers(0, 5))
    word = draw(st.sampled_from(WORDS))
    name, masked = [(first, handle), (last, handle), (f"{first} {last}", handle)][draw(st.integers(0, 2))]
    if form == 0:
        return f"Hi {name},", f"Hi {masked},"
    if form == 1:
        return f"Thanks,\n{name}", f"Thanks,\n{masked}"
    if form == 2:
        return (f"On Tue, 3 Mar 2026, {first} {last} wrote:", f"On Tue, 3 Mar 2026, {handle} wrote:")
    if form == 3:
        return f"I will {word} it with {name} later.", f"I will {word} it with {masked} later."
    if form == 4:
        return f"{name} wrote:", f"{masked} wrote:"
    stranger = " ".join(other[: draw(st.integers(1, 2))])
    return f"Say hello to {stranger} for me.", f"Say hello to {stranger} for me."  # another pairing's name


@st.composite
def letters(draw: st.DrawFn) -> tuple[list[str], list[str], str, str]:
    sender, recipient, other = draw(people())
    everyone = sender + recipient + other
    pieces: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            text = " ".join(draw(st.lists(sentence(everyone), min_size=1, max_size=4)))
            pieces.append((text, text))
        else:
            who, handle = draw(st.sampled_from([(sender, SENDER), (recipient, RECIPIENT)]))
            pieces.append(named(draw, who, handle, other))
    return sender, recipient, "\n\n".join(p[0] for p in pieces), "\n\n".join(p[1] for p in pieces)


@SETTINGS
@given(letters())
def test_copy_differs_from_the_original_only_where_a_name_stands(letter) -> None:
    sender, recipient, original, expected = letter
    names = {" ".join(sender): SENDER, " ".join(recipient): RECIPIENT}
    assert Scrubber({}, names).text(original) == expected


@SETTINGS
@given(people(), st.lists(st.sampled_from(WORDS + [n.lower() for n in NAMES]), min_size=1, max_size=40))
def test_lowercase_words_are_never_names(trio, words) -> None:
    sender, recipient, _ = trio
    text = " ".join(words)
    assert Scrubber({}, {" ".join(sender): SENDER, " ".join(recipient): RECIPIENT}).text(text) == text
