"""Moderation end to end: a held message, notices at the sink, and moderators answering by reply."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlmodel import select

from relay.store.tables import Delivery, Message, ModerationAction, ModerationToken, Pairing, Participant

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "jo.kim@school.example.net"
RILEY = "riley.moderator@staff.example.org"
CASEY = "casey.moderator@staff.example.org"
STRANGER = "mallory@elsewhere.example"

PHONE_TEXT = "Hi Sam,\n\nit's easier to text me at 415-867-5309 after school.\n\nJo\n"


@pytest.fixture
def people(world):
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Jo")
    world.enrol(RILEY, "moderator", "Riley")
    world.enrol(CASEY, "moderator", "Casey")
    world.pair(MENTOR, MENTEE)
    return mentor, mentee


def rows(world, table):
    return world.relay.db.run_sync(lambda s: list(s.exec(select(table).order_by(table.id if hasattr(table, "id") else table.created_at))))


def to(world, address):
    return [r for r in world.sink.received if r.rcpt_tos == [address]]


def last_to(world, address):
    found = to(world, address)
    assert found, f"nothing was sent to {address}"
    return parsed(found[-1])


def parsed(received):
    return email.message_from_bytes(received.data, policy=email.policy.default)


def text_of(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content()


async def held_message(world, people):
    mentor_alias, _ = people
    reply = await world.send(MENTEE, mentor_alias, "After school", PHONE_TEXT)
    assert reply.code == 250 and "moderator" in reply.text
    await world.flush()
    (message,) = [m for m in rows(world, Message) if m.kind == "participant"]
    return message.id


async def answer(world, notice, text: str, sender: str, from_header: str | None = None, to_address: str | None = None):
    """A moderator's reply as a mail client writes it: the answer on top, the notice quoted below."""
    msg = EmailMessage()
    msg["From"] = from_header or sender
    msg["To"] = to_address or notice["Reply-To"]
    msg["Subject"] = "Re: " + notice["Subject"]
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    msg["In-Reply-To"] = notice["Message-ID"]
    quoted = "\n".join("> " + line for line in text_of(notice).splitlines()[:8])
    msg.set_content(f"{text}\n\nOn Mon, 2 Nov 2026 at 15:00, mentor-relay moderation wrote:\n{quoted}\n")
    return await world.send(sender, to_address or notice["Reply-To"], raw=msg.as_bytes(), rcpts=[to_address or notice["Reply-To"]])


def forwards(world):
    return [d for d in rows(world, Delivery) if d.kind == "forward"]


async def test_a_phone_number_is_held_and_every_moderator_gets_a_masked_notice(world, people):
    mentor_alias, mentee_alias = people
    message_id = await held_message(world, people)
    assert to(world, MENTOR) == []
    for moderator in (RILEY, CASEY):
        notice = last_to(world, moderator)
        assert notice["Auto-Submitted"] == "auto-generated"
        assert notice["Reply-To"].startswith("mod-") and notice["Reply-To"].endswith("@" + world.domain)
        assert notice["Subject"].startswith(f"Held: M{message_id} from Jo")
        body = text_of(notice)
        assert "pairing Sam (mentor) and Jo (mentee)" in body
        assert "contact_phone" in body and ">>415-867-5309<<" in body
        assert "approve" in body and "reject <reason>" in body
        html = notice.get_body(preferencelist=("html",)).get_content()
        assert "<mark>415-867-5309</mark>" in html
        data = [r for r in world.sink.received if r.rcpt_tos == [moderator]][-1].data.decode()
        for real in (MENTOR, MENTEE, "school.example.net", "mail.example.com"):
            assert real not in data
    # Distinct reply addresses per moderator; only hashes are stored.
    assert last_to(world, RILEY)["Reply-To"] != last_to(world, CASEY)["Reply-To"]
    tokens = rows(world, ModerationToken)
    assert len(tokens) == 2 and all(t.token_hash not in last_to(world, RILEY)["Reply-To"] for t in tokens)
    # The sender is told the message is being reviewed.
    note = last_to(world, MENTEE)
    assert "being reviewed" in note["Subject"] and note["Auto-Submitted"] == "auto-generated"
    assert MENTOR not in str(note)


