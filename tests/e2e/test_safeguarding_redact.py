"""Redact by reply and from the terminal: the held message arrives without the phone number, everywhere."""

from __future__ import annotations

import pytest
from sqlmodel import select

from relay.safeguarding.redact import REMOVED
from relay.store.tables import Finding, Message, ModerationAction
from tests.e2e.test_mod_cli import catch_up, env, relayctl  # noqa: F401 - fixtures
from tests.e2e.test_moderation import CASEY, MENTEE, MENTOR, RILEY, answer, last_to, people, rows, text_of, to  # noqa: F401

PHONE = "415-867-5309"


async def held_with_html(world, people):
    mentor_alias, _ = people
    msg = world.message(MENTEE, mentor_alias, f"Call {PHONE}", f"Hi Sam,\n\ntext me at {PHONE} after school.\n\nJo\n")
    msg.add_alternative(f"<p>Hi Sam,</p><p>text me at <b>{PHONE}</b> after school.</p>", subtype="html")
    reply = await world.send(MENTEE, mentor_alias, raw=msg.as_bytes(), rcpts=[mentor_alias])
    assert reply.code == 250 and "moderator" in reply.text
    await world.flush()
    (message,) = [m for m in rows(world, Message) if m.kind == "participant"]
    return message.id


async def test_redact_by_reply_delivers_without_the_phone_number_in_any_part(world, people):
    mentor_alias, mentee_alias = people
    message_id = await held_with_html(world, people)
    (finding,) = [f for f in rows(world, Finding) if f.rule == "contact_phone"]
    assert finding.match == PHONE
    assert (await answer(world, last_to(world, RILEY), "redact", RILEY)).code == 250
    await world.flush()
    copy = last_to(world, MENTOR)
    data = [r for r in world.sink.received if r.rcpt_tos == [MENTOR]][-1].data.decode()
    assert PHONE not in data and PHONE.replace("-", "") not in data
    assert REMOVED in text_of(copy) and "after school" in text_of(copy)
    assert REMOVED in copy.get_body(preferencelist=("html",)).get_content()
    assert copy["From"].addresses[0].addr_spec == mentee_alias
    assert MENTEE not in data and "school.example.net" not in data
    # The writer is told what was removed; the confirmation says it went.
    told = [r for r in to(world, MENTEE) if b"part removed" in r.data]
    assert len(told) == 1 and PHONE in text_of(last_to(world, MENTEE))
    assert "redact - done" in last_to(world, RILEY)["Subject"]
    # Recorded once, and the original is kept for the record.
    done = [a for a in rows(world, ModerationAction) if a.action == "redact" and a.outcome == "done"]
    assert len(done) == 1 and done[0].message_id == message_id
    original = world.relay.db.run_sync(lambda s: s.get(Message, message_id))
    assert PHONE.encode() in original.raw and original.status == "delivered"


async def test_redact_from_the_terminal_does_the_same_and_is_recorded(world, people, env):
    message_id = await held_with_html(world, people)
    out = relayctl(env, "mod", "redact", str(message_id)).stdout
    assert f"M{message_id} is on its way without a phone number ({PHONE})" in out
    again = relayctl(env, "mod", "redact", str(message_id)).stdout
    assert "already redacted" in again
    catch_up(world)
    await world.flush()
    data = [r for r in world.sink.received if r.rcpt_tos == [MENTOR]][-1].data.decode()
    assert PHONE not in data and REMOVED in data
    actions = world.relay.db.run_sync(lambda s: [(a.action, a.via, a.outcome) for a in s.exec(
        select(ModerationAction).where(ModerationAction.message_id == message_id, ModerationAction.action == "redact"))])
    assert actions == [("redact", "cli", "done"), ("redact", "cli", "noop")]
