"""A guardian's consent: the request, the hold on a child's messages until it comes, and the answer.

With ``guardian_consent = required``, a mentee's guardian gets a request
(what the program is, who reads messages, how long they are kept) with a
signed, single-use reply address. Until consent is recorded, messages to
and from that mentee are accepted and stored but held, and the writer is
told kindly why; "yes" or "I agree" on the first line of the answer records
who, when, how and the answer's Message-ID, and releases them. "no" records
the refusal and closes the mentee's pairings kindly. Consent given on paper
is recorded with ``relayctl participant consent EMAIL --record``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlmodel import Session, select

from relay import model, notices
from relay.safeguarding import reply_tokens
from relay.safeguarding import store as safe_store
from relay.safeguarding.settings import safeguarding
from relay.store import directory, jobs, moderation, queue
from relay.store.tables import Guardian, Message, Pairing, Participant, Program

YES = frozenset({"yes", "i agree", "agree", "i consent"})
NO = frozenset({"no", "i refuse", "i decline"})
TOKEN_LIFETIME = timedelta(days=60)
REQUEST_JOB = "consent-request"
HOLD_REASON = "awaiting the family's consent"


def read_answer(words: str) -> str:
    """'yes', 'no' or '' for the first words of a guardian's answer (pure)."""
    if words in YES or words.split()[:1] == ["yes"]:
        return "yes"
    if words in NO or words.split()[:1] == ["no"]:
        return "no"
    return ""


@dataclass(frozen=True)
class Mailer:
    """What sending to a guardian needs: templates, domain, secret and fresh ids."""

    env: Any
    domain: str
    secret: bytes
    random_part: Callable[[], str]
    new_message_id: Callable[[], str]


class GuardianAddress:
    """A guardian as a recipient for ``notices.notify`` (not a participant: no id)."""

    def __init__(self, guardian: Guardian, child: Participant) -> None:
        self.id, self.email, self.handle = None, guardian.email, f"{child.handle}'s family"


def add_guardian(session: Session, child: Participant, email: str, now: datetime, mail: Mailer) -> Guardian:
    if child.role != model.Role.MENTEE.value:
        raise ValueError("only a mentee can have a guardian")
    guardian = safe_store.guardian_of(session, child.id) or Guardian(participant_id=child.id, email=email, created_at=now)
    guardian.email = email
    session.add(guardian)
    session.flush()
    if safeguarding(session.get(Program, child.program_id)).guardian_consent == "required" and guardian.consent in ("none", "requested"):
        request(session, guardian, child, now, mail)
    return guardian


def request(session: Session, guardian: Guardian, child: Participant, now: datetime, mail: Mailer) -> None:
    token = reply_tokens.make_token(mail.secret, mail.random_part())
    safe_store.insert_token(session, reply_tokens.token_hash(token), "consent", guardian.id, None, now, now + TOKEN_LIFETIME)
    reply_to = f"{reply_tokens.local_part(token)}@{mail.domain}"
    program = session.get(Program, child.program_id)
    context = {"child": child.handle, "program": program.name, "reply_to": reply_to,
               "retention_days": safeguarding(program).retention_days,
               "guardian_copy": safeguarding(program).guardian_copy}
    notices.notify(session, mail.env, "consent_request", context, person=GuardianAddress(guardian, child),
                   kind="guardian", domain=mail.domain, now=now, masked_id=mail.new_message_id(),
                   from_name="mentor-relay", reply_to=reply_to, lifetime=timedelta(days=5))
    guardian.consent, guardian.requested_at = "requested", now
    session.add(guardian)


def awaiting(session: Session, child_id: int) -> Guardian | None:
    """The guardian whose consent this mentee's messages wait for, if the program requires it."""
    guardian = safe_store.guardian_of(session, child_id)
    if guardian is None or guardian.consent == "given":
        return None
    return guardian if _required(session, child_id) else None


def _required(session: Session, child_id: int) -> bool:
    child = session.get(Participant, child_id)
    return safeguarding(session.get(Program, child.program_id)).guardian_consent == "required"


def _mentee_of(session: Session, pairing_id: int | None) -> int | None:
    pairing = session.get(Pairing, pairing_id) if pairing_id else None
    return pairing.mentee_id if pairing else None


@dataclass
class ConsentHold:
    """After-store step: a message to or from a mentee still awaiting consent is held, and its writer told."""

    env: Any
    domain: str
    new_message_id: Callable[[], str]

    def apply(self, session: Session, stored: model.StoredMessage, guardian: Guardian) -> None:
        child_id = guardian.participant_id
        if guardian.consent == "given" or not _required(session, child_id):
            return
        queue_hold(session, stored.id)
        moderation.record_action(session, message_id=stored.id, actor_id=None, actor="relay", action="hold",
                                 argument=HOLD_REASON, via="relay", at=stored.received_at, outcome="done")
        message = session.get(Message, stored.id)
        sender = session.get(Participant, stored.sender.id)
        other = "their family" if sender.id == child_id else "your mentee's family"
        notices.notify(session, self.env, "consent_awaited",
                       {"handle": sender.handle, "subject": message.subject or "(no subject)", "whose": other},
                       person=sender, kind="notice", domain=self.domain, now=stored.received_at,
                       masked_id=self.new_message_id(), message_id=stored.id)


