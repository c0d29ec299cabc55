"""Rows written on the driver's cursor are the rows the Core writes, on every backend."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from relay import model
from relay.store import directory, messages, queue
from relay.store.rows import Insert, Statement
from relay.store.tables import Attempt, Delivery, Message

START = datetime(2026, 11, 2, 15, 0, 7, 123456, tzinfo=timezone.utc)
MESSAGE, DELIVERY = Message.__table__, Delivery.__table__


def _program(session):
    program = directory.add_program(session, "default", START)
    mentor = directory.add_participant(session, program, "sam@mail.example.com", model.Role.MENTOR, "Sam", START,
                                       lambda: secrets.token_bytes(16))
    return program.id, mentor.id


def _message(program_id, sender_id, **more):
    return dict(program_id=program_id, sender_id=sender_id, envelope_from="sam@mail.example.com",
                envelope_rcpts='["x@relay.example"]', received_at=START, raw=b"Subject: hi\r\n\r\nhello\r\n",
                subject="hi", references="<a@b> <c@d>", urgent=True, **more)


def _row(session, table, row_id):
    return dict(session.execute(select(table).where(table.c.id == row_id)).one()._mapping)


def test_an_inserted_row_equals_the_cores_defaults_times_and_flags_included(db):
    def work(session):
        program_id, sender_id = _program(session)
        ours = Insert(MESSAGE).one(session, _message(program_id, sender_id))
        core = session.execute(insert(MESSAGE).values(**_message(program_id, sender_id))).inserted_primary_key[0]
        return _row(session, MESSAGE, ours), _row(session, MESSAGE, core)

    ours, core = db.run_sync(work)
    assert ours.pop("id") != core.pop("id")
    assert ours == core
    assert ours["status"] == "queued" and ours["verdict"] == "deliver" and ours["urgent"] is True  # defaults, a flag
    assert ours["received_at"].replace(tzinfo=timezone.utc) == START  # stored as the Core stores it, to the microsecond


def test_an_unknown_column_is_refused_by_name(db):
    with pytest.raises(KeyError, match="no column colour"):
        db.run_sync(lambda s: Insert(MESSAGE).one(s, {"colour": "red", "received_at": START, "raw": b""}))


def test_a_statement_binds_times_as_their_column_and_returns_rows(db):
    def work(session):
        program_id, sender_id = _program(session)
        message_id = messages.insert_message(session, **_message(program_id, sender_id))
        delivery = dict(message_id=message_id, recipient_id=sender_id, rcpt_email="sam@mail.example.com",
                        masked_message_id="<m@relay.example>", created_at=START, next_attempt_at=START,
                        expires_at=START + timedelta(days=5), status="sending", claimed_by="w:1")
        delivery_id = messages.insert_deliveries(session, [delivery])[0]
        later = START + timedelta(minutes=5)
        recorded = queue.record_attempt(session, delivery_id, "w:1", later,
                                        queue.Outcome("deferred", 451, "try later", 12, next_attempt_at=later))
        again = queue.record_attempt(session, delivery_id, "w:1", later, queue.Outcome("delivered", 250))
        moved = Statement("SELECT id FROM delivery WHERE next_attempt_at = :at", {"at": DELIVERY.c.next_attempt_at})
        return (recorded, again, _row(session, DELIVERY, delivery_id), moved.rows(session, at=later),
                session.execute(select(Attempt.__table__.c.outcome, Attempt.__table__.c.code)).all(),
                messages.get_message(session, message_id).status, delivery_id)

    recorded, again, delivery, found, attempts, status, delivery_id = db.run_sync(work)
    assert recorded is True and again is False  # the second finds it no longer "sending" for this worker
    assert delivery["status"] == "deferred" and delivery["attempts"] == 1 and delivery["claimed_by"] == ""
    assert delivery["last_error"] == "try later" and delivery["lease_until"] is None and delivery["delivered_at"] is None
    assert delivery["next_attempt_at"].replace(tzinfo=timezone.utc) == START + timedelta(minutes=5)
    assert found == [(delivery_id,)]
    assert [tuple(a) for a in attempts] == [("deferred", 451)]
    assert status == "queued"
