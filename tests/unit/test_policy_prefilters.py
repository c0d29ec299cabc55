"""The rules' cheap checks lose nothing: each finds what a scan of the whole text finds.

Every text rule looks only where a match can be (around cues, in clusters of
digits, in runs without spaces). These properties compare each with the plain
whole-text scan it replaces, on texts built from the fragments the patterns
care about, spelled in awkward ways.
"""

import re

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import Leniency, PhoneMetadata, PhoneNumberFormat, PhoneNumberMatcher

from relay.model import Inspection, PolicyContext
from relay.policy.rules import contact_address, contact_email, contact_links, contact_phone, contact_social, words
from relay.policy import text as text_module
from relay.policy.text import Source, fold_with_map, original_span, run_start

FRAGMENTS = [
    " ", "  ", "\n", "\n\n", "\t", "\xa0", ",", ".", ". ", "!", "?", "'", "’", "(", ")", "[", "]", ":", "=", "-", "/",
    "#", "@", "+", "x", "_", "\u0130", "\u0131", "\u017f", "\u212a", "é", "ß", "Ｉ", "\u200b",
    "my", "snap", "snapchat", "is", "insta", "ig", "igloo", "discord", "name", "handle", "user", "username",
    "add", "me", "on", "at", "follow", "dm", "hmu", "whats", "app", "whatsapp", "tik", "tok", "face", "book",
    "jess.draws", "sk8r", "gamer#1234", "@jess", "@jess.", "wa.me/14155552671", "https://", "t.me/x", "instagram.com/x",
    "415", "555", "2671", "415 555 2671", "+44 7911 123456", "07911 123456", "1978", "12/05", "10:30", "ext. 12",
    "order", "#", "call", "text", "one", "two", "five", "nine", "oh", "zero", "0 7 9 1 1 1 2 3 4 5 6",
    "42", "221B", "Maple", "Street", "st", "Apt", "3", "Baker", "oak", "lane", "live", "address", "meet", "come", "over",
    "to", "sam", "gmail", "dot", "com", "(at)", "[dot]", "sam@gmail.com", ".com", "co", "uk", "flickr",
    "zoom.us", "zoom.us/j/1", "ZOOM.US", "drive.google.com/x", "icloud.com/sharedalbum/x", "box.com", "www.",
    "kill", "myself", "killing", "don't", "dont", "tell", "your", "parents", "suicide", "Suïcide", "fuck", "fucking",
    "he", "hits", "run", "away", "going", "nobody", "would", "miss",
]  # fmt: skip
TEXTS = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join) | st.text(max_size=80)
SOURCES = TEXTS.map(lambda text: Source("text", text))
CHECKS = settings(max_examples=400, deadline=None)


def spans(matches):
    return [m.span() for m in matches]


@CHECKS
@given(SOURCES)
@example(Source("text", "we met @ the park, MY  @ is jess and amy @ jo; dm me @ sam"))
def test_social_segments_find_what_the_whole_text_holds(source):
    s = contact_social
    text = source.text
    whole = [m.span() for p in (s._LINK, s._PHRASES, s._AT_HANDLE) for m in p.finditer(text)]
    if re.search(r"\bdiscord\b", text, re.IGNORECASE):
        whole += spans(s._DISCORD_TAG.finditer(text))
    assert s._spans(source) == sorted(whole)


@CHECKS
@given(SOURCES)
@example(Source("text", "sam@gmail.com\xa0@jess"))  # a space the backward look does not know
def test_email_windows_find_what_the_whole_text_holds(source):
    for pattern in (contact_email._PLAIN, contact_email._SPELLED):
        assert spans(contact_email._matches(source, pattern)) == spans(pattern.finditer(source.text))


