"""Each shortcut the masked copy takes agrees with the exact way it stands in for, on real and random input.

The name search (str.find per known word, shared by both passes) against
the plain alternation scan; the word before a name against its regex;
fold() against set-and-translate; the escape pattern against the
alternation it was rewritten from; the address around an "@" against the
character-by-character scan; the reading of a message (``relay.mime``, for
intake's parse and the copy's) against the email package's parser; the
writing of a leaf part against its generator, and the choice of 7bit
against the email package's; single_line() against its slow path.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import MIMEPart
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from relay.mime import read_message
from relay.outbound import headers, names, rewrite, scrub
from relay.outbound.names import NameMatcher
from tests.unit.test_mail_corpus import CTX as CORPUS_CTX
from tests.unit.test_mask_fuzz import messages
from tests.unit.test_rewrite import CTX

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
RAWS = [p.read_bytes() for p in sorted(MAIL.glob("*.eml"))]

# Names of every shape the search must treat as the scan did: initials, particles, accents,
# apostrophes, other scripts, a name written without spaces, characters that are word
# characters but not letters (ↀ; ² and Ⅻ fold to digits and letters), one- and two-letter parts.
NAME_POOL = [
    "Will Mark", "Will R. Mark", "Arne R. van der Heyde", "Sam Rivera", "José Ñúñez", "O'Brien Kelly",
    "Jo Li", "Ян Ковальски", "山田 太郎", "Ånna-Lisa Öberg", "Mark² Test", "Al B", "Doe, Jane",
    "Ⅻ Rex", "Markↀ Lee", "Zoë d'Arc", "May", "Hope Grace", "R Rivera", "Ali Haddad", "Σωκράτης Παππάς",
]
PIECES = [
    "Hi", "Hi ", "Dear", "Thanks,\n", "Best,\n", " wrote:", "From: ", "\n> ", ", ", ". ", "\n\n", " ", "&nbsp;",
    "-", "@", "²", "ↀ", "山", "x", "the", "same", "market", "willing", "r", "R.", "van", "der", "said", "I", "Σ", "ς",
    "\ue000", "é", "’", "<b>", "</p>", "_", "1", "can you", "Mr", "ö", "ﬁ", "İ",
]
FIRST = "Will Mark Grace Hope Rose Bill Summer Hunter Art May Jane Sam Alex Maria Omar Lena Yuki Priya Tom Ada".split()
LAST = "Rivera Doe Smith Nguyen Okafor Müller Rossi Tanaka Kowalski Haddad Silva Brown Garcia Cohen Ali".split()


def many_names(count: int) -> dict[str, str]:
    """`count` people: the common names first, then made-up ones, so there are more distinct words than names."""
    def made_up(i: int) -> str:
        return chr(97 + i // 26 % 26) + chr(97 + i % 26)
    return {f"{FIRST[i % 20]}{made_up(i) if i >= 20 else ''} {LAST[i % 15]}{made_up(i) if i >= 15 else ''}": f"h-{i}"
            for i in range(count)}


def hold(handle: str) -> str:
    return f"[{handle}]"


def placeholders():
    """A hold() like the Scrubber's: numbered placeholders without a letter, so the hits are carried over."""
    held: list[str] = []

    def hold_(handle: str) -> str:
        held.append(handle)
        return f"\ue000{len(held) - 1}\ue001"

    return hold_


def spellings(name: str) -> list[str]:
    return [name, name.lower(), name.upper(), name.title(), name.replace(" ", "\n"), name.replace(" ", "  ")]


@st.composite
def name_maps(draw: st.DrawFn) -> dict[str, str]:
    if draw(st.integers(0, 4)) == 0:  # many names: 28 words to search, or 80, past the search
        return many_names(draw(st.sampled_from([14, 40])))
    chosen = draw(st.lists(st.sampled_from(NAME_POOL), min_size=1, max_size=4, unique=True))
    return {name: f"h-{i}" for i, name in enumerate(chosen)}


@st.composite
def letters(draw: st.DrawFn, names_: dict[str, str]) -> str:
    pool = [s for name in names_ for s in spellings(name)] + [w for name in names_ for w in name.split()]
    chunks = draw(st.lists(st.one_of(st.sampled_from(pool), st.sampled_from(PIECES), st.text(max_size=6)), max_size=40))
    return "".join(chunks)


