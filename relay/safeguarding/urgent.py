"""Urgent alerts: a message on an urgent list reaches a person at once, and again until someone says ``ack``.

The first round goes to every coordinator of the program the moment the
message is stored (moderators too when the program has no coordinator).
Each later round, every ``urgent_ack_minutes``, goes to coordinators and
moderators alike, until one of them answers ``ack`` to their alert's reply
address. Alerts are plain queued notices: they never wait for quiet hours
or digests. Each alert carries the message masked, as moderation notices do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlmodel import Session

from relay import model, notices
from relay.moderation.notice import conversation_label, notice_context
from relay.safeguarding import reply_tokens
from relay.safeguarding import store as safe_store
from relay.safeguarding.settings import safeguarding
from relay.store import care, directory, jobs, moderation
from relay.store.tables import Job, Message, Participant, Program, UrgentAlert

log = logging.getLogger(__name__)

JOB_KIND = "urgent-realert"
TEMPLATE = "urgent_alert"
TOKEN_LIFETIME = timedelta(days=14)
FIRST_ROUND = ("coordinator",)
LATER_ROUNDS = ("coordinator", "moderator")


def job_key(alert_id: int, round_number: int) -> str:
    return f"{JOB_KIND}:{alert_id}:{round_number}"


def recipients_for(round_number: int, staff: dict[str, list[Any]]) -> list[Any]:
    """Who hears round ``round_number`` (pure): coordinators first, everyone once it has waited."""
    roles = FIRST_ROUND if round_number == 1 else LATER_ROUNDS
    people = [p for role in roles for p in staff.get(role, [])]
    return people or [p for role in LATER_ROUNDS for p in staff.get(role, [])]


@dataclass
class UrgentAlerts:
    """After-store step ``(session, stored)`` and the sender of every round."""

    env: Any
    domain: str
    secret: bytes
    random_part: Callable[[], str]
    new_message_id: Callable[[], str]

    def __call__(self, session: Session, stored: model.StoredMessage) -> None:
        if not stored.verdict.urgent or safe_store.alert_of(session, stored.id) is not None:
            return
        now = stored.received_at
        period = timedelta(minutes=safeguarding(session.get(Program, stored.program_id)).urgent_ack_minutes)
        alert = UrgentAlert(message_id=stored.id, program_id=stored.program_id, raised_at=now, rounds=1,
                            next_at=now + period)
        session.add(alert)
        session.flush()
        message = session.get(Message, stored.id)
        people = directory.program_participants(session, stored.program_id)
        address_map, name_map = directory.masking_maps(people, self.domain)
        context = notice_context(stored, conversation_label(session, message), address_map, name_map)
        self.send_round(session, alert, context, now, period)

    def send_round(self, session: Session, alert: UrgentAlert, context: dict, now: datetime, period: timedelta) -> int:
        staff = {role: care.staff_of(session, alert.program_id, (role,)) for role in LATER_ROUNDS}
        people = recipients_for(alert.rounds, staff)
        if not people:
            log.warning("urgent M%s: program %s has no coordinator or moderator to alert", alert.message_id, alert.program_id)
        minutes = int(period.total_seconds() // 60)
        for person in people:
            reply_to = self.issue_token(session, alert, person, now)
            notices.notify(
                session, self.env, TEMPLATE,
                {**context, "person": person.handle, "reply_to": reply_to, "round": alert.rounds, "minutes": minutes,
                 "raised": f"{alert.raised_at:%Y-%m-%d %H:%M} UTC"},
                person=person, kind="urgent", domain=self.domain, now=now, masked_id=self.new_message_id(),
                message_id=alert.message_id, from_name="mentor-relay safeguarding", reply_to=reply_to,
            )
        moderation.record_action(session, message_id=alert.message_id, actor_id=None, actor="relay", action="notice",
                                 argument=f"urgent alert, round {alert.rounds}, to {len(people)} staff", via="relay",
                                 at=now, outcome="done")
        return len(people)

    def issue_token(self, session: Session, alert: UrgentAlert, person: Participant, now: datetime) -> str:
        token = reply_tokens.make_token(self.secret, self.random_part())
        safe_store.insert_token(session, reply_tokens.token_hash(token), "urgent", alert.id, person.id, now,
                                now + TOKEN_LIFETIME)
        return f"{reply_tokens.local_part(token)}@{self.domain}"


def plan_realerts(session: Session, now: datetime) -> list[jobs.Planned]:
    """Planner: one job per unacknowledged alert and round that has come due."""
    return [jobs.Planned(job_key(alert.id, alert.rounds + 1), JOB_KIND, alert.next_at,
                         {"alert_id": alert.id, "round": alert.rounds + 1})
            for alert in safe_store.due_alerts(session, now)]


@dataclass
class RealertHandler:
    """Sends the next round of one alert, unless someone acknowledged it meanwhile."""

    alerts: UrgentAlerts
    stored_view: Callable[[Session, Message], model.StoredMessage]

    def __call__(self, session: Session, job: Job, now: datetime) -> None:
        values = jobs.payload(job)
        alert = safe_store.lock_alert(session, values.get("alert_id"))
        if alert is None or alert.acked_at is not None or alert.rounds + 1 != values.get("round"):
            return
        message = session.get(Message, alert.message_id)
        program = session.get(Program, alert.program_id)
        period = timedelta(minutes=safeguarding(program).urgent_ack_minutes)
        alert.rounds += 1
        alert.next_at = now + period
        session.add(alert)
        people = directory.program_participants(session, alert.program_id)
        address_map, name_map = directory.masking_maps(people, self.alerts.domain)
        context = notice_context(self.stored_view(session, message), conversation_label(session, message),
                                 address_map, name_map)
        self.alerts.send_round(session, alert, context, now, period)


def stored_view(session: Session, message: Message) -> model.StoredMessage:
    """The stored message as after-store steps saw it, rebuilt from its rows for a later round."""
    from relay.intake.parse import inspect
    from relay.store import messages

    findings = tuple(
        model.Finding(f.rule, model.Action(f.action), f.reason, f.excerpt, model.Severity(f.severity), f.match)
        for f in messages.findings_of(session, message.id)
    )
    sender = session.get(Participant, message.sender_id)
    recipients = []
    for delivery in messages.deliveries_of(session, message.id):
        person = session.get(Participant, delivery.recipient_id) if delivery.kind == "forward" else None
        if person is not None:
            recipients.append(directory.to_value(person))
    return model.StoredMessage(
        id=message.id, program_id=message.program_id, sender=directory.to_value(sender), recipients=tuple(recipients),
        pairing_id=message.pairing_id, verdict=model.Verdict.combine(findings), inspection=inspect(message.raw or b"\r\n"),
        delivery_ids=(), received_at=message.received_at, circle_id=message.circle_id,
    )


@dataclass
class AckHandler:
    """A coordinator's or moderator's answer to an alert: ``ack`` records who took it and stops the rounds."""

    env: Any
    domain: str
    new_message_id: Callable[[], str]

    def __call__(self, session: Session, answer: Any, row: Any) -> Any:
        from relay.smtp import replies

        person = session.get(Participant, row.participant_id) if row.participant_id else None
        if person is None or person.status != "active" or person.email != answer.sender:
            return replies.NOT_ADDRESSEE
        reference = answer.store(session, person.program_id, person.id)
        alert = safe_store.lock_alert(session, row.ref_id)
        text = self.apply(session, alert, person, answer.words, answer.now)
        notices.notify(session, self.env, "urgent_acknowledged",
                       {"person": person.handle, "message_id": alert.message_id, "text": text,
                        "by": care.handle(session, alert.acked_by_id) if alert.acked_by_id else "nobody yet"},
                       person=person, kind="confirmation", domain=self.domain, now=answer.now,
                       masked_id=self.new_message_id(), message_id=alert.message_id,
                       from_name="mentor-relay safeguarding")
        return replies.accepted(reference)

    def apply(self, session: Session, alert: UrgentAlert, person: Participant, words: str, now: datetime) -> str:
        verb = words.split()[0] if words else ""
        if verb != "ack":
            return (f"That answer was not understood, so M{alert.message_id} is still unacknowledged. "
                    "Reply to the alert with  ack  on the first line to say you are taking it.")
        if alert.acked_at is not None:
            by = care.handle(session, alert.acked_by_id)
            return f"M{alert.message_id} was already acknowledged by {by} at {alert.acked_at:%Y-%m-%d %H:%M} UTC."
        alert.acked_at, alert.acked_by_id, alert.acked_via = now, person.id, "email"
        session.add(alert)
        moderation.record_action(session, message_id=alert.message_id, actor_id=person.id, actor=person.email,
                                 action="ack", argument=f"urgent alert, after {alert.rounds} round(s)", via="email",
                                 at=now, outcome="done")
        return (f"Thank you: you have taken M{alert.message_id}. The alerts have stopped, and the record "
                "says you acknowledged it.")
