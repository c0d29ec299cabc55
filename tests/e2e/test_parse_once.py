"""A participant's message is parsed once at intake: every stage reads the one Inspection."""

from __future__ import annotations

import email.parser

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"

HTML_MESSAGE = (
    f"From: Jo Kim <{MENTEE}>\r\nTo: {{to}}\r\nSubject: hello\r\nMessage-ID: <p1@school.example.net>\r\n"
    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n"
    "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHi Sam, see you at 5.\r\n"
    "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hi Sam, see you at <b>5</b>.</p>\r\n--b1--\r\n"
)


async def test_one_parse_from_end_of_data_to_the_250(world, monkeypatch):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    world.enrol(MENTEE, "mentee", "Jo")
    world.pair(MENTOR, MENTEE)
    # Warm up once (first-use imports and caches), then count the standard library's parser.
    assert (await world.send(MENTEE, mentor, "warm", "up")).code == 250
    calls = []
    original = email.parser.BytesParser.parsebytes

    def counting(self, text, headersonly=False):
        calls.append(headersonly)
        return original(self, text, headersonly)

    monkeypatch.setattr(email.parser.BytesParser, "parsebytes", counting)
    reply = await world.send(MENTEE, mentor, raw=HTML_MESSAGE.format(to=mentor).encode())
    assert reply.code == 250, reply
    assert calls == [False]  # one full parse; no header-only parse for the loop check either