SPELLED_FRAGMENTS = [
    " ", "  ", "\n", "\xa0", "\u2003", "(", ")", "[", "]", ".", "+", "-", "_", ",", "@", "é", "\u0660",
    "at", "AT", "At", "dot", "DOT", "com", "co", "uk", "gmail", "flickr", "sam", "a+b", "x-y", "s.lee", "that",
]  # fmt: skip


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(SPELLED_FRAGMENTS), max_size=30).map("".join))
@example("sam at gmail dot com and jo(at)gmail.com")
@example("a+b at gmail dot com")  # the name starts after the "+" when "a" follows an earlier match
@example("x at at gmail.com")  # an "at" that is the name of the next
@example("sam [ at ] gmail [dot] com")
def test_spelled_out_names_find_what_the_whole_text_holds(text):
    source = Source("text", text)
    found = contact_email._spelled_matches(source)
    assert spans(found) == spans(contact_email._SPELLED.finditer(text))


def test_name_characters_and_spaces_are_what_the_patterns_mean_by_them():
    """The spelled-out look-up steps over names and spaces by str methods, which must agree with \\w and \\s."""
    chars = [chr(c) for c in range(0x3000)] + ["\U0001d7d8", "\U00020000", "\u3000", "\uff10"]
    assert [c for c in chars if bool(re.match(r"\w", c)) != (c.isalnum() or c == "_")] == []
    assert [c for c in chars if bool(re.match(r"\s", c)) != c.isspace()] == []


@CHECKS
@given(SOURCES)
def test_address_anchors_find_what_the_whole_text_holds(source):
    a, text = contact_address, source.text
    whole = spans(a._STRICT.finditer(text))
    whole += [m.span() for intro in a._INTRODUCED.finditer(text) if (m := a._ANY_CASE.match(text, intro.end()))]
    assert a._spans(source) == whole


@CHECKS
@given(SOURCES)
def test_link_windows_find_what_the_whole_text_holds(source):
    services = contact_links.DEFAULT_SERVICES

    def listed(matches):
        return [m.span() for m in matches if contact_links._service(m.group(1), m.group(2) or "", services)]

    assert listed(contact_links._links(source, services)) == listed(contact_links._URL.finditer(source.text))


def _whole_text_phone_spans(text, region):
    """The rule as it scanned before: the library over the whole text, then spaced and spelled digits."""
    p = contact_phone
    found = []
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE):
        before = text[max(0, match.start - 40) : match.start]
        if p._REFERENCE.search(before):
            continue
        if phonenumbers.is_valid_number(match.number) or p._CUE.search(before):
            found.append((match.start, match.end, phonenumbers.format_number(match.number, PhoneNumberFormat.E164)))
    for match in p._SPACED_DIGITS.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        counting = all(int(b) - int(a) == 1 for a, b in zip(digits, digits[1:]))
        if not counting and not p._REFERENCE.search(text[max(0, match.start() - 40) : match.start()]):
            found.append((match.start(), match.end(), digits))
    for match in p._SPELLED.finditer(text):
        digits = "".join(p._DIGIT_WORDS[w.lower()] for w in re.findall(r"[a-z]+", match.group(), re.I))
        found.append((match.start(), match.end(), digits))
    return found


