"""Digest jobs: a daily note for moderators and coordinators, a weekly response report for coordinators."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from relay.care.mailer import Mailer
from relay.scheduler import digests
from relay.store import care, jobs
from relay.store.tables import Job, Participant, Program


def plan_digests(session: Session, now: datetime) -> list[jobs.Planned]:
    planned = []
    for program in session.exec(_programs()):
        for person in care.staff_of(session, program.id, ("moderator", "coordinator")):
            tz = person.timezone or program.timezone
            # The first digest is the next one at the documented hour after enrolment, not one at once.
            day, due = digests.daily_due(now, tz)
            if person.created_at <= due <= now:
                planned.append(jobs.Planned(f"digest:daily:{person.id}:{day}", "digest", due,
                                            {"participant_id": person.id, "period": "daily"}))
            week, monday = digests.weekly_due(now, tz)
            if person.role == "coordinator" and person.created_at <= monday <= now:
                planned.append(jobs.Planned(f"digest:weekly:{person.id}:{week}", "digest", monday,
                                            {"participant_id": person.id, "period": "weekly"}))
    return planned


def _programs():
    return select(Program).where(Program.status != "closed")


def run_digest(mail: Mailer, session: Session, job: Job, now: datetime) -> None:
    data = jobs.payload(job)
    person = session.get(Participant, int(data["participant_id"]))
    if person is None or person.status != "active":
        return
    program = session.get(Program, person.program_id)
    if data.get("period") == "weekly":
        figures = care.response_figures(session, program.id, now - timedelta(days=7))
        if not figures:
            return
        rows = [dict(mentor=f.mentor, answered=f.answered, unanswered=f.unanswered, median=digests.hours_text(f.median_hours),
                     p90=digests.hours_text(f.p90_hours), reminders=f.reminders, waiting=", ".join(f.waiting)) for f in figures]
        mail.send(session, "digest_weekly", person, dict(program=program.name, rows=rows), now, kind="digest")
        return
    quiet_days = int(care.program_settings(program).get("quiet_pairing_days", 14))
    facts = care.daily_facts(session, program, now, quiet_days)
    if digests.is_empty(facts):
        return  # nothing to say: nothing sent
    mail.send(session, "digest_daily", person, dict(program=program.name, sections=digests.sections(facts)), now,
              kind="digest")


