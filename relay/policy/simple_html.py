"""A quick reading of plain HTML: html.parser's calls, for markup every version of it reads alike.

Most mail clients write plain markup: tags with quoted attributes, entities
in the text, a style block, the odd comment. For such a document ``feed``
cuts the markup into tokens with one regular expression, run once in C, and
calls a parser's handlers as ``html.parser.HTMLParser`` would, a few times
faster than that parser, which runs several patterns and counts lines at
every tag. Anything else (a "<" that starts no such tag, a conditional
comment, markup inside a script or a title, an unquoted value ending in "/",
a tag name with a "-") makes it give up, and the caller lets html.parser
read the whole document: what is accepted is a subset on which the two
agree, which a property test checks call by call.
"""

from __future__ import annotations

import re
from collections.abc import Container
from html import unescape
from html.parser import HTMLParser

_SPACE = r"[ \t\n\r\f]"  # what ends a tag name for html.parser; other spaces (\v, \xa0) make this give up


def _attribute(group: str) -> str:
    """An attribute: a name, then perhaps "=" and a value in double quotes, in single quotes or bare.

    ``group`` opens the name's and each kind of value's group: "(" to capture
    them, "(?:" not to. A bare value may not end in "/", which html.parser
    would keep in it where "/>" would otherwise close the tag.
    """
    return (
        rf"{_SPACE}+{group}[a-zA-Z_:][-a-zA-Z0-9_:.]*)"
        rf"(?:{_SPACE}*={_SPACE}*"
        rf"(?:\"{group}[^\"<>]*)\"|'{group}[^'<>]*)'"
        rf"|{group}[^\s\"'<>`=/]+(?:/+[^\s\"'<>`=/]+)*)(?={_SPACE}|>|\Z)))?"
    )


# The document as a run of tokens: text, a start tag (name, attributes, "/" of "/>"), an end tag,
# a comment without "<", ">", "!" or "--" in it, a doctype, or a "<" that starts none of these.
_TOKENS = re.compile(
    r"([^<]+)"
    rf"|<([a-zA-Z][a-zA-Z0-9]*)((?:{_attribute('(?:')})*){_SPACE}*(/?)>"
    rf"|</([a-zA-Z][a-zA-Z0-9]*){_SPACE}*>"
    r"|<!--((?:[^<>!-]|-(?=[^<>!-]))*)-->"
    r"|<!([dD][oO][cC][tT][yY][pP][eE][^<>]*)>"
    r"|(<)"
)
_TEXT, _START, _END, _COMMENT, _DECL, _STRAY = 1, 4, 5, 6, 7, 8  # each token's last group
_ATTRIBUTES = re.compile(_attribute("("))
# Elements whose content parsers read as text up to their end tag (versions differ on which):
# accepted only when no "<" comes before that end tag. The first two are html.parser's CDATA.
_RAW = ("script", "style")
_TEXT_ONLY = frozenset({*_RAW, "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"})


def feed(html: str, parser: HTMLParser, attributes_of: Container[str]) -> bool:
    """Call ``parser``'s handlers for ``html`` as html.parser would, or return False early if it is not plain.

    Attributes are worked out only for the tags in ``attributes_of``, the
    only ones whose attributes the caller reads; other tags get an empty
    list. After False the parser has seen part of the document: use a new one.
    """
    if "\x00" in html:
        return False
    inside = ""  # the text-only element whose content and end tag come next
    for token in _TOKENS.finditer(html):
        kind = token.lastindex
        if inside:
            if kind == _TEXT:
                text = token.group(_TEXT)
                parser.handle_data(text if inside in _RAW or "&" not in text else unescape(text))
                continue
            if kind != _END or token.group(_END).lower() != inside:
                return False
            inside = ""
        if kind == _TEXT:
            text = token.group(_TEXT)
            parser.handle_data(unescape(text) if "&" in text else text)
        elif kind == _START:
            name, attributes, slash = token.group(2, 3, 4)
            tag = name.lower()
            values = _attributes(attributes) if attributes and tag in attributes_of else []
            if slash:
                if tag in _TEXT_ONLY:
                    return False
                parser.handle_startendtag(tag, values)
            else:
                parser.handle_starttag(tag, values)
                inside = tag if tag in _TEXT_ONLY else ""
        elif kind == _END:
            parser.handle_endtag(token.group(_END).lower())
        elif kind == _COMMENT:
            parser.handle_comment(token.group(_COMMENT))
        elif kind == _DECL:
            parser.handle_decl(token.group(_DECL))
        else:
            return False
    return not inside


def _attributes(attributes: str) -> list[tuple[str, str | None]]:
    """(name, value) of each attribute as html.parser gives them: names in lower case, values unescaped.

    An attribute without "=" has the value None, one with an empty value "".
    """
    found = []
    for match in _ATTRIBUTES.finditer(attributes):
        name, double, single, bare = match.groups()
        value = double if double is not None else single if single is not None else bare
        found.append((name.lower(), unescape(value) if value else value))
    return found