async def test_approve_by_reply_releases_the_message_masked_and_is_confirmed(world, people):
    mentor_alias, mentee_alias = people
    message_id = await held_message(world, people)
    notice = last_to(world, RILEY)
    reply = await answer(world, notice, "Approve", RILEY)
    assert reply.code == 250
    await world.flush()
    copy = last_to(world, MENTOR)
    assert copy["From"].addresses[0].addr_spec == mentee_alias and copy["From"].addresses[0].display_name == "Jo"
    assert "415-867-5309" in text_of(copy)
    raw = [r for r in world.sink.received if r.rcpt_tos == [MENTOR]][-1].data.decode()
    assert MENTEE not in raw and "school.example.net" not in raw
    confirmation = last_to(world, RILEY)
    assert confirmation["Subject"] == f"M{message_id}: approve - done"
    assert confirmation["In-Reply-To"] and confirmation["Auto-Submitted"] == "auto-generated"
    (action,) = [a for a in rows(world, ModerationAction) if a.action == "approve"]
    assert (action.message_id, action.via, action.outcome) == (message_id, "email", "done")
    assert action.actor == RILEY
    stored_replies = [m for m in rows(world, Message) if m.kind == "moderation"]
    assert len(stored_replies) == 1 and stored_replies[0].envelope_from == RILEY


async def test_reject_with_a_reason_tells_the_sender_and_delivers_nothing(world, people):
    message_id = await held_message(world, people)
    reply = await answer(world, last_to(world, CASEY), "reject too personal", CASEY)
    assert reply.code == 250
    await world.flush()
    assert to(world, MENTOR) == []
    told = last_to(world, MENTEE)
    assert "not passed on" in told["Subject"]
    assert "too personal" in text_of(told) and "Sam" in text_of(told)
    assert MENTOR not in str(told)
    assert [d.status for d in forwards(world)] == ["cancelled"]
    assert world.relay.db.run_sync(lambda s: s.get(Message, message_id).status) == "rejected"
    assert "reject - done" in last_to(world, CASEY)["Subject"]


async def test_first_answer_wins_then_same_is_a_noop_and_opposite_is_refused(world, people):
    message_id = await held_message(world, people)
    riley_notice, casey_notice = last_to(world, RILEY), last_to(world, CASEY)
    assert (await answer(world, riley_notice, "approve", RILEY)).code == 250
    assert (await answer(world, casey_notice, "approve", CASEY)).code == 250
    await world.flush()
    assert len(to(world, MENTOR)) == 1  # released once
    second = last_to(world, CASEY)
    assert "nothing to do" in second["Subject"] and "already approved by Riley" in text_of(second)
    # Casey's confirmation carries a fresh address; rejecting now conflicts with the approval.
    assert (await answer(world, second, "reject changed my mind", CASEY)).code == 250
    await world.flush()
    refused = last_to(world, CASEY)
    assert "refused" in refused["Subject"] and "cannot be rejected" in text_of(refused)
    assert not any("not passed on" in parsed(r)["Subject"] for r in to(world, MENTEE))
    outcomes = [(a.action, a.outcome) for a in rows(world, ModerationAction) if a.action != "notice"]
    assert outcomes == [("approve", "done"), ("approve", "noop"), ("reject", "refused")]