@SETTINGS
@given(st.data())
@example(data=None)
def test_the_name_search_replaces_exactly_what_the_plain_scan_does(data) -> None:
    if data is None:  # one long letter through every path, including a full name replaced mid-text
        names_ = {"Will R. Mark": "a", "Sam Rivera": "b"}
        text = "Hi Sam,\n\nI will mark it, Will. Same market.\n\nBest,\nWill R. Mark\n" * 50
    else:
        names_ = data.draw(name_maps())
        text = data.draw(letters(names_))
    fast, exact = NameMatcher(names_), NameMatcher(names_, bounded=False)
    for markup in (False, True):
        for holder in (lambda: hold, placeholders, lambda: lambda handle: ""):
            assert fast.replace(text, holder(), markup=markup) == exact.replace(text, holder(), markup=markup)


def test_the_search_is_taken_for_a_few_real_names_and_the_scan_kept_otherwise() -> None:
    matcher = NameMatcher({"Will R. Mark": "a", "Arne van der Heyde": "b"})
    assert matcher._both_words is not None and matcher._single_words.exact
    assert not NameMatcher({"Markↀ Test": "a"})._single_words.exact  # "ↀ" is a word character, not a letter
    assert not NameMatcher({"山田 太郎": "a"})._single_words.exact  # CJK letters never end a word
    some = NameMatcher(many_names(14))
    assert some._both_words is not None and len(some._single_words._searched) == 28
    many = NameMatcher(many_names(40))  # more words than the search takes: each word of the text looked up
    assert many._both_words is None and not many._single_words.exact


LAST_WORD = re.compile(r"([^\W\d_][\w'’-]*)[ \t]+\Z")


@SETTINGS
@given(st.lists(st.one_of(st.text(max_size=4), st.sampled_from([" ", "\t", "\n", "_", "'", "’", "-", "1", "²", "Ⅻ", "山",
                                                                 "Mary", "jane", "é", "\u00a0", "\r"])), max_size=20).map("".join))
def test_the_word_before_a_name_is_found_as_the_regex_finds_it(before: str) -> None:
    match = LAST_WORD.search(before)
    assert names._last_word(before) == ((match.start(), match.group(1)) if match else None)


def test_fold_is_one_character_for_one_whatever_surrounds_it() -> None:
    """What lets the hits be carried over a replaced name: fold(text) == "".join(map(_fold_char, text)).

    fold() replaces each character by _fold_char() and lower-cases the result;
    lower() is context-free but for a capital sigma, so it suffices that it
    leaves every folded character alone (and the ASCII ones fold as lower() does).
    """
    assert all((f := names._fold_char(chr(i))).lower() == f for i in range(0x110000))
    assert all(names._fold_char(chr(i)) == chr(i).lower() for i in range(128))


def plain_fold(text: str) -> str:
    """fold() as it was: the set of the text's characters, one translate."""
    if text.isascii():
        return text.lower()
    table = {ord(c): f for c in set(text) if ord(c) > 127 and (f := names._fold_char(c)) != c}
    folded = text.translate(table).lower() if table else text.lower()
    return folded if len(folded) == len(text) else "".join(names._fold_char(c) for c in text)


ODD_CHARACTERS = "ÉéΣσςİßẞǅﬁÅ²½Ⅻ①ＡｶﾞKΩϴΐ\ue000\udc80\ud800’ŉǰ"


@SETTINGS
@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(ODD_CHARACTERS), st.sampled_from("abc XYZ.\n")),
               max_size=300))
@example("Ünïcödé " * 3000)
@example("plain text with one ’ curly quote " * 2000)
def test_fold_agrees_with_set_and_translate(text: str) -> None:
    assert names.fold(text) == plain_fold(text) == "".join(map(names._fold_char, text))


OLD_ESCAPE = re.compile(
    r"%[0-7][0-9a-f]|(?:%[89a-f][0-9a-f])+|&#[0-9]{1,8};?|&#x[0-9a-f]{1,8};?|&(?:commat|period|lowbar|plus);|=40",
    re.IGNORECASE,
)


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(["%", "&", "=", "#", "x", "X", ";", "40", "%C3%A9", "&#64", "&#X40;",
                                           "&COMMAT;", "&period;", "lowbar", "plus;", "%4", "%e9%", "9", "f", "@"]),
                          st.text(max_size=4)), max_size=30).map("".join))
def test_the_escape_pattern_finds_what_the_alternation_found(text: str) -> None:
    assert [(m.span(), m.group(0)) for m in scrub._ESCAPE.finditer(text)] == [
        (m.span(), m.group(0)) for m in OLD_ESCAPE.finditer(text)
    ]


