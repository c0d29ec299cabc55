"""A copy's send-time reads, plain SQL on the driver's cursor, give the same answers as the ORM on every backend."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

from sqlmodel import select

from relay import model
from relay.outbound.jobs import load_job
from relay.store import circles, delivery_reads, directory, messages
from relay.store.tables import Circle, Delivery, Message, Participant, ParticipantName, Program

START = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
DOMAIN = "mentor.test"


def entropy():
    return secrets.token_bytes(16)


def message(session, sender, original_id: str, *, circle_id=None, in_reply_to="", references="") -> int:
    raw = f"From: x <{sender.email}>\r\nMessage-ID: {original_id}\r\n\r\nhello\r\n".encode()
    return messages.insert_message(session, program_id=sender.program_id, sender_id=sender.id, circle_id=circle_id,
                                   received_at=START, raw=raw, original_message_id=original_id,
                                   in_reply_to=in_reply_to, references=references, envelope_rcpts=["x"])


def copy(session, message_id, recipient, masked_id: str, **more) -> int:
    row = dict(message_id=message_id, recipient_id=recipient.id if recipient else None,
               rcpt_email=recipient.email if recipient else "guardian@home.example", kind="forward",
               masked_message_id=masked_id, created_at=START, next_attempt_at=START,
               expires_at=START + timedelta(days=5), **more)
    return messages.insert_deliveries(session, [row])[0]


def scene(session):
    """Will writes to Arne; Arne's earlier mail, Will's earlier mail and a circle post are in the thread."""
    program = directory.add_program(session, "default", START)
    will = directory.add_participant(session, program, "Will@Example.net", model.Role.MENTOR, "tall-cedar", START,
                                     entropy)
    arne = directory.add_participant(session, program, "arne@school.example", model.Role.MENTEE, "quiet-wren", START,
                                     entropy)
    rose = directory.add_participant(session, program, "rose@example.org", model.Role.MENTOR, "lucky-heron", START,
                                     entropy)
    directory.learn_name(session, will.id, "Will Mark", START)
    directory.learn_name(session, will.id, "Will R. Mark", START + timedelta(days=1))
    directory.learn_name(session, arne.id, "Arne", START)
    circle = circles.add_circle(session, program, "readers", "Book Readers", START, entropy)
    circles.join(session, circle, will, START)
    circles.join(session, circle, rose, START)
    circles.leave(session, circle, rose, START)

    arne_wrote = message(session, arne, "<arne-1@school.example>")
    copy(session, arne_wrote, will, "<to-will-1@mentor.test>")
    copy(session, arne_wrote, arne, "<arne-own@mentor.test>")
    will_wrote = message(session, will, "<will-1@example.net>")
    copy(session, will_wrote, arne, "<to-arne-1@mentor.test>")
    posted = message(session, rose, "<rose-1@example.org>", circle_id=circle.id)
    copy(session, posted, will, "<to-will-2@mentor.test>")
    copy(session, posted, arne, "<to-arne-2@mentor.test>")
    copy(session, None, will, "<notice@mentor.test>", content=b"a notice")
    thread = "<to-will-1@mentor.test> <will-1@example.net> <to-will-2@mentor.test> <notice@mentor.test> <who@x>"
    reply = message(session, will, "<will-2@example.net>", in_reply_to="<to-will-1@mentor.test>", references=thread)
    forward = copy(session, reply, arne, "<to-arne-3@mentor.test>")
    in_circle = message(session, will, "<will-3@example.net>", circle_id=circle.id)
    circle_copy = copy(session, in_circle, arne, "<to-arne-4@mentor.test>")
    notice = copy(session, None, arne, "<notice-2@mentor.test>", content=b"ready to send", null_sender=True)
    return will.id, arne.id, program.id, circle.id, forward, circle_copy, notice, thread.split()


def test_every_read_answers_as_the_orm_does(db):
    will_id, arne_id, program_id, circle_id, forward, circle_copy, notice, thread = db.run_sync(scene)
    with db.reader.connect() as conn:
        found_delivery, found_message, sides = delivery_reads.job(conn, forward)
        circle_sides = delivery_reads.job(conn, circle_copy)[2]
        notice_row, no_message, _ = delivery_reads.job(conn, notice)
        alone = delivery_reads.delivery(conn, forward)
        stamp = delivery_reads.masking_stamp(conn, program_id)
        addresses = delivery_reads.program_addresses(conn, program_id)
        members = delivery_reads.circle_addresses(conn, circle_id)
        names = delivery_reads.names_of(conn, will_id, arne_id)
        known = delivery_reads.known_ids(conn, will_id, arne_id, thread)
        by_ids = delivery_reads.sides(conn, will_id, arne_id, program_id, circle_id)
        assert delivery_reads.job(conn, notice + 1000) is None and delivery_reads.delivery(conn, notice + 1000) is None

    def orm(session):
        d, m = session.get(Delivery, forward), session.get(Message, session.get(Delivery, forward).message_id)
        will, arne = session.get(Participant, will_id), session.get(Participant, arne_id)
        circle, program = session.get(Circle, circle_id), session.get(Program, program_id)
        assert found_delivery == alone and (found_delivery.id, found_delivery.kind, found_delivery.rcpt_email) == (
            d.id, d.kind, d.rcpt_email)
        assert (found_delivery.attempts, found_delivery.expires_at, found_delivery.null_sender) == (
            d.attempts, d.expires_at, d.null_sender)
        assert (found_delivery.content, found_delivery.message_id, found_delivery.recipient_id) == (
            None, m.id, arne_id)
        assert found_delivery.masked_message_id == d.masked_message_id
        assert found_delivery.expires_at == START + timedelta(days=5)
        assert (found_message.id, found_message.program_id, found_message.sender_id, found_message.circle_id) == (
            m.id, program_id, will_id, None)
        assert (found_message.received_at, found_message.in_reply_to, found_message.references, found_message.raw) == (
            m.received_at, m.in_reply_to, m.references, m.raw)
        assert sides.sender == delivery_reads.Person(will.id, will.email, will.alias, will.handle, will.display_name)
        assert sides.recipient == delivery_reads.Person(arne.id, arne.email, arne.alias, arne.handle, "Arne")
        assert (sides.program_name, sides.circle) == (program.name, None)
        enrolled = session.exec(select(Participant).where(Participant.program_id == program_id)).all()
        assert sides.stamp == stamp == (program.mask_version, len(enrolled), max(p.id for p in enrolled))
        assert circle_sides.circle == delivery_reads.CircleRow(circle.id, circle.name, circle.handle, circle.alias)
        assert by_ids == circle_sides
        assert sorted(addresses) == sorted((p.email, p.alias) for p in enrolled)
        assert members == [(p.email, p.alias) for _, p in circles.members(session, circle_id, active_only=False)]
        used = session.exec(select(ParticipantName).order_by(ParticipantName.id)).all()
        assert names == {i: [n.name for n in used if n.participant_id == i] for i in (will_id, arne_id)}
        assert (notice_row.content, notice_row.null_sender, no_message) == (b"ready to send", True, None)
        # Arne's own message by its original id, Will's own and the circle post by Arne's copies; the rest dropped.
        assert known == {"<to-will-1@mentor.test>": "<arne-1@school.example>",
                         "<will-1@example.net>": "<to-arne-1@mentor.test>",
                         "<to-will-2@mentor.test>": "<to-arne-2@mentor.test>",
                         "<notice@mentor.test>": "", "<who@x>": ""}

    db.read_sync(orm)


def test_a_long_thread_is_read_in_several_statements(db):
    will_id, arne_id, *_, thread = db.run_sync(scene)
    many = [f"<unknown-{n}@example.net>" for n in range(120)] + thread
    with db.reader.connect() as conn:
        known = delivery_reads.known_ids(conn, will_id, arne_id, many)
    assert len(known) == len(many) and known["<to-will-1@mentor.test>"] == "<arne-1@school.example>"
    assert known["<unknown-119@example.net>"] == ""


def test_a_job_reads_the_same_on_a_plain_connection_as_in_a_session(db):
    _, _, _, _, forward, circle_copy, notice, _ = db.run_sync(scene)
    for delivery_id in (forward, circle_copy, notice):
        plain = db.lookup_sync(lambda c: load_job(c, delivery_id, DOMAIN))
        in_session = db.read_sync(lambda s: load_job(s, delivery_id, DOMAIN))
        assert plain == in_session
    job = db.lookup_sync(lambda c: load_job(c, forward, DOMAIN))
    assert job.mask.in_reply_to == ("<arne-1@school.example>",)
    assert job.mask.references == ("<arne-1@school.example>", "<to-arne-1@mentor.test>", "<to-arne-2@mentor.test>")
    assert job.mask.name_map == {"Will Mark": "tall-cedar", "Will R. Mark": "tall-cedar", "Arne": "quiet-wren"}