async def test_forged_answers_change_nothing(world, people):
    message_id = await held_message(world, people)
    riley_notice = last_to(world, RILEY)
    before = len(world.sink.received)

    # A stranger, or a moderator's envelope with someone else's From: refused at SMTP, no mail back.
    stranger = await answer(world, riley_notice, "approve", STRANGER)
    assert stranger.code == 550 and "moderator" in stranger.text
    spoofed = await answer(world, riley_notice, "approve", RILEY, from_header=STRANGER)
    assert spoofed.code == 550
    # A mistyped or invented token is unknown, exactly like an unknown alias.
    bogus = riley_notice["Reply-To"].replace("mod-", "mod-a", 1)[:-len(world.domain) - 2] + "@" + world.domain
    unknown_alias = await world.send(MENTEE, "no-such-alias@" + world.domain, "x", "y")
    made_up = await answer(world, riley_notice, "approve", RILEY, to_address=bogus)
    assert (made_up.code, made_up.text) == (unknown_alias.code, unknown_alias.text) and made_up.code == 550
    await world.flush()
    assert len(world.sink.received) == before

    # Another moderator using Riley's address: told so, nothing applied.
    assert (await answer(world, riley_notice, "approve", CASEY)).code == 250
    await world.flush()
    assert "another moderator" in text_of(last_to(world, CASEY))
    assert to(world, MENTOR) == [] and {d.status for d in forwards(world)} == {"held"}

    # An expired address: the clock moves past the week it is valid for.
    world.clock.advance(days=8)
    assert (await answer(world, riley_notice, "approve", RILEY)).code == 250
    await world.flush()
    assert "expired" in text_of(last_to(world, RILEY))
    assert to(world, MENTOR) == [] and {d.status for d in forwards(world)} == {"held"}
    refused = [a for a in rows(world, ModerationAction) if a.outcome == "refused"]
    assert len(refused) >= 3 and all(a.message_id == message_id for a in refused)


async def test_a_replayed_answer_is_not_applied_again(world, people):
    message_id = await held_message(world, people)
    notice = last_to(world, RILEY)
    assert (await answer(world, notice, "approve", RILEY)).code == 250
    assert (await answer(world, notice, "reject sneaky", RILEY)).code == 250
    await world.flush()
    # The confirmation and the refusal go out together, in either order.
    assert any("already used" in text_of(parsed(r)) for r in to(world, RILEY))
    assert len(to(world, MENTOR)) == 1
    assert not any("not passed on" in parsed(r)["Subject"] for r in to(world, MENTEE))


async def test_hold_and_suspend_by_reply_hold_later_mail(world, people):
    mentor_alias, mentee_alias = people
    await world.send(MENTOR, mentee_alias, "Hmm", "That essay was shitty, honestly.\n")
    await world.flush()
    (flagged,) = [m for m in rows(world, Message) if m.kind == "participant"]
    assert flagged.verdict == "flag" and len(to(world, MENTEE)) == 1
    notice = last_to(world, RILEY)
    assert notice["Subject"].startswith(f"Flagged: M{flagged.id}") and ">>shitty<<" in text_of(notice)
    assert (await answer(world, notice, "hold", RILEY)).code == 250
    await world.flush()
    assert world.relay.db.run_sync(lambda s: s.get(Pairing, flagged.pairing_id).held_by_moderator)
    reply = await world.send(MENTOR, mentee_alias, "Sorry", "Sorry about that.\n")
    assert "moderator" in reply.text
    assert (await answer(world, last_to(world, CASEY), "suspend", CASEY)).code == 250
    status = world.relay.db.run_sync(lambda s: s.exec(select(Participant).where(Participant.email == MENTOR)).one().status)
    assert status == "suspended"


async def test_help_and_chatter_leave_the_address_usable(world, people):
    await held_message(world, people)
    notice = last_to(world, RILEY)
    assert (await answer(world, notice, "what does this mean?", RILEY)).code == 250
    assert (await answer(world, notice, "help", RILEY)).code == 250
    await world.flush()
    assert "reject <reason>" in text_of(last_to(world, RILEY))
    assert last_to(world, RILEY)["Reply-To"] == notice["Reply-To"]
    assert (await answer(world, notice, "approve", RILEY)).code == 250
    await world.flush()
    assert len(to(world, MENTOR)) == 1
