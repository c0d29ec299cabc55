"""A participant's message is parsed once at intake: every stage reads the one Inspection."""

from __future__ import annotations

import email.feedparser

import pytest

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"

HTML_MESSAGE = (
    f"From: Jo Kim <{MENTEE}>\r\nTo: {{to}}\r\nSubject: hello\r\nMessage-ID: <p1@school.example.net>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi Sam, see you at 5.\r\n"
    "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi Sam, see you at <b>5</b>.</p>\r\n--b1--\r\n"
)


PLAIN_MESSAGE = (
    f"From: Jo Kim <{MENTEE}>\r\nTo: {{to}}\r\nSubject: hello\r\nMessage-ID: <p2@school.example.net>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "Hi Sam, see you at 5.\r\n" * 400
)


@pytest.mark.parametrize("message", [HTML_MESSAGE, PLAIN_MESSAGE], ids=["multipart", "single part"])
async def test_one_parse_from_end_of_data_to_the_250(world, monkeypatch, message):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    # Warm up once (first-use imports and caches), then count the standard library's parsers:
    # every parse, whole or of the headers only, from bytes or from text, builds one FeedParser.
    assert (await world.send(MENTEE, mentor, "warm", "up")).code == 250
    parses = []
    original = email.feedparser.FeedParser.__init__

    def counting(self, *args, **kwargs):
        parses.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(email.feedparser.FeedParser, "__init__", counting)
    reply = await world.send(MENTEE, mentor, raw=message.format(to=mentor).encode())
    assert reply.code == 250, reply
    assert len(parses) == 1  # one parse; no header-only parse for the loop check either
