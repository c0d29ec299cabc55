"""Mail to the service address (relay@, help@): a participant's command, answered by email.

Only enrolled participants are heard: an unknown envelope sender is
refused at RCPT, a From that is not the enrolled address or a failed sender
check at DATA, and nobody else is ever answered by mail. The command is
stored as a ``command`` message and carried out in the same transaction
that queues the confirmation.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlmodel import Session, select

from relay import model
from relay.addresses import normalise
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.commands import ServiceCommand, parse_service_request
from relay.intake.context import IntakeContext
from relay.intake.recipients import AddressRecipient
from relay.intake.sender import auth_refusal
from relay.moderation.commands import new_text
from relay.timezones import zone
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import care, directory, jobs, messages
from relay.store.tables import Circle, CircleMember, Consent, Pairing, Participant, Program

INDEFINITE = datetime(2999, 12, 31, tzinfo=timezone.utc)  # "away" with no date: until "back"


class ServiceRoute:
    gathers: frozenset[str] = frozenset()

    def __init__(self, ctx: IntakeContext, mail) -> None:
        self.ctx, self.mail = ctx, mail

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        senders = await self.ctx.db.run(lambda s: directory.participants_by_email(s, txn.mail_from))
        if not [p for p in senders if p.status != "left"]:
            return replies.SERVICE_NOT_ENROLLED
        txn.recipients.append(AddressRecipient(target.address))
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes, seen: model.Inspection) -> Reply:
        ctx = self.ctx
        if normalise(seen.from_address) != normalise(txn.mail_from):
            return replies.FROM_MISMATCH
        auth = await ctx.sender_check.verify(raw, txn.mail_from, txn.peer, txn.helo)
        refusal = auth_refusal(auth, strict=False)
        if refusal is not None:
            return refusal
        automatic = bool(seen.auto_submitted) or bool(seen.auto_kind)
        text = "" if automatic else new_text(seen)
        now = ctx.clock.now()

        def store(session: Session) -> int:
            sender = _sender(session, txn.mail_from)
            today = now.astimezone(zone(_tz(session, sender))).date()
            command = parse_service_request(seen.subject, text, today)
            message_id = messages.insert_message(
                session, program_id=sender.program_id, kind="command", sender_id=sender.id,
                envelope_from=txn.mail_from, envelope_rcpts=txn.rcpt_addresses, peer=txn.peer, helo=txn.helo[:255],
                received_at=now, original_message_id=seen.message_id[:998], subject=seen.subject,
                body_text=text[:10_000], raw=raw, status="stored", verdict="deliver",
            )
            if not automatic:  # never answer an automatic reply: that is how mail loops start
                lines = carry_out(session, sender, command, now, self.mail)
                self.mail.send(session, "service_reply", sender, dict(subject=_subject(command), lines=lines), now,
                               kind="confirmation", in_reply_to=seen.message_id)
            return message_id

        stored = await ctx.writer.submit(store)
        ctx.wake_outbound()
        return replies.command_answered(f"M{stored}")


def _sender(session: Session, mail_from: str) -> Participant:
    people = [p for p in directory.participants_by_email(session, mail_from) if p.status != "left"]
    return sorted(people, key=lambda p: (p.status != "active", -p.id))[0]


def _tz(session: Session, person: Participant) -> str:
    return person.timezone or session.get(Program, person.program_id).timezone


def _subject(command: ServiceCommand) -> str:
    return {"away": "You are away", "back": "Welcome back", "status": "Your status", "help": "How the relay helps",
            "digest-on": "Digest on", "digest-off": "Digest off", "leave": "You left the circle",
            "share-address": "Sharing your address"}.get(
        command.verb, "The relay did not understand")


def carry_out(session: Session, person: Participant, command: ServiceCommand, now: datetime, mail) -> list[str]:
    """Do what the command asks; the lines of the confirmation."""
    verb = command.verb
    if verb == "away":
        if command.until is None:
            person.away_until = INDEFINITE
        else:
            end = datetime.combine(command.until + timedelta(days=1), time(0), tzinfo=zone(_tz(session, person)))
            person.away_until = end.astimezone(timezone.utc)
        person.away_reason = command.reason[:200]
        return [f"You are away {_until_text(person)}. Reminders are paused, and anyone who writes to you is told kindly.",
                'Send "back" when you return.']
    if verb == "back":
        person.away_until, person.away_reason = None, ""
        return ["Welcome back. Reminders are on again, and messages reach you as usual."]
    if verb == "status":
        return _status(session, person, now, mail)
    if verb in ("digest-on", "digest-off"):
        return _digest(session, person, command, "digest" if verb == "digest-on" else "each")
    if verb == "leave":
        return _leave(session, person, command, now)
    if verb == "share-address":
        return _share(session, person, now, mail)
    if verb == "help":
        return ["The relay passes your messages on with your real address hidden. These are the commands it understands:"]
    return [f"The relay could not read a command in your message ({command.reason or 'it was empty'})."]


def _until_text(person: Participant) -> str:
    if person.away_until is None:
        return "-"
    if person.away_until >= INDEFINITE:
        return "until you send \"back\""
    return "until " + (person.away_until - timedelta(seconds=1)).date().isoformat() + " (inclusive)"


def _status(session: Session, person: Participant, now: datetime, mail) -> list[str]:
    away = person.away_until is not None and person.away_until > now
    lines = [f"You are enrolled as {person.handle} ({person.role}); your relay address is {mail.alias(person)}.",
             f"Away: {_until_text(person)}" if away else "Away: no"]
    for pairing in directory.pairings_of(session, person.id):
        other = session.get(Participant, pairing.mentee_id if pairing.mentor_id == person.id else pairing.mentor_id)
        closing = f", closes on {pairing.closes_on}" if pairing.closes_on else ""
        lines.append(f"Paired with {other.handle} <{mail.alias(other)}>{closing}")
    return lines


def _digest(session: Session, person: Participant, command: ServiceCommand, mode: str) -> list[str]:
    query = select(CircleMember, Circle).join(Circle, Circle.id == CircleMember.circle_id).where(
        CircleMember.participant_id == person.id, CircleMember.status == "active")
    if command.circle:
        query = query.where(Circle.name == command.circle)
    rows = list(session.exec(query))
    if not rows:
        return [f"You are not in a circle called {command.circle!r}." if command.circle else "You are not in any circle."]
    for member, _ in rows:
        member.delivery_mode = mode
    names = ", ".join(circle.name for _, circle in rows)
    what = "one daily digest" if mode == "digest" else "each message as it comes"
    return [f"From now on you get {what} from: {names}."]


def _leave(session: Session, person: Participant, command: ServiceCommand, now: datetime) -> list[str]:
    query = select(CircleMember, Circle).join(Circle, Circle.id == CircleMember.circle_id).where(
        CircleMember.participant_id == person.id, CircleMember.status == "active", Circle.name == command.circle)
    row = session.exec(query).first()
    if row is None:
        return [f"You are not in a circle called {command.circle!r}."]
    member, circle = row
    member.status, member.left_at = "left", now
    return [f"You have left {circle.name}; its messages no longer reach you. A coordinator can add you back."]


def _share(session: Session, person: Participant, now: datetime, mail) -> list[str]:
    pairings = directory.pairings_of(session, person.id)
    if not pairings:
        return ["You have no pairing to share your address with."]
    lines = []
    for pairing in pairings:
        other_id = pairing.mentee_id if pairing.mentor_id == person.id else pairing.mentor_id
        other = session.get(Participant, other_id)
        if _consent(session, pairing.id, person.id) is None:
            session.add(Consent(pairing_id=pairing.id, participant_id=person.id, at=now))
            session.flush()
        if _consent(session, pairing.id, other_id) is None:
            lines.append(f"Noted. If {other.handle} agrees too, a moderator will be asked to introduce you.")
            continue
        lines.append(f"{other.handle} agreed too; a moderator has been asked to introduce you by email.")
        mentor, mentee = session.get(Participant, pairing.mentor_id), session.get(Participant, pairing.mentee_id)
        for staff in care.staff_of(session, person.program_id, ("moderator",)) or care.staff_of(
                session, person.program_id, ("coordinator",)):
            if jobs.record_job(session, f"introduction-request:{pairing.id}:{staff.id}", "introduction-request", now):
                mail.send(session, "introduction_request", staff, dict(mentor=mentor.handle, mentee=mentee.handle,
                          pairing_id=pairing.id), now)
    return lines


def _consent(session: Session, pairing_id: int, participant_id: int) -> Consent | None:
    return session.exec(select(Consent).where(Consent.pairing_id == pairing_id, Consent.participant_id == participant_id)).first()


def introduce(session: Session, pairing_id: int, approver: Participant | None, now: datetime, mail) -> str:
    """A moderator approved: both sides get each other's real address, once."""
    pairing = session.get(Pairing, pairing_id)
    if pairing is None:
        raise ValueError(f"no pairing {pairing_id}")
    consents = [_consent(session, pairing.id, pairing.mentor_id), _consent(session, pairing.id, pairing.mentee_id)]
    if None in consents:
        raise ValueError(f"pairing {pairing_id}: both sides must send \"share my address\" first")
    if all(c.approved_at for c in consents):
        return "already introduced"
    mentor, mentee = session.get(Participant, pairing.mentor_id), session.get(Participant, pairing.mentee_id)
    for consent in consents:
        consent.approved_at, consent.approved_by = now, approver.id if approver else None
    for person, other in ((mentor, mentee), (mentee, mentor)):
        mail.send(session, "introduction", person, dict(other=other.handle, other_email=other.email), now)
    return f"introduced {mentor.handle} and {mentee.handle}"


def away_note_hook(mail):
    """After-store: the first message a mentee sends during a mentor's absence gets a short kind note."""

    def hook(session: Session, stored: model.StoredMessage) -> None:
        if stored.verdict.action is model.Action.REJECT or stored.pairing_id is None:
            return
        for recipient in stored.recipients:
            # The values read at RCPT say who is away; only then is the row itself read.
            if recipient.role is not model.Role.MENTOR or recipient.away_until is None:
                continue
            row = session.get(Participant, recipient.id)
            if row is None or row.away_until is None or row.away_until <= stored.received_at:
                continue
            key = f"away-note:{row.id}:{stored.sender.id}:{row.away_until:%Y%m%d%H%M}"
            if jobs.record_job(session, key, "away-note", stored.received_at):
                writer = session.get(Participant, stored.sender.id)
                mail.send(session, "away_note", writer, dict(mentor=row.handle, until=_until_text(row).removeprefix("until ")),
                          stored.received_at)

    return hook
