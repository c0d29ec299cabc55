"""Participants' one-line requests to the service address, read against today's date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.intake.commands import ServiceCommand, parse_date, parse_service_command, parse_service_request

TODAY = date(2026, 11, 20)  # a Friday


@pytest.mark.parametrize(
    "text,expected",
    [
        ("away until 2026-12-05 visiting family", ServiceCommand("away", date(2026, 12, 5), "visiting family")),
        ("away until 5 December", ServiceCommand("away", date(2026, 12, 5))),
        ("Away until 5th December - exams", ServiceCommand("away", date(2026, 12, 5), "exams")),
        ("away until December 5, 2026", ServiceCommand("away", date(2026, 12, 5))),
        ("away till Dec 5th: school trip", ServiceCommand("away", date(2026, 12, 5), "school trip")),
        ("away until 3 January", ServiceCommand("away", date(2027, 1, 3))),  # next year: already past
        ("away until 20 November", ServiceCommand("away", date(2026, 11, 20))),  # today counts
        ("away until 5.1.2027", ServiceCommand("away", date(2027, 1, 5))),
        ("away until Monday", ServiceCommand("away", date(2026, 11, 23))),
        ("away until Friday", ServiceCommand("away", date(2026, 11, 27))),  # said on a Friday
        ("away until tomorrow", ServiceCommand("away", date(2026, 11, 21))),
        ("away for 2 weeks, hospital", ServiceCommand("away", date(2026, 12, 4), "hospital")),
        ("away for a week", ServiceCommand("away", date(2026, 11, 27))),
        ("away", ServiceCommand("away")),
        ("Away.", ServiceCommand("away")),
        ("away to visit grandma", ServiceCommand("away", None, "to visit grandma")),
        ("away through 6 Dec", ServiceCommand("away", date(2026, 12, 6))),
        ("I'm away - moving house", ServiceCommand("away", None, "moving house")),
        ("Re: away until 2026-12-05", ServiceCommand("away", date(2026, 12, 5))),
        ("away until 29 February", ServiceCommand("away", date(2028, 2, 29))),  # next leap year
        ("away until 2025-01-01", ServiceCommand("unknown", reason="that date has passed: away until 2025-01-01")),
        ("away until 31 June", ServiceCommand("unknown", reason="could not read the date in: away until 31 June")),
        ("away until smarch 5", ServiceCommand("unknown", reason="could not read the date in: away until smarch 5")),
        ("away until 2026-13-01", ServiceCommand("unknown", reason="could not read the date in: away until 2026-13-01")),
        ("back", ServiceCommand("back")),
        ("I'm back!", ServiceCommand("back")),
        ("BACK", ServiceCommand("back")),
        ("status", ServiceCommand("status")),
        ("Status?", ServiceCommand("status")),
        ("help", ServiceCommand("help")),
        ("?", ServiceCommand("help")),
        ("Fwd: Re: help", ServiceCommand("help")),
        ("digest on college-apps", ServiceCommand("digest-on", circle="college-apps")),
        ("Digest OFF College-Apps", ServiceCommand("digest-off", circle="college-apps")),
        ("digest off", ServiceCommand("digest-off")),
        ("digest-on college-apps", ServiceCommand("digest-on", circle="college-apps")),
        ("digest maybe", ServiceCommand("unknown", reason="digest maybe")),
        ("digest on college apps", ServiceCommand("unknown", reason="digest on college apps")),
        ("digest on ../etc", ServiceCommand("unknown", reason="digest on ../etc")),
        ("share my address", ServiceCommand("share-address")),
        ("Share my email address.", ServiceCommand("share-address")),
        ("share-address", ServiceCommand("share-address")),
        ("share", ServiceCommand("unknown", reason="share")),
        ("share my phone number", ServiceCommand("unknown", reason="share my phone number")),
        ("background check question", ServiceCommand("unknown", reason="background check question")),
        ("Hi there, how does this work?", ServiceCommand("unknown", reason="Hi there, how does this work?")),
        ("\n\n  away until 5 December\nsecond line", ServiceCommand("away", date(2026, 12, 5))),
        ("", ServiceCommand("unknown")),
    ],
)  # fmt: skip
def test_parse_service_command(text: str, expected: ServiceCommand) -> None:
    assert parse_service_command(text, TODAY) == expected


@pytest.mark.parametrize(
    "subject,body,expected",
    [
        ("away until 5 December", "Hi, I will be travelling.", ServiceCommand("away", date(2026, 12, 5))),
        ("Question", "back\n\nThanks!", ServiceCommand("back")),
        ("", "status", ServiceCommand("status")),
        ("Re: [kind-otter] hello", "digest on book-club", ServiceCommand("digest-on", circle="book-club")),
        ("hello", "how do I pause?", ServiceCommand("unknown", reason="how do I pause?")),
        ("away until smarch", "", ServiceCommand("unknown", reason="could not read the date in: away until smarch")),
    ],
)
def test_parse_service_request_takes_the_first_that_parses(
    subject: str, body: str, expected: ServiceCommand
) -> None:
    assert parse_service_request(subject, body, TODAY) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-12-05 rest", (date(2026, 12, 5), " rest")),
        ("5 of December", (date(2026, 12, 5), "")),
        ("sept 1", (date(2027, 9, 1), "")),
        ("next tuesday", (date(2026, 11, 24), "")),
        ("5 decembers", (None, "5 decembers")),
        ("nothing", (None, "nothing")),
    ],
)
def test_parse_date(text: str, expected: tuple[date | None, str]) -> None:
    assert parse_date(text, TODAY) == expected


VERBS = {"away", "back", "status", "help", "digest-on", "digest-off", "share-address", "unknown"}


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(lambda s: "away until " + s, st.text(max_size=30)),
        st.builds(lambda s: "digest on " + s, st.text(max_size=30)),
    ),
    st.dates(),
)
def test_any_line_reads_as_a_command_or_unknown(text: str, today: date) -> None:
    command = parse_service_command(text, today)
    assert command.verb in VERBS
    if command.until is not None:
        assert command.until >= today


def test_leave_names_a_circle():
    from datetime import date

    from relay.intake.commands import parse_service_command

    assert parse_service_command("leave college-apps", date(2026, 11, 2)).verb == "leave"
    assert parse_service_command("leave college-apps", date(2026, 11, 2)).circle == "college-apps"
    assert parse_service_command("leave", date(2026, 11, 2)).verb == "unknown"
    assert parse_service_command("leave now please!", date(2026, 11, 2)).verb == "unknown"