def plain_known_address(book: scrub.AddressBook, lowered: str, at: int):
    """_known_address() as it was: scans one character at a time, looks every candidate domain up."""
    start, floor = at, max(0, at - scrub._MAX_LOCAL)
    while start > floor and lowered[start - 1] in scrub._LOCAL_CHARS:
        start -= 1
    end, ceiling = at + 1, min(len(lowered), at + 1 + scrub._MAX_DOMAIN)
    while end < ceiling and (lowered[end] in scrub._DOMAIN_CHARS or (lowered[end].isalnum() and not lowered[end].isascii())):
        end += 1
    local, best = lowered[start:at], None
    for stop in range(end, at + 1, -1):
        for locals_ in book.locals_at(lowered[at + 1 : stop]):
            for i in range(len(local)):
                alias = locals_.get(local[i:])
                if alias is not None:
                    if best is None or stop - (start + i) > best[1] - best[0]:
                        best = (start + i, stop, alias)
                    break
    return best


BOOK = scrub.AddressBook({"jane.doe@example.com": "a@relay", "doe@example.com": "b@relay", "x@ex.co": "c@relay",
                          "sam@bücher.example": "d@relay", "o'neil+tag@mail.example.org": "e@relay"})
BOOK_WITH_EXTRA = BOOK.with_extra({"jane@example.com.au": "f@relay", "x@ex.co": "g@relay"})


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(["@", "jane.doe", "doe", "x", "ex.co", "example.com", ".au", "bücher", "sam",
                                           "o'neil+tag", "mail.example.org", "-", ".", " ", "_", "é", "1", "<", "\n"]),
                          st.text(max_size=3)), max_size=25).map(lambda chunks: "".join(chunks).lower()),
       st.sampled_from([BOOK, BOOK_WITH_EXTRA]))
def test_an_address_is_found_around_its_at_sign_as_the_character_scan_found_it(lowered: str, book) -> None:
    for at in (i for i, c in enumerate(lowered) if c == "@"):
        assert scrub._known_address(book, lowered, at) == plain_known_address(book, lowered, at)
    assert scrub._anchored(lowered) == bool(scrub._ANCHOR.search(lowered))
    assert scrub._anchored(lowered.upper() + "&COMMAT;") and not scrub._anchored("&comma; 40 %4")


def message_shape(msg) -> tuple:
    payload = msg._payload
    return (
        type(msg), msg._headers, msg._unixfrom, msg.preamble, msg.epilogue, msg._default_type, msg._charset,
        [(type(d), d.args) for d in msg.defects],
        [message_shape(p) for p in payload] if isinstance(payload, list) else payload,
    )


HEAD_CASES = [
    b"", b"\r\n", b"Subject: x", b"Subject: x\r\n", b"Subject: x\r\n\r\nbody", b"Subject: x\r\n\r\n",
    b"From someone Mon Mar  2 18:00:00 2026\nSubject: x\n\nbody\n", b"Subject: x\r\r\rbody\r",
    b"Subject: x\nnot a header\n\nbody", b"Subject: x\n folded\n\tagain\n\nbody", b":odd\n\nbody",
    b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n", b"Content-Type: message/rfc822\n\nSubject: y\n\nz",
    b"Content-Type: MESSAGE/delivery-status\n\nA: b\n\nC: d\n", b"Subject: \xff\xfe\r\n\r\n\xe9t\xe9\r\n",
    b"Subject: x\n\n\n\nbody\r\n.\r\n", b"Content-Type: text/plain\n\x85Subject: y\n\nbody",
    # what relay.mime looks for before it takes a body whole: a type that may have parts, and one that cannot
    b"Subject: a message\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n", b"Message-ID: <m@x>\r\n\r\nbody\r\n",
    b"Content-Type: Multipart/Alternative; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    b"Content-type: message /rfc822\n\nSubject: y\n\nz", b"Content-Type: multi\n part/mixed; boundary=b\n\n--b\n",
]


@SETTINGS
@given(st.one_of(messages().map(lambda m: m[0]), st.binary(max_size=300), st.sampled_from(RAWS + HEAD_CASES)))
def test_the_original_is_read_as_the_email_package_reads_it(raw: bytes) -> None:
    expected = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert message_shape(read_message(raw)) == message_shape(expected)


@pytest.mark.parametrize("raw", RAWS + HEAD_CASES)
def test_every_fixture_is_read_as_the_email_package_reads_it(raw: bytes) -> None:
    expected = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert message_shape(read_message(raw)) == message_shape(expected)


def outcome(write, part: MIMEPart):
    try:
        return write(part)
    except Exception as error:  # the generator's refusal is the answer too
        return type(error)


