"""Bounces, read receipts and vacation replies are told apart from people's mail."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.intake.autoreply import classify_auto, dsn_summary


def mail(headers: str, body: str = "Hello\n") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).replace("\n", "\r\n").encode("utf-8")


PERSON = "From: Sam <sam@example.org>\nTo: kind-otter-7q2x9k@mentor.example.org\nSubject: {subject}"

DSN = """\
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: b-42-20423-abcdefghij@mentor.example.org
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="8F2A13C0.1764583200/mx.example.net"
""", """\
--8F2A13C0.1764583200/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.com>: host mx.example.com said: 550 5.1.1 <nobody@example.com>:
    Recipient address rejected: User unknown in virtual mailbox table

--8F2A13C0.1764583200/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 8F2A13C0
Arrival-Date: Mon,  1 Dec 2025 10:00:00 +0000 (UTC)

Final-Recipient: rfc822; nobody@example.com
Original-Recipient: rfc822;nobody@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: Recipient address
    rejected: User unknown in virtual mailbox table

Final-Recipient: rfc822; second@example.com
Action: delayed
Status: 4.4.1

--8F2A13C0.1764583200/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: kind-otter-7q2x9k@mentor.example.org
Subject: hello

--8F2A13C0.1764583200/mx.example.net--
"""

DELAYED = DSN[0], DSN[1].replace("Action: failed\nStatus: 5.1.1", "Action: Delayed (retrying)\nStatus: 4.4.7 (timeout)")

MDN = """\
From: Robin <robin@example.org>
To: kind-otter-7q2x9k@mentor.example.org
Subject: Read: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type="disposition-notification"; boundary="mdn"
""", """\
--mdn
Content-Type: text/plain

Your message was displayed.
--mdn
Content-Type: message/disposition-notification

Reporting-UA: mail.example.org; Thunderbird
Final-Recipient: rfc822;robin@example.org
Disposition: manual-action/MDN-sent-manually; displayed
--mdn--
"""


@pytest.mark.parametrize(
    "raw,expected",
    [
        (mail(*DSN), "dsn"),
        (mail(*MDN), "mdn"),
        (mail(PERSON.format(subject="Out of Office: back on Monday")), "autoreply"),
        (mail(PERSON.format(subject="Automatic reply: hello")), "autoreply"),
        (mail(PERSON.format(subject="AUTO: Sam is out of the office")), "autoreply"),
        (mail(PERSON.format(subject="[Out of office] hello")), "autoreply"),
        (mail(PERSON.format(subject="Abwesenheitsnotiz: hallo")), "autoreply"),
        (mail(PERSON.format(subject="Automatische Antwort: hallo")), "autoreply"),
        (mail(PERSON.format(subject="=?utf-8?q?R=C3=A9ponse_automatique_=3A_bonjour?=")), "autoreply"),
        (mail(PERSON.format(subject="Respuesta automática: hola")), "autoreply"),
        (mail(PERSON.format(subject="Fuera de la oficina")), "autoreply"),
        (mail(PERSON.format(subject="Autosvar: hej")), "autoreply"),
        (mail(PERSON.format(subject="Afwezig: hallo")), "autoreply"),
        (mail(PERSON.format(subject="Risposta automatica: ciao")), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nAuto-Submitted: auto-replied"), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nAuto-Submitted: auto-generated; by=cron"), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nX-Autoreply: yes"), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nX-Autorespond: Vacation"), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nPrecedence: bulk"), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nPrecedence: junk"), "autoreply"),
        (mail(PERSON.format(subject="hi") + "\nPrecedence: auto_reply"), "autoreply"),
        # People's messages, including ones that merely mention the words.
        (mail(PERSON.format(subject="Re: college essay")), ""),
        (mail(PERSON.format(subject="hi") + "\nAuto-Submitted: no"), ""),
        (mail(PERSON.format(subject="hi") + "\nPrecedence: list"), ""),
        (mail(PERSON.format(subject="Re: Out of Office etiquette question")), ""),
        (mail(PERSON.format(subject="My out-of-office plans for the holidays")), ""),
        (mail(PERSON.format(subject="Automatically replying is rude?")), ""),
        (mail(PERSON.format(subject="Re: Automatic reply: hello")), ""),
        (mail("From: x@example.org\nContent-Type: multipart/report; report-type=other; boundary=x", "--x--\n"), ""),
        (b"", ""),
        (b"\xff\xfe\x00 not mail", ""),
    ],
)  # fmt: skip
def test_classify_auto(raw: bytes, expected: str) -> None:
    assert classify_auto(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [
        (mail(*DSN), ("failed", "5.1.1")),
        (mail(*DELAYED), ("delayed", "4.4.7")),
        (mail(*MDN), ("", "")),
        (mail(PERSON.format(subject="hi")), ("", "")),
        (mail(DSN[0], "--8F2A13C0.1764583200/mx.example.net--\n"), ("", "")),
        (b"", ("", "")),
    ],
)
def test_dsn_summary(raw: bytes, expected: tuple[str, str]) -> None:
    assert dsn_summary(raw) == expected


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mangled_reports_never_raise(data: st.DataObject) -> None:
    raw = bytearray(mail(*DSN))
    for _ in range(data.draw(st.integers(1, 6))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index : index + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
    assert classify_auto(bytes(raw)) in {"dsn", "mdn", "autoreply", ""}
    action, status = dsn_summary(bytes(raw))
    assert isinstance(action, str) and isinstance(status, str)
