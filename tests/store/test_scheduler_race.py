"""Two schedulers sharing one database, racing on the same due reminders, send each one once."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta

from sqlmodel import select

from relay import model, service
from relay.store import directory, jobs
from relay.store.tables import Delivery, Job, Message, Reminder
from tests.fixtures.harness import START
from tests.fixtures.harness import test_settings as settings_for
from relay.clock import FixedClock


def seed(relay, pairs: int) -> None:
    """Mentees whose messages reached their mentors and were never answered."""

    def work(session):
        program = directory.get_or_create_program(session, "default", START)
        for n in range(pairs):
            mentor = directory.add_participant(session, program, f"m{n}@mentors.example", model.Role.MENTOR, f"M{n}", START,
                                               lambda: secrets.token_bytes(16))
            mentee = directory.add_participant(session, program, f"e{n}@mentees.example", model.Role.MENTEE, f"E{n}", START,
                                               lambda: secrets.token_bytes(16))
            pairing = directory.pair(session, mentor, mentee, START)
            session.add(Message(program_id=program.id, sender_id=mentee.id, pairing_id=pairing.id, received_at=START,
                                subject=f"question {n}", raw=b"Subject: q\r\n\r\nhi\r\n", status="delivered"))
        session.flush()

    relay.db.run_sync(work)


async def test_two_schedulers_send_each_reminder_once(tmp_path, db_url):
    clock = FixedClock(START)
    first = service.build(settings_for(tmp_path / "a", db_url, None), clock=clock)
    second = service.build(settings_for(tmp_path / "a", db_url, None), clock=clock)
    try:
        seed(first, 12)
        at = START + timedelta(hours=49)
        counts = await asyncio.gather(*[r.scheduler.tick(at) for r in (first, second, first, second)])
        reminders = first.db.run_sync(lambda s: [(r.message_id, r.level) for r in s.exec(select(Reminder))])
        notices = first.db.run_sync(lambda s: list(s.exec(select(Delivery).where(Delivery.kind == "reminder"))))
        assert len(reminders) == len(set(reminders)) == 12
        assert len(notices) == 12 and len({d.rcpt_email for d in notices}) == 12
        assert sum(counts) == 12
        again = await asyncio.gather(first.scheduler.tick(at), second.scheduler.tick(at + timedelta(minutes=1)))
        assert sum(again) == 0
        assert first.db.run_sync(lambda s: len(list(s.exec(select(Delivery).where(Delivery.kind == "reminder"))))) == 12
    finally:
        for relay in (first, second):
            relay.writer.close()
            relay.db.close()


async def test_a_claim_is_taken_by_one_holder_only(tmp_path, db_url):
    relay = service.build(settings_for(tmp_path, db_url, None), clock=FixedClock(START))
    try:
        relay.db.run_sync(lambda s: [jobs.ensure_job(s, f"k{n}", "noop", START) for n in range(30)])
        relay.db.run_sync(lambda s: jobs.ensure_job(s, "k1", "noop", START))  # planning twice is one job

        async def claim(holder):
            return await relay.db.run(lambda s: jobs.claim_due(s, START, holder, limit=10))

        taken = await asyncio.gather(*[claim(f"h{n}") for n in range(5)])
        ids = [i for batch in taken for i in batch]
        assert len(ids) == len(set(ids)) == 30
        assert relay.db.run_sync(lambda s: len(list(s.exec(select(Job))))) == 30
    finally:
        relay.writer.close()
        relay.db.close()


async def test_only_one_instance_holds_the_leader_lease(tmp_path, db_url):
    relay = service.build(settings_for(tmp_path, db_url, None), clock=FixedClock(START))
    try:
        ttl = timedelta(minutes=3)
        take = lambda holder, at: relay.db.run_sync(lambda s: jobs.acquire_lease(s, "scheduler", holder, at, ttl))
        assert take("a", START) is True
        assert take("b", START + timedelta(minutes=1)) is False
        assert take("a", START + timedelta(minutes=2)) is True  # renewal
        assert take("b", START + timedelta(minutes=6)) is True  # a's lease ran out
    finally:
        relay.writer.close()
        relay.db.close()