def assert_written_as_the_generator_writes(part: MIMEPart) -> None:
    assert outcome(rewrite._generate, part) == outcome(lambda p: rewrite._split(rewrite._generated(p)), part)
    if part.is_multipart():
        for child in part.get_payload():
            assert_written_as_the_generator_writes(child)


@pytest.mark.parametrize("raw", RAWS)
@pytest.mark.parametrize("ctx", [CTX, CORPUS_CTX], ids=["rewrite", "corpus"])
def test_every_part_of_every_fixture_copy_is_written_as_the_generator_writes_it(raw: bytes, ctx) -> None:
    source = email.message_from_bytes(raw, policy=email.policy.compat32)
    copy = rewrite._Copy(ctx, scrub.Scrubber(ctx.address_map, ctx.name_map), rewrite._content_ids(source, ctx))
    assert_written_as_the_generator_writes(rewrite._safe_part(copy, source, depth=0, path="r"))
    assert_written_as_the_generator_writes(rewrite._placeholder())


texts = st.lists(st.one_of(st.text(max_size=8), st.sampled_from(["\r", "\n", "\r\n", " ", "--=_", "x" * 90, "=", "."])),
                 max_size=60).map("".join)


@SETTINGS
@given(texts, st.sampled_from(["plain", "html", "calendar", "x-vcard"]), st.sampled_from([None, "quoted-printable", "base64"]),
       st.sampled_from([{}, {"name": "notes.txt"}, {"name": "Schön ünïcode name that is rather long indeed.txt"}]),
       st.sampled_from([None, "inline", "attachment"]), st.booleans())
def test_a_text_part_is_written_as_the_generator_writes_it(text, subtype, cte, params, disposition, cid) -> None:
    part = MIMEPart(policy=rewrite._POLICY)
    part.set_content(text, subtype=subtype, charset="utf-8", cte=cte, params=params, disposition=disposition,
                     filename=params.get("name"), cid="<abc@relay.invalid>" if cid else None)
    assert_written_as_the_generator_writes(part)


@SETTINGS
@given(texts)
@example("short lines\n" * 5000)
@example("x" * 78 + "\r\n" + "y" * 78)
@example("x" * 79)
def test_a_text_is_called_7bit_where_the_email_package_would_choose_7bit(text: str) -> None:
    def made(cte: str | None) -> bytes:
        part = MIMEPart(policy=rewrite._POLICY)
        part.set_content(text, subtype="plain", charset="utf-8", cte=cte)
        return rewrite._generated(part)

    assert rewrite._seven_bit(text) in (None, "7bit")
    assert made(rewrite._seven_bit(text)) == made(None)


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from(["application/octet-stream", "image/png", "application/ics"]))
def test_a_binary_part_is_written_as_the_generator_writes_it(data: bytes, ctype: str) -> None:
    part = MIMEPart(policy=rewrite._POLICY)
    maintype, subtype = ctype.split("/")
    part.set_content(data, maintype, subtype, cte="base64", filename="a.bin", disposition="attachment")
    assert_written_as_the_generator_writes(part)


def test_a_payload_the_fast_writer_does_not_take_goes_to_the_generator() -> None:
    part = MIMEPart(policy=rewrite._POLICY)
    part["Content-Type"] = "text/plain"
    part.set_payload("caf\udce9\n")  # 8-bit bytes kept as surrogates: the generator's to re-encode (or refuse)
    assert_written_as_the_generator_writes(part)
    part.set_param("charset", "latin-1")
    assert_written_as_the_generator_writes(part)
    part = MIMEPart(policy=rewrite._POLICY)
    part["Content-Type"] = "message/rfc822"
    part.set_payload("Subject: x\r\n\r\nbody\n")  # written as it is, line ends and all
    assert_written_as_the_generator_writes(part)
    assert rewrite._generate(part)[1] == b"Subject: x\r\n\r\nbody\n"


def plain_single_line(value: str) -> str:
    """single_line() without its shortcut for printable ASCII."""
    text = headers._from_surrogates(str(value))
    text = headers._BREAKS.sub(" ", text.replace("\t", " "))
    text = headers._CONTROLS.sub("", text)
    return re.sub(r" {2,}", " ", text).strip()


@SETTINGS
@given(st.lists(st.one_of(st.text(max_size=6), st.sampled_from(["  ", " ", "\t", "\r\n", "\x0b", "\x7f", "\x85", "\udcff",
                                                                 "a", "Z", "~"])), max_size=20).map("".join))
def test_single_line_agrees_with_its_slow_path(value: str) -> None:
    assert headers.single_line(value) == plain_single_line(value)
