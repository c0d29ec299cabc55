"""The quick reading of plain HTML makes the calls html.parser makes, and gives up on everything else.

Documents are built from the pieces where the two could differ (attribute
quoting, self-closing tags, comments, script and style content, entities,
spaces html.parser does not treat as spaces) and compared call by call with
html.parser; where the quick reading gives up, the policy's extraction is
html.parser's own.
"""

import email
import re
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from relay.policy import simple_html, text
from relay.policy.text import _TextExtractor, html_links, html_to_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


class Recorder(HTMLParser):
    """Every handler call, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.calls: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.calls.append(("start", tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.calls.append(("startend", tag, attrs))

    def handle_endtag(self, tag):
        self.calls.append(("end", tag))

    def handle_data(self, data):
        if self.calls and self.calls[-1][0] == "data":  # html.parser may hand text over in pieces
            self.calls[-1] = ("data", self.calls[-1][1] + data)
        else:
            self.calls.append(("data", data))

    def handle_comment(self, data):
        self.calls.append(("comment", data))

    def handle_decl(self, decl):
        self.calls.append(("decl", decl))

    def handle_pi(self, data):
        self.calls.append(("pi", data))

    def unknown_decl(self, data):
        self.calls.append(("unknown decl", data))


def slow_calls(html):
    recorder = Recorder()
    recorder.feed(html)
    recorder.close()
    return recorder.calls


class EveryTag:
    """Every tag's attributes are worked out, so that they are compared too."""

    def __contains__(self, tag):
        return True


def quick_calls(html):
    recorder = Recorder()
    return recorder.calls if simple_html.feed(html, recorder, EveryTag()) else None


