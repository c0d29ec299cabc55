"""What a copy is masked with, read from the store: the program's cached address book and the two sides' names."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from relay import model
from relay.outbound.jobs import mask_context
from relay.outbound.masking import program_book
from relay.outbound.rewrite import build_masked_copy
from relay.store import delivery_reads, directory, messages
from relay.store.tables import Delivery, Message
from tests.fixtures.harness import START

DOMAIN = "mentor.test"


def enrol(session, email: str, role: str, handle: str, name: str = ""):
    program = directory.get_or_create_program(session, "default", START)
    person = directory.add_participant(session, program, email, model.Role(role), handle, START, lambda: secrets.token_bytes(16))
    if name:
        directory.learn_name(session, person.id, name, START)
    return person


def queued_copy(session, sender, recipient, body: str) -> int:
    raw = f"From: x <{sender.email}>\r\nSubject: hi\r\nMessage-ID: <a@example.net>\r\n\r\n{body}\r\n".encode()
    message_id = messages.insert_message(
        session, program_id=sender.program_id, sender_id=sender.id, received_at=START, raw=raw,
        original_message_id="<a@example.net>", envelope_rcpts=[f"{recipient.alias}@{DOMAIN}"],
    )
    rows = [dict(message_id=message_id, recipient_id=recipient.id, rcpt_email=recipient.email, kind="forward",
                 masked_message_id=f"<m{message_id}@{DOMAIN}>", created_at=START, next_attempt_at=START,
                 expires_at=START + timedelta(days=5))]
    return messages.insert_deliveries(session, rows)[0]


def copy_of(db, delivery_id: int) -> bytes:
    def work(session):
        delivery = session.get(Delivery, delivery_id)
        message = session.get(Message, delivery.message_id)
        return build_masked_copy(message.raw, mask_context(session, message, delivery, DOMAIN))

    return db.read_sync(work)


def test_every_name_a_participant_used_is_kept(db):
    def work(session):
        person = enrol(session, "will@example.net", "mentor", "tall-cedar", "Will Mark")
        directory.learn_name(session, person.id, "Will R. Mark", START + timedelta(days=1))
        directory.learn_name(session, person.id, "Will Mark", START + timedelta(days=2))
        return person.id

    person_id = db.run_sync(work)
    names = db.lookup_sync(lambda conn: delivery_reads.names_of(conn, person_id, person_id))
    assert names == {person_id: ["Will Mark", "Will R. Mark"]}
    assert db.read_sync(lambda s: [p.display_name for p in directory.list_participants(s)]) == ["Will Mark"]


def test_a_delivery_queued_before_an_enrolment_masks_the_newcomer(db):
    def setup(session):
        mentor = enrol(session, "will@example.net", "mentor", "tall-cedar")
        mentee = enrol(session, "arne@school.example", "mentee", "quiet-wren")
        return queued_copy(session, mentor, mentee, "ask rose.summer@example.org, she knows")

    delivery_id = db.run_sync(setup)
    assert b"rose.summer@example.org" in copy_of(db, delivery_id)  # nobody by that address yet
    newcomer = db.run_sync(lambda s: enrol(s, "rose.summer@example.org", "mentee", "lucky-heron").alias)
    copy = copy_of(db, delivery_id)
    assert b"rose.summer@example.org" not in copy and f"{newcomer}@{DOMAIN}".encode() in copy


def test_the_address_book_is_built_once_per_program_and_reused(db):
    db.run_sync(lambda s: [enrol(s, f"p{i}@example.net", "mentee", f"h{i}") for i in range(5)])

    def twice(session):
        program = directory.get_program(session, "default")
        return program_book(session, program.id, DOMAIN), program_book(session, program.id, DOMAIN)

    first, second = db.read_sync(twice)
    assert first is second and len(first) == 5 and first["p3@example.net"].endswith(f"@{DOMAIN}")


def test_names_come_from_the_two_sides_only(db):
    def setup(session):
        mentor = enrol(session, "will@example.net", "mentor", "tall-cedar", "Will Mark")
        mentee = enrol(session, "arne@school.example", "mentee", "quiet-wren", "Arne van der Heyde")
        enrol(session, "rose@example.org", "mentor", "lucky-heron", "Rose Summer")  # another pairing
        return queued_copy(session, mentor, mentee, "Hi Arne,\r\n\r\nRose Summer says hi. I will mark it.\r\n\r\nWill")

    copy = copy_of(db, db.run_sync(setup)).decode()
    assert "Hi quiet-wren," in copy and "Rose Summer says hi. I will mark it." in copy and copy.endswith("tall-cedar\r\n")
