"""Daily digests for members who read a circle once a day: planned per member, sent at their local morning.

The planner writes one job per member and morning (the unique key makes it
idempotent); the handler reads the circle's messages of the day before,
masked for that member, groups them by thread and queues one message, or
nothing when the day was quiet. A member who switches back to every
message before the morning simply gets no digest.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlmodel import Session

from relay.circles import schedule, threads
from relay.circles.reading import masked_reading
from relay.timezones import zone
from relay.notices import notify
from relay.outbound.message_ids import new_message_id
from relay.store import circles, jobs
from relay.store.tables import Circle, CircleMember, Job, Participant, Program

JOB_KIND = "circle-digest"
TEMPLATE = "circle_digest"


def job_key(member_id: int, day: date) -> str:
    return f"{JOB_KIND}:{member_id}:{day.isoformat()}"


def plan_digests(session: Session, now: datetime) -> list[jobs.Planned]:
    """Plan the last morning (if the member already read by digest then) and the next one."""
    planned = []
    for member, person, _circle, program in circles.digest_members(session):
        tz = zone(person.timezone, program.timezone)
        last, upcoming = schedule.mornings_around(now, tz)
        for day in (last, upcoming):
            due = schedule.morning(day, tz)
            if due <= member.joined_at:
                continue  # before they joined: that day's messages are not theirs to read
            planned.append(jobs.Planned(job_key(member.id, day), JOB_KIND, due, {"member_id": member.id, "day": day.isoformat()}))
    return planned


class DigestHandler:
    """Runs one digest job inside the scheduler's transaction."""

    def __init__(self, env, domain: str) -> None:
        self.env, self.domain = env, domain

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        values = jobs.payload(job)
        member = session.get(CircleMember, values.get("member_id"))
        if member is None or member.status != "active" or member.delivery_mode != "digest":
            return
        circle = session.get(Circle, member.circle_id)
        person = session.get(Participant, member.participant_id)
        program = session.get(Program, circle.program_id)
        if circle.status != "active" or person.status != "active":
            return
        tz = zone(person.timezone, program.timezone)
        day = date.fromisoformat(values["day"])
        since, until = schedule.window(day, tz)
        since = max(since, member.joined_at)
        rows = circles.messages_between(session, circle.id, since, until)
        if not rows:
            return  # a quiet day: nothing is sent
        context = digest_context(session, circle, person, rows, self.domain, tz, day)
        notify(session, self.env, TEMPLATE, context, person=person, kind="digest", domain=self.domain, now=now,
               masked_id=new_message_id(self.domain, secrets.token_hex(12)), reply_to=f"{circle.alias}@{self.domain}")


def digest_context(session, circle: Circle, person: Participant, rows, domain: str, tz, day: date) -> dict:
    copies = circles.copy_ids(session, [m.id for m in rows])
    items = [
        threads.Item(
            key=m.id,
            subject=m.subject,
            ids=frozenset([m.original_message_id, *copies[m.id]]) - {""},
            parents=tuple((m.in_reply_to or "").split()) + tuple((m.references or "").split()),
        )
        for m in rows
    ]
    readings = {m.id: masked_reading(session, m, person, domain) for m in rows}
    grouped = [
        {
            "subject": readings[t.keys[0]].subject or t.subject,
            "messages": [
                {
                    "handle": readings[k].handle,
                    "time": readings[k].received_at.astimezone(tz).strftime("%H:%M"),
                    "text": readings[k].text,
                    "attachments": readings[k].attachments,
                }
                for k in t.keys
            ],
        }
        for t in threads.group(items)
    ]
    return {
        "handle": person.handle,
        "circle": circle.handle,
        "circle_name": circle.name,
        "circle_address": f"{circle.alias}@{domain}",
        "day": day.isoformat(),
        "count": len(rows),
        "threads": grouped,
    }