def slow_extraction(html):
    """The policy's extraction as html.parser alone reads the document."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return text._visible_text(parser), tuple(parser.links)


NAMES = st.sampled_from([
    "p", "P", "div", "br", "BR", "a", "A", "area", "b", "span", "script", "SCRIPT", "style", "head", "title",
    "textarea", "template", "img", "table", "td", "html", "body", "meta", "xmp", "iframe", "noscript", "plaintext",
    "x1", "h1", "my-tag", "o:p", "a\x0b", "p\xa0",
])  # fmt: skip
SPACES = st.sampled_from(["", " ", "  ", "\n", "\t", "\r\n", "\f", "\x0b", "\xa0"])
VALUES = st.sampled_from([
    '"x"', "'x'", "x", '""', "''", '"https://wa.me/1?a=1&amp;b=2"', "https://t.me/x", "a/b", "x/", "/", '"a>b"',
    "'it''s'", '"&lt;p&gt;"', "&amp;", "a=b", "`x`", '"a\nb"', "", "é",
])  # fmt: skip
ATTRIBUTE = st.tuples(
    SPACES, st.sampled_from(["href", "HREF", "class", "data-x", "xmlns:v", "style", "_a", "1a", "=", "/"]),
    st.sampled_from(["", "=", " = ", "==", "= "]), VALUES,
).map(lambda a: a[0] + a[1] + (a[2] + a[3] if a[2] else ""))  # fmt: skip
START = st.tuples(NAMES, st.lists(ATTRIBUTE, max_size=3), SPACES, st.sampled_from([">", "/>", " />", "/ >", ""])).map(
    lambda t: "<" + t[0] + "".join(t[1]) + t[2] + t[3]
)
END = st.tuples(NAMES, SPACES, st.sampled_from([">", " >", "", ' x="1">'])).map(lambda t: "</" + t[0] + t[1] + t[2])
TEXT = st.sampled_from([
    "Hello", " there ", "\n", "a > b", "AT&T", "&amp;", "&nbsp;", "&#32;", "&#x41;", "&bogus;", "&", "&lt;b&gt;",
    "call 415 555 2671", "é", "\r\n", "  ", "x\x00y", "&am", "p{color:red}", "if (a) {}", "—",
]) | st.text(st.characters(blacklist_characters="<"), max_size=8)  # fmt: skip
OTHER = st.sampled_from([
    "<!-- c -->", "<!---->", "<!-- a - b -->", "<!-- a -- b -->", "<!--->", "<!-->", "<!-- x --->", "<!-- x --!>",
    "<!--[if mso]><p>x</p><![endif]-->", "<!DOCTYPE html>", "<!doctype HTML PUBLIC \"x\">", "<!x>", "<?xml x?>",
    "<![CDATA[x]]>", "<", "< p>", "</>", "</ p>", "<3", "<a", "</p", "<!--", "<!DOCTYPE",
])  # fmt: skip
DOCUMENTS = st.lists(START | END | TEXT | OTHER, max_size=25).map("".join)
# Mostly what the quick reading accepts, so that most of these are read both ways.
PLAIN_NAMES = st.sampled_from(["p", "P", "div", "br", "a", "A", "area", "b", "script", "style", "head", "title", "img"])
PLAIN_ATTRIBUTE = st.tuples(
    st.sampled_from([" ", "\n", "  "]), st.sampled_from(["href", "HREF", "class", "data-x", "alt"]),
    st.sampled_from(["", "=", " = "]),
    st.sampled_from(['"x"', "'x'", "x", '""', '"https://wa.me/1?a=1&amp;b=2"', "a/b", '"&lt;p&gt;"', "&amp;"]),
).map(lambda a: a[0] + a[1] + (a[2] + a[3] if a[2] else ""))  # fmt: skip
PLAIN_DOCUMENTS = st.lists(
    st.tuples(PLAIN_NAMES, st.lists(PLAIN_ATTRIBUTE, max_size=2), st.sampled_from([">", "/>", " />", " >"])).map(
        lambda t: "<" + t[0] + "".join(t[1]) + t[2]
    )
    | st.tuples(PLAIN_NAMES, st.sampled_from([">", " >"])).map(lambda t: "</" + t[0] + t[1])
    | st.sampled_from(["Hello", " there ", "\n", "a > b", "AT&T", "&amp;", "&nbsp;", "&#32;", "&bogus;", "&", "x&"])
    | st.sampled_from(["<!-- c -->", "<!---->", "<!-- a - b -->", "<!DOCTYPE html>"]),
    max_size=25,
).map("".join)

WEBMAIL = (
    '<html><head><style>p{margin:0;font-family:Arial}</style></head><body><div dir="ltr"><p>Hi there,</p>'
    '<p style="margin:0">We practised for the match <b>12</b> <a href="https://www.example.org/notes/7">notes</a></p>'
    "<br><br/><div>Call&#32;me &amp; see<br></div><!-- quoted --><img src='x.png' alt=\"\"></div></body></html>"
)


@settings(max_examples=2000, deadline=None)
@given(DOCUMENTS | PLAIN_DOCUMENTS)
@example(WEBMAIL)
@example('<a href="x"/><a href=x/><a href=x />')
@example("<script>if (a<b) {}</script><p>after</p>")
@example("<style>p{}</style ><title>A &amp; B</title>")
@example("<textarea><b>x</b></textarea>")
@example("<p>AT&T&")
def test_the_quick_reading_makes_html_parsers_calls_or_gives_up(html):
    quick = quick_calls(html)
    if quick is not None:
        assert quick == slow_calls(html)
    assert (html_to_text(html), html_links(html)) == slow_extraction(html)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200) | st.text(st.sampled_from('<>/!-="\' abp&;#x1\n'), max_size=60))
def test_any_text_reads_as_html_parser_reads_it(html):
    quick = quick_calls(html)
    if quick is not None:
        assert quick == slow_calls(html)
    assert (html_to_text(html), html_links(html)) == slow_extraction(html)


def test_plain_webmail_markup_is_read_quickly():
    assert quick_calls(WEBMAIL) is not None
    assert quick_calls("<p>x</p><!--[if mso]>y<![endif]-->") is None  # a conditional comment: html.parser reads it


def test_the_policy_tests_and_fixtures_html_reads_as_html_parser_reads_it():
    documents = [
        WEBMAIL,
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<p>Hello&nbsp;<b>there</b></p><script>var secret = 1;</script><div>Call&#32;me</div></body></html>",
        '<a href="https://wa.me/14155552671">chat</a><img src="https://x.example/p.png"><a>no href</a>',
        '<p>rich</p><a href="mailto:a@b.org">x</a>',
        '<p>I live at 42 Maple Street</p><a href="https://zoom.us/j/1">join</a>',
    ]
    for path in sorted(FIXTURES.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        for part in message.walk():
            if part.get_content_type() == "text/html":
                documents.append(part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", "replace"))
    for html in documents:
        quick = quick_calls(html)
        assert quick is None or quick == slow_calls(html), html[:80]
        assert (html_to_text(html), html_links(html)) == slow_extraction(html)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "  ", "\n", "\r\n", "\t", "\xa0", "\u2028", "\x1c", "\x0b", "\u3000", "b"]),
                max_size=30).map("".join))  # fmt: skip
def test_visible_lines_are_collapsed_as_the_pattern_collapsed_them(joined):
    parser = _TextExtractor()
    parser.parts = [joined]
    lines = (re.sub(r"\s+", " ", line).strip() for line in joined.splitlines())
    assert text._visible_text(parser) == "\n".join(line for line in lines if line)