def queue_hold(session: Session, message_id: int) -> None:
    from sqlalchemy import update

    from relay.store.tables import Delivery

    session.execute(update(Delivery).where(Delivery.message_id == message_id, Delivery.status == "queued")
                    .values(status="held"))
    message = session.get(Message, message_id)
    message.status = "held"
    session.add(message)


def waits_for_consent(session: Session, message: Message) -> bool:
    """True while this message's mentee awaits the family's consent: a moderator's answer must not release it."""
    child_id = _mentee_of(session, message.pairing_id)
    return child_id is not None and awaiting(session, child_id) is not None


def consent_held(session: Session, child_id: int) -> list[Message]:
    """Held messages of this mentee's pairings that consent releases: held for consent only, or already
    approved or redacted by a moderator (a message the policy held and nobody decided stays held)."""
    from relay.store.tables import ModerationAction

    pairings = select(Pairing.id).where(Pairing.mentee_id == child_id)
    held = select(ModerationAction.message_id).where(ModerationAction.action == "hold",
                                                     ModerationAction.argument == HOLD_REASON)
    found = session.exec(select(Message).where(Message.pairing_id.in_(pairings), Message.status == "held",
                                               Message.id.in_(held))).all()
    return [m for m in found if m.verdict != "hold" or _decided_to_deliver(session, m.id)]


def _decided_to_deliver(session: Session, message_id: int) -> bool:
    decision = moderation.decision(session, message_id)
    return decision is not None and decision.action in ("approve", "redact")


def record(session: Session, guardian: Guardian, answer: str, by: str, how: str, message_id: str, now: datetime) -> int:
    """Record consent given or refused; returns how many held messages were released (or 0)."""
    guardian.consent = "given" if answer == "yes" else "refused"
    guardian.decided_at, guardian.decided_by, guardian.decided_how = now, by, how
    guardian.decided_message_id = message_id[:998]
    session.add(guardian)
    if answer == "yes":
        return sum(queue.release_held(session, m.id, now) for m in consent_held(session, guardian.participant_id))
    from relay.care.closure import schedule_closure

    for pairing in directory.pairings_of(session, guardian.participant_id):
        schedule_closure(session, pairing, now.date(), now)
    return 0


@dataclass
class ConsentAnswer:
    """A guardian's answer to the consent request's reply address."""

    mail: Mailer

    def __call__(self, session: Session, answer: Any, row: Any) -> Any:
        from relay.smtp import replies

        guardian = session.get(Guardian, row.ref_id)
        if guardian is None or guardian.email != answer.sender:
            return replies.NOT_ADDRESSEE
        child = session.get(Participant, guardian.participant_id)
        reference = answer.store(session, child.program_id, None)
        said = read_answer(answer.words)
        if said and row.used_at is None and safe_store.use_token(session, row.token_hash, answer.now):
            released = record(session, guardian, said, guardian.email, "email", answer.inspection.message_id, answer.now)
            template = "consent_recorded" if said == "yes" else "consent_refused"
            context = {"child": child.handle, "released": released}
        else:
            template, context = "consent_unclear", {"child": child.handle, "state": guardian.consent}
        notices.notify(session, self.mail.env, template, context, person=GuardianAddress(guardian, child),
                       kind="guardian", domain=self.mail.domain, now=answer.now, masked_id=self.mail.new_message_id(),
                       reply_to="" if said else answer.txn.rcpt_addresses[0])
        return replies.accepted(reference)


def plan_requests(session: Session, now: datetime) -> list[jobs.Planned]:
    """Planner: a guardian never asked (consent became required after they were added) is asked once."""
    planned = []
    for guardian, program in session.exec(
        select(Guardian, Program).join(Participant, Participant.id == Guardian.participant_id)
        .join(Program, Program.id == Participant.program_id).where(Guardian.consent == "none")
    ):
        if safeguarding(program).guardian_consent == "required":
            planned.append(jobs.Planned(f"{REQUEST_JOB}:{guardian.id}", REQUEST_JOB, now, {"guardian_id": guardian.id}))
    return planned


@dataclass
class RequestHandler:
    mail: Mailer

    def __call__(self, session: Session, job: Any, now: datetime) -> None:
        guardian = session.get(Guardian, jobs.payload(job).get("guardian_id"))
        if guardian is not None and guardian.consent == "none":
            request(session, guardian, session.get(Participant, guardian.participant_id), now, self.mail)
