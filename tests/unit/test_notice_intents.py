"""A notice queued as its intent renders, at send time, to the bytes composing it at once would give."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from relay import notices
from relay.moderation.notice import notice_context

from tests.unit.test_moderation_notice import ADDRESSES, DOMAIN, NAMES, PHONE, stored

WHEN = datetime(2026, 11, 2, 15, 0, 9, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def env():
    return notices.environment()


def test_an_intent_renders_to_what_compose_gives(env):
    context = notice_context(stored([PHONE]), "pairing Sam (mentor) and Jo (mentee)", ADDRESSES, NAMES)
    context.update(moderator="Riley", reply_to=f"mod-abc@{DOMAIN}", expires="2026-11-09 15:00 UTC")
    composing = dict(domain=DOMAIN, to_address="riley@staff.example.org", to_name="Riley",
                     message_id="<n1@mentor.test>", from_name="mentor-relay moderation", reply_to=f"mod-abc@{DOMAIN}")
    planned = notices.intent("moderation_notice", context, date=WHEN, **composing)
    assert json.loads(planned)["template"] == "moderation_notice"
    now = notices.compose(env, "moderation_notice", context, date=WHEN, **composing)
    assert notices.render_intent(env, planned) == now
    assert b"Subject:" in now and b"415-867-5309" not in now.split(b"\r\n\r\n", 1)[0]  # the headers carry no excerpt


def test_an_intent_holds_plain_values_only(env):
    with pytest.raises(TypeError):
        notices.intent("away_note", {"until": WHEN}, date=WHEN, domain=DOMAIN, to_address="a@b.example", to_name="A",
                       message_id="<n2@mentor.test>")
