"""Safeguarding's store work on SQLite and PostgreSQL: single-use tokens, retention planning and purges, erasure."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlmodel import select

from relay import model
from relay.safeguarding import retention, rights, wipe
from relay.safeguarding import store as safe_store
from relay.store import directory, jobs, messages
from relay.store.tables import Job, LegalHold, Message, Pairing

START = datetime(2026, 11, 2, 15, 0, tzinfo=timezone.utc)
MENTOR, MENTEE = "sam.rivera@mail.example.com", "jo.kim@school.example.net"
TEXT = "the secret garden behind the library"


@pytest.fixture
def closed(db):
    """A pairing that exchanged one message and closed at START, in a program keeping bodies 30 days."""
    def work(session):
        program = directory.get_or_create_program(session, "default", START)
        program.settings = json.dumps({"retention_days": 30})
        mentor = directory.add_participant(session, program, MENTOR, model.Role.MENTOR, "Sam", START, lambda: secrets.token_bytes(16))
        mentee = directory.add_participant(session, program, MENTEE, model.Role.MENTEE, "Jo", START, lambda: secrets.token_bytes(16))
        pairing = directory.pair(session, mentor, mentee, START)
        message_id = messages.insert_message(
            session, program_id=program.id, kind="participant", sender_id=mentee.id, pairing_id=pairing.id,
            envelope_from=MENTEE, received_at=START, subject="garden", body_text=TEXT,
            raw=f"From: {MENTEE}\r\nSubject: garden\r\n\r\n{TEXT}\r\n".encode(), status="delivered")
        pairing.status, pairing.closed_at = "closed", START
        return pairing.id, message_id, mentee.id

    return db.run_sync(work)


def everything(db) -> str:
    rows = []
    with db.engine.connect() as conn:
        for table in sa_inspect(db.engine).get_table_names():
            rows += [" ".join(map(str, r)) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(rows)


def test_a_token_is_used_once(db):
    def work(session):
        safe_store.insert_token(session, "h" * 64, "consent", 1, None, START, START + timedelta(days=1))
        return safe_store.use_token(session, "h" * 64, START), safe_store.use_token(session, "h" * 64, START)

    assert db.run_sync(work) == (True, False)


def test_retention_plans_after_the_period_and_purges_keeping_the_row(db, closed):
    pairing_id, message_id, _ = closed
    db.run_sync(lambda s: jobs.ensure_planned(s, retention.plan_purges(s, START + timedelta(days=29))))
    assert db.run_sync(lambda s: list(s.exec(select(Job).where(Job.kind == retention.JOB_KIND)))) == []
    db.run_sync(lambda s: jobs.ensure_planned(s, retention.plan_purges(s, START + timedelta(days=31))))
    (job,) = db.run_sync(lambda s: list(s.exec(select(Job).where(Job.kind == retention.JOB_KIND))))
    assert job.due_at == START + timedelta(days=30)
    handler = retention.PurgeHandler()
    db.run_sync(lambda s: handler(s, s.get(Job, job.id), START + timedelta(days=31)))
    handler.compact_after(db.engine)
    row = db.run_sync(lambda s: s.get(Message, message_id))
    assert (row.raw, row.body_text, row.subject, row.status) == (b"", "", "", "delivered")
    assert row.purged_at == START + timedelta(days=31) and row.size > 0
    assert TEXT not in everything(db)
    db.run_sync(lambda s: jobs.ensure_planned(s, retention.plan_purges(s, START + timedelta(days=40))))
    assert len(db.run_sync(lambda s: list(s.exec(select(Job).where(Job.kind == retention.JOB_KIND))))) == 1


def test_a_legal_hold_keeps_the_pairing_out_of_the_plan(db, closed):
    _, _, mentee_id = closed
    db.run_sync(lambda s: s.add(LegalHold(participant_id=mentee_id, reason="inquiry", placed_by="cli:test", placed_at=START)))
    db.run_sync(lambda s: jobs.ensure_planned(s, retention.plan_purges(s, START + timedelta(days=31))))
    assert db.run_sync(lambda s: list(s.exec(select(Job).where(Job.kind == retention.JOB_KIND)))) == []


def test_erase_removes_address_and_text_and_compacts_on_either_backend(db, closed):
    _, message_id, _ = closed
    with pytest.raises(rights.RightsError):
        def held(session):
            session.add(LegalHold(participant_id=closed[2], reason="inquiry", placed_by="cli:test", placed_at=START))
            session.flush()
            rights.erase(session, rights.people_by_email(session, MENTEE), START)
        db.run_sync(held)
    done = db.run_sync(lambda s: rights.erase(s, rights.people_by_email(s, MENTEE), START))
    wipe.compact(db.engine, vacuum=True)
    assert done.people == 1 and done.messages == 1
    stored = everything(db)
    assert MENTEE not in stored and TEXT not in stored and MENTOR in stored
    assert db.run_sync(lambda s: s.get(Message, message_id).purged_at) == START
    assert db.run_sync(lambda s: s.exec(select(Pairing)).one().status) == "closed"