PHONE_TEXTS = st.lists(
    st.sampled_from(FRAGMENTS + ["0", "1", "7", "2026", "(415)", "555-2671", "+1", "+49 30 12", "011 44", " " * 40]),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(PHONE_TEXTS, st.sampled_from(["US", "GB", "DE", "IE", "FR", "AR"]))
def test_phone_clusters_find_what_the_whole_text_holds(text, region):
    p = contact_phone
    source = Source("text", text)
    clusters = p.digit_clusters(source)
    found = [
        s for lo, hi, digits in clusters
        if digits >= 2 and p._might_hold_number(text, lo, hi, p.fewest_digits(region))
        for s in p._matcher_spans(text, region, lo, hi)
    ]  # fmt: skip
    assert found + p._obfuscated_spans(source, clusters) == _whole_text_phone_spans(text, region)


DIGIT_WORD_TEXTS = st.lists(
    st.sampled_from(["one", "two", "Five", "nine", "oh", "zero", "someone", "tone", "ſix", "seven", "eight", "_"])
    | st.sampled_from([" ", ", ", "-", "\n", ". ", "'", "\xa0", "é"]),
    max_size=40,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(DIGIT_WORD_TEXTS)
@example("five five five one two one two")
@example("five five five one two one twos")
def test_spelled_digits_are_looked_for_whenever_seven_digit_words_follow_one_another(text):
    p = contact_phone
    source = Source("text", text)
    run, walked = 0, False
    for word in re.findall(r"\w+", source.key):
        run = run + 1 if word in p._DIGIT_WORDS else 0
        walked = walked or run >= 7
    assert p._spells_digits(source) == walked
    assert p._obfuscated_spans(source, p.digit_clusters(source)) == _whole_text_phone_spans(text, "US")


SPACED_TEXTS = st.lists(
    st.tuples(
        st.sampled_from(list("0123456789") + ["12", "a", "x", "٣", "1a"]),
        st.text(st.sampled_from(" .-_*/"), min_size=1, max_size=4),
    ),
    max_size=20,
).map(lambda parts: "".join(a + b for a, b in parts))


@settings(max_examples=500, deadline=None)
@given(SPACED_TEXTS)
def test_spaced_digits_are_looked_for_whenever_the_pattern_finds_them(text):
    p = contact_phone
    assert p._spaces_digits(Source("text", text).digit_runs) or not p._SPACED_DIGITS.search(text)


@settings(max_examples=300, deadline=None)
@given(PHONE_TEXTS | st.text(max_size=60), st.sampled_from(["US", "GB", "DE"]))
def test_a_cluster_worth_matching_has_enough_digits_or_a_plus(text, region):
    p, fewest = contact_phone, contact_phone.fewest_digits(region)
    for lo, hi, digits in p.digit_clusters(Source("text", text)):
        if p._might_hold_number(text, lo, hi, fewest):
            assert digits >= fewest or p._has_plus(text, lo, hi)


def test_the_fewest_digits_after_a_country_code_agrees_with_the_library():
    fewest = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region)
        desc = metadata.general_desc
        lengths = [n for n in (*(desc.possible_length or ()), *(desc.possible_length_local_only or ())) if n > 0]
        fewest += [len(str(metadata.country_code)) + min(lengths)] if lengths else []
    assert contact_phone.FEWEST_WITH_COUNTRY_CODE <= min(fewest)


def _word_hit(text, forms):
    """The word rule as it matched before: split the folded text into words, then walk them."""
    folded, index = fold_with_map(text)
    found = [(m.start(), m.end(), m.group().replace("’", "'")) for m in re.finditer(r"\w+(?:['’]\w+)*", folded)]
    best = None
    for tokens in forms:
        for i in range(len(found) - len(tokens) + 1):
            window = found[i : i + len(tokens)]
            ok = all(w[2].startswith(t[:-1]) if t.endswith("*") else w[2] == t for t, w in zip(tokens, window))
            if ok:
                span = original_span(index, window[0][0], window[-1][1])
                best = span if best is None or span[0] < best[0] else best
                break
    return best


PHRASES = [
    "kill myself", "don't tell your parents", "fuck*", "suicide", "(he|she) hits me", "i (really |)want to die",
    "(going to|gonna) run away", "nobody would miss me", "my snap", "self harm*", "ig",
]  # fmt: skip


@CHECKS
@given(TEXTS, st.sampled_from(PHRASES))
def test_word_lookups_find_what_walking_the_words_finds(text, phrase):
    pieces = words.phrase_pieces(phrase)
    hit = words._first_hit(Source("text", text), pieces)
    expected = _word_hit(text, words.phrase_forms(phrase))
    if expected is None or hit is None:
        assert hit == expected
    else:  # where two forms start together either may be shown, so only the start must agree
        assert hit[0] == expected[0]


INDEXED = words.parse({"extra": {"words": PHRASES + ["(really |)(truly |)", "send me a pic*", "(can't|cannot) do it"]}})


@CHECKS
@given(TEXTS)
@example("he hits me, i really want to die, FUCKING, don’t tell your parents, send me a picture, really")
def test_the_phrase_index_names_every_phrase_a_source_holds(text):
    source = Source("text", text)
    for word_list in INDEXED.lists:
        candidates = word_list.index.candidates(source)
        for at, (phrase, pieces) in enumerate(word_list.phrases):
            if words._first_hit(source, pieces) is not None:
                assert at in candidates, phrase


def test_a_phrase_is_filed_under_its_most_telling_piece():
    index = words.phrase_index(
        tuple(words.phrase_pieces(p) for p in ["(he|she) (always |)(hits|hit) me", "(really |)", "send me a pic*", "fuck*"])
    )
    assert index.by_word == {"hits": (0,), "hit": (0,), "send": (2,)}
    assert index.by_prefix == (("fuck", (3,)),)
    assert index.always == (1,)


def test_the_shared_sources_are_what_each_rule_sees_alone():
    inspection = Inspection(
        subject="add me on insta",
        texts=("call 415 555 2671, or sam@gmail.com",),
        htmls=('<p>I live at 42 Maple Street</p><a href="https://zoom.us/j/1">join</a>',),
    )
    from relay.policy.engine import evaluate
    from relay.policy.loader import parse_policy
    from relay.policy.rules import RULES
    from relay.policy.text import Readable

    policy = parse_policy("").default
    ctx = PolicyContext()
    alone = [f for rule in RULES for f in rule.check(inspection, ctx, policy.settings(rule.name))]
    shared = [f for rule in RULES for f in rule.check(inspection, ctx, policy.settings(rule.name), Readable.of(inspection))]
    assert alone == shared == list(evaluate(inspection, ctx, policy).findings)
    assert {f.rule for f in shared} >= {"contact_social", "contact_phone", "contact_email", "contact_address", "contact_links"}


@CHECKS
@given(TEXTS | DIGIT_WORD_TEXTS, st.sampled_from(["at", "one", "oh", "my", "a"]))
@example("at at_at (at) AT ſat", "at")
def test_whole_words_are_found_where_the_pattern_finds_them(text, word):
    source = Source("text", text)
    assert source.find_word(word) == [m.start() for m in re.finditer(rf"(?<!\w)(?={word}(?!\w))", source.key)]


@CHECKS
@given(st.text(st.sampled_from(" \t\n\x0b\x0c\r\xa0a@"), max_size=300), st.data())
def test_a_run_starts_after_the_last_ascii_space_before_it(text, data):
    at = data.draw(st.integers(0, len(text)))
    lo = data.draw(st.integers(0, at))
    last_space = max(text.rfind(c, 0, at) for c in " \t\n\r\f\v")
    assert run_start(text, at, lo) == max(last_space + 1, lo)


@CHECKS
@given(TEXTS | st.lists(st.sampled_from(["1", "42", "٣", "１", "²", " ", "a", "-", "\n"]), max_size=20).map("".join))
def test_digit_runs_are_the_runs_the_pattern_finds(text):
    assert Source("text", text).digit_runs == tuple(m.span() for m in re.finditer(r"\d+", text))


@pytest.mark.parametrize("char", ["\u0130", "\u0131", "\u017f", "\u212a"])
def test_the_key_spells_case_insensitive_look_alikes_as_ascii(char):
    letter = next(c for c in "abcdefghijklmnopqrstuvwxyz" if re.fullmatch(c, char, re.IGNORECASE))
    assert Source("text", char).key == letter


def test_no_other_character_matches_an_ascii_letter_case_insensitively():
    others = [
        chr(c) for c in range(0x80, 0x3000)
        if re.fullmatch("[a-z]", chr(c), re.IGNORECASE) and Source("t", chr(c)).key == chr(c)
    ]  # fmt: skip
    assert others == []


ASCII_TEXTS = st.lists(st.sampled_from([f for f in FRAGMENTS if f.isascii()]), max_size=40).map("".join) | st.text(
    st.characters(max_codepoint=127), max_size=80
)
PREFIXES = st.sampled_from(["", "f", "fuck", "sn", "snap", "my", "ig", "a", "d", "don", "_", "1", "\t"]) | st.text(max_size=3)


@CHECKS
@given(TEXTS | ASCII_TEXTS, PREFIXES.filter(lambda prefix: " " not in prefix))
@example("don't fucking snap", "fuck")
@example("", "")
def test_a_word_prefix_is_found_just_where_some_word_starts_with_it(text, prefix):
    source = Source("text", text)
    assert source.has_folded_word_starting(prefix) == any(w.startswith(prefix) for w in source.folded_words)
    assert (f" {prefix}" in source.spaced_key_words) == any(w.startswith(prefix) for w in source.key_words)


def test_no_social_cue_word_starts_another():
    cues = contact_social._CUE_WORDS
    assert [(a, b) for a in cues for b in cues if a != b and b.startswith(a)] == []


@CHECKS
@given(TEXTS | ASCII_TEXTS)
@example("SNAPchat and İnsta, my username, ig")
def test_the_social_cue_words_found_at_word_starts_are_every_cue_word_a_word_starts_with(text):
    source = Source("text", text)
    present = {cue for cue in contact_social._CUE_WORDS if any(w.startswith(cue) for w in source.key_words)}
    assert set(contact_social._CUE_STARTS.findall(source.spaced_key_words)) == present


@CHECKS
@given(ASCII_TEXTS)
def test_an_ascii_key_is_the_translated_text(text):
    assert Source("text", text).key == text.translate(text_module._KEY)


def test_the_kinds_of_ascii_characters_are_what_the_patterns_mean_by_them():
    for char in map(chr, range(128)):
        kind = Source("text", char).classes
        assert (kind == "0") == bool(re.fullmatch(r"\d", char)), char
        assert (kind == " ") == bool(re.fullmatch(r"\s", char)), char
        assert (kind == "x") == (char in "xX"), char
        assert (kind == "A") == bool(re.fullmatch(r"[A-WYZ]", char)), char
        assert (kind == "a") == bool(re.fullmatch(r"[a-wyz_]", char)), char
        assert (kind == ".") == bool(re.fullmatch(r"[^\w\s]", char)), char


@CHECKS
@given(TEXTS | ASCII_TEXTS | PHONE_TEXTS | st.lists(st.sampled_from(["1", "42", "٣", "１", "²", " ", "a"]), max_size=20).map("".join))
def test_the_digit_count_is_the_digits_of_the_runs(text):
    source = Source("text", text)
    assert source.digit_count == sum(len(m.group()) for m in re.finditer(r"\d+", text))


ASCII_PHONE_TEXTS = st.lists(
    st.sampled_from([f for f in FRAGMENTS if f.isascii()] + ["0", "1", "7", "2026", "(415)", "555-2671", "x12", "X", "_"]),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(PHONE_TEXTS | ASCII_PHONE_TEXTS, st.sampled_from(["US", "GB", "DE", "IE", "FR", "AR"]))
@example("call 0 7 9 1 1 1 2 3 4 5 6 x 12", "GB")
@example("ref_1234567 and 12_34", "US")
@example("1234x567", "US")  # an x joins a group as a space does
@example("1234_567", "US")  # an underscore does not
@example("12 . 34 - 567", "US")
def test_a_text_the_quick_look_passes_over_has_no_cluster_worth_matching(text, region):
    p, source = contact_phone, Source("text", text)
    fewest = p.fewest_digits(region)
    worth = [
        (lo, hi) for lo, hi, digits in p.digit_clusters(source)
        if digits >= 2 and (digits >= fewest or p._has_plus(text, lo, hi)) and p._might_hold_number(text, lo, hi, fewest)
    ]  # fmt: skip
    assert p._may_hold_number(source, fewest) or not worth
    if text.isascii() and "+" not in text:  # then the look is exact
        assert p._may_hold_number(source, fewest) == bool(worth)


@settings(max_examples=500, deadline=None)
@given(SPACED_TEXTS | ASCII_PHONE_TEXTS | PHONE_TEXTS)
@example("1 2 3 4 5 6 7")
@example("1 2 3 4 5 6 78")
def test_the_quick_look_for_spaced_digits_agrees_with_the_runs(text):
    source = Source("text", text)
    assert contact_phone._may_space_digits(source) == contact_phone._spaces_digits(source.digit_runs)


ADDRESS_TEXTS = st.lists(
    st.sampled_from([
        "42", "221B", "5th", "12", "3", "1234567", " ", "  ", "\n", "\t", ",", ".", "-", "/", "'", "x", "X",
        "Maple", "Baker", "Xavier", "O'Neil", "Street", "St", "st", "Ave", "lane", "Oak", "N", "North", "Apt",
        "#", "live", "at", "address", "is", "meet", "me", "come", "to", "over", "Martin", "Luther", "King",
    ]),
    max_size=25,
).map("".join)  # fmt: skip


@CHECKS
@given(ADDRESS_TEXTS)
@example("I live at 12 oak lane, 42 Maple Street")
@example("12 5 Main Street")
@example("1234567 Baker Street and 99 Xavier Ave")
def test_address_starts_in_ascii_text_find_what_the_whole_text_holds(text):
    a = contact_address
    whole = spans(a._STRICT.finditer(text))
    whole += [m.span() for intro in a._INTRODUCED.finditer(text) if (m := a._ANY_CASE.match(text, intro.end()))]
    assert a._spans(Source("text", text)) == whole


ASCII_EMAIL_TEXTS = st.lists(
    st.sampled_from(
        [f for f in SPELLED_FRAGMENTS if f.isascii()]
        + ["me", "ME", "info", "\t", "\n", "sam@", "@gmail.com", "a@b.co", "x@", "@ ", "%", "'", "!", "at the", "that"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(ASCII_EMAIL_TEXTS)
@example("we met at the park. Me too, at noon. sam at gmail dot com")
@example("jo (at) mail . co . uk, a@b.co and @ the park")
@example("x at [dot] com at me.com")
def test_email_looks_in_ascii_text_find_what_the_whole_text_holds(text):
    source = Source("text", text)
    for pattern in (contact_email._PLAIN, contact_email._SPELLED):
        assert spans(contact_email._matches(source, pattern)) == spans(pattern.finditer(text))


# One link of each kind _LINK knows, in its order.
LINK_EXAMPLES = [
    "wa.me/14155552671", "api.whatsapp.com/send?p=1", "chat.whatsapp.com/AbC", "snapchat.com/add/sk8r",
    "snapchat.com/t/x1", "instagram.com/jess", "instagr.am/jess", "discord.gg/abc", "discordapp.com/invite/abc",
    "discord.com/users/123", "t.me/jess", "telegram.me/jess", "tiktok.com/@jess", "vm.tiktok.com/ZM1",
    "facebook.com/jess", "fb.com/jess", "m.me/jess", "kik.me/jess", "signal.me/#p/x", "signal.group/#abc",
    "twitter.com/jess", "x.com/jess", "threads.net/@jess", "reddit.com/u/jess", "reddit.com/user/jess",
    "roblox.com/users/1", "steamcommunity.com/id/jess", "u.wechat.com/abc", "join.skype.com/abc", "bere.al/jess",
]  # fmt: skip


@pytest.mark.parametrize("link", LINK_EXAMPLES)
@pytest.mark.parametrize("written", ["{}", "https://{}", "http://www.{}", "see {}!", "{}. and", "X{}"])
def test_every_kind_of_link_is_looked_for(link, written):
    for text in (written.format(link), written.format(link).upper()):
        whole = [m.span() for m in contact_social._LINK.finditer(text)]
        assert contact_social._spans(Source("text", text)) == sorted(whole)
        assert whole or written == "X{}"  # a link run into a word is none


LINK_TEXTS = st.lists(st.sampled_from(LINK_EXAMPLES + [" ", "/", "//", ".", ".com", "me/", "and/or", "x", "@", "\xa0"]), max_size=12)


@CHECKS
@given(LINK_TEXTS.map("".join))
def test_link_slashes_find_what_the_whole_text_holds(text):
    whole = [m.span() for p in (contact_social._LINK, contact_social._PHRASES, contact_social._AT_HANDLE) for m in p.finditer(text)]
    if re.search(r"\bdiscord\b", text, re.IGNORECASE):
        whole += spans(contact_social._DISCORD_TAG.finditer(text))
    assert contact_social._spans(Source("text", text)) == sorted(whole)
