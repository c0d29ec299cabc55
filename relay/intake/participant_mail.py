"""Mail from one participant to another's alias: check, decide, store, then answer.

RCPT: the envelope sender must be enrolled (checked first, so outsiders
learn nothing about which aliases exist) and paired with the recipient.
DATA: the From header must be that participant, the sender must pass
authentication, the policy gives a verdict, and the message, its verdict
and one delivery per recipient are committed in one transaction before the
250.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from relay import model
from relay.addresses import normalise
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.parse import inspect
from relay.outbound.message_ids import new_message_id
from relay.policy.engine import evaluate
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import care, directory, messages
from relay.store.tables import Pairing, Participant, Program


@dataclass(frozen=True)
class Resolved:
    recipient: model.Participant
    sender: model.Participant
    pairing_id: int | None
    ended: bool = False  # a former partner writing after the pairing closed


@dataclass(frozen=True)
class Snapshot:
    """What the policy needs to know about the people and the program, read at DATA."""

    program_name: str
    region: str
    pairing_count: int
    pairing_on_hold: bool
    sender_status: str


class ParticipantRoute:
    def __init__(self, ctx: IntakeContext) -> None:
        self.ctx = ctx
        # Set by the care feature: answer(session, stored_message_id, resolved, now) queues the
        # kind automatic answer to a former partner. Without it, closed pairings are refused.
        self.answer_ended = None

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        ended_ok = self.answer_ended is not None
        outcome = await self.ctx.db.read(lambda s: _resolve(s, txn.mail_from, target.local, ended_ok))
        if isinstance(outcome, Reply):
            return outcome
        if txn.recipients and txn.recipients[0].sender.program_id != outcome.sender.program_id:
            return replies.SEPARATE_MESSAGE
        if txn.recipients and txn.recipients[0].ended != outcome.ended:
            return replies.SEPARATE_MESSAGE
        txn.recipients.append(outcome)
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes) -> Reply:
        ctx = self.ctx
        sender: model.Participant = txn.recipients[0].sender
        inspection = await ctx.db.call(inspect, raw)
        if normalise(inspection.from_address) != sender.email:
            return replies.FROM_MISMATCH
        if txn.recipients[0].ended:
            return await self._accept_ended(txn, raw, inspection)
        refusal, extra_findings, auth = await screen(ctx, txn, raw, inspection)
        if refusal is not None:
            return refusal
        recipients = tuple(r.recipient for r in txn.recipients)
        pairing_id = txn.recipients[0].pairing_id
        snap = await ctx.db.read(lambda s: snapshot(s, sender, pairing_id))
        policy = ctx.policies.for_program(snap.program_name)
        policy_ctx = policy_context(snap, sender, recipients, ctx.domain)
        verdict = await judge(inspection, policy_ctx, policy, status_findings(snap) + extra_findings, auth)
        if isinstance(verdict, Reply):
            return verdict
        copies = [(r, new_message_id(ctx.domain, ctx.token())) for r in txn.recipients]
        return await store_and_answer(ctx, StoreMessage(ctx, txn, raw, inspection, verdict, copies, ctx.clock.now()))

    async def _accept_ended(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        """Kept, not forwarded; the former partner gets a kind automatic answer (never to an automatic message)."""
        ctx = self.ctx
        auth = await ctx.sender_check.verify(raw, txn.mail_from, txn.peer, txn.helo)
        if auth.verdict in ("fail", "temperror"):
            return Reply(auth.smtp_code or 550, auth.enhanced or "5.7.26", auth.reason)
        now = ctx.clock.now()
        first: Resolved = txn.recipients[0]

        def store(session: Session) -> int:
            message_id = messages.insert_message(
                session, program_id=first.sender.program_id, kind="participant", sender_id=first.sender.id,
                pairing_id=first.pairing_id, envelope_from=txn.mail_from, envelope_rcpts=txn.rcpt_addresses,
                peer=txn.peer, helo=txn.helo[:255], received_at=now, original_message_id=inspection.message_id[:998],
                subject=inspection.subject, body_text=body_text(inspection), raw=raw, status="stored", verdict="deliver",
            )
            if not inspection.auto_submitted:
                self.answer_ended(session, message_id, first, now)
            return message_id

        stored = await ctx.writer.submit(store)
        ctx.wake_outbound()
        return replies.conversation_ended(f"M{stored}")


async def screen(ctx: IntakeContext, txn: Transaction, raw: bytes, inspection: model.Inspection):
    """Data checks and sender authentication, before any policy: (refusal or None, findings, auth)."""
    findings: list[model.Finding] = []
    for check in ctx.data_checks:
        outcome = await check(txn, raw, inspection)
        if isinstance(outcome, Reply):
            return outcome, [], None
        findings += outcome or []
    auth = await ctx.sender_check.verify(raw, txn.mail_from, txn.peer, txn.helo)
    if auth.verdict == "temperror":
        # RFC 7208 §8.6: a DNS failure while checking is temporary; the client retries.
        reason = f"Could not check who sent this message; please try again later ({auth.reason})"
        return Reply(auth.smtp_code or 451, auth.enhanced or "4.4.3", reason), [], auth
    return None, findings, auth


async def judge(inspection, policy_ctx, policy, findings: list[model.Finding], auth) -> model.Verdict | Reply:
    """The policy's verdict, with what the screen found; a failed authentication refuses or holds."""
    # The rules are CPU work (phone matching on a long text takes a while): off the event loop.
    found = list((await asyncio.to_thread(evaluate, inspection, policy_ctx, policy)).findings) + findings
    if auth.verdict == "fail":
        if not getattr(policy, "hold_on_auth_failure", False):
            return Reply(auth.smtp_code or 550, auth.enhanced or "5.7.26", auth.reason)
        found.append(model.Finding("sender-authentication", model.Action.HOLD, auth.reason))
    return model.Verdict.combine(found)


async def store_and_answer(ctx: IntakeContext, store: "StoreMessage") -> Reply:
    """Commit, then say so: a rejection is stored and refused, anything else is a 250."""
    stored: model.StoredMessage = await ctx.writer.submit(store)
    verdict = store.verdict
    ctx.metrics.message_accepted(stored.id, store.kind, verdict.action.value, len(store.raw), len(store.copies))
    if verdict.action is model.Action.REJECT:
        return replies.policy_rejected("; ".join(f.reason for f in verdict.findings if f.action is model.Action.REJECT))
    ctx.wake_outbound()
    reference = f"M{stored.id}"
    return replies.held(reference) if verdict.action is model.Action.HOLD else replies.queued(reference)


def _resolve(session: Session, mail_from: str, local: str, ended_ok: bool = False) -> Resolved | Reply:
    senders = directory.participants_by_email(session, mail_from)
    if not senders:
        return replies.NOT_ENROLLED
    recipient = directory.participant_by_alias(session, local)
    if recipient is None or recipient.status != "active":
        return replies.UNKNOWN_RECIPIENT
    sender = next((p for p in senders if p.program_id == recipient.program_id), None)
    if sender is None or sender.id == recipient.id:
        return replies.NOT_PAIRED
    pairing = directory.active_pairing(session, sender.id, recipient.id)
    if pairing is None and ended_ok:
        ended = care.closed_pairing(session, sender.id, recipient.id)
        if ended is not None:
            return Resolved(directory.to_value(recipient), directory.to_value(sender), ended.id, ended=True)
    if pairing is None:
        return replies.NOT_PAIRED
    return Resolved(directory.to_value(recipient), directory.to_value(sender), pairing.id)


def snapshot(session: Session, sender: model.Participant, pairing_id: int | None) -> Snapshot:
    program = session.get(Program, sender.program_id)
    pairing = session.get(Pairing, pairing_id) if pairing_id else None
    current = session.get(Participant, sender.id)
    return Snapshot(
        program_name=program.name,
        region=program.region,
        pairing_count=messages.count_pairing_messages(session, pairing_id) if pairing_id else 0,
        pairing_on_hold=bool(pairing and pairing.held_by_moderator),
        sender_status=current.status if current else "active",
    )


def policy_context(
    snap: Snapshot, sender: model.Participant, recipients: tuple[model.Participant, ...], domain: str
) -> model.PolicyContext:
    known = {sender.email, f"{sender.alias}@{domain}"}
    for r in recipients:
        known |= {r.email, f"{r.alias}@{domain}"}
    return model.PolicyContext(
        program_name=snap.program_name,
        region=snap.region,
        sender=sender,
        recipients=recipients,
        pairing_message_count=snap.pairing_count,
        known_addresses=frozenset(known),
        relay_domain=domain,
    )


def status_findings(snap: Snapshot) -> list[model.Finding]:
    found = []
    if snap.sender_status == "suspended":
        found.append(model.Finding("suspended-sender", model.Action.HOLD, "the sender is suspended by a moderator"))
    if snap.pairing_on_hold:
        found.append(model.Finding("pairing-on-hold", model.Action.HOLD, "a moderator asked to hold this pairing's messages"))
    return found


class StoreMessage:
    """The one transaction for an accepted participant message (runs on the writer thread).

    Circle messages reuse it: a subclass says where the message belongs.
    """

    kind = "participant"

    def __init__(self, ctx, txn, raw, inspection, verdict, copies, now: datetime) -> None:
        self.ctx, self.txn, self.raw, self.inspection = ctx, txn, raw, inspection
        self.verdict, self.copies, self.now = verdict, copies, now

    def where(self, first) -> tuple[int | None, int | None]:
        """(pairing id, circle id) of the message."""
        return first.pairing_id, None

    def status_for(self, action: model.Action) -> str:
        return {model.Action.HOLD: "held", model.Action.REJECT: "rejected"}.get(action, "queued")

    def __call__(self, session: Session) -> model.StoredMessage:
        txn, verdict, now = self.txn, self.verdict, self.now
        first = txn.recipients[0]
        action = verdict.action
        pairing_id, circle_id = self.where(first)
        message_id = messages.insert_message(
            session,
            program_id=first.sender.program_id,
            kind=self.kind,
            sender_id=first.sender.id,
            pairing_id=pairing_id,
            circle_id=circle_id,
            envelope_from=txn.mail_from,
            envelope_rcpts=txn.rcpt_addresses,
            peer=txn.peer,
            helo=txn.helo[:255],
            received_at=now,
            original_message_id=self.inspection.message_id[:998],
            in_reply_to=self.inspection.in_reply_to,
            references=self.inspection.references,
            subject=self.inspection.subject,
            body_text=body_text(self.inspection),
            raw=self.raw,
            status=self.status_for(action),
            verdict=action.value,
            urgent=verdict.urgent,
        )
        messages.insert_findings(session, message_id, verdict.findings)
        delivery_ids: tuple[int, ...] = ()
        if action is not model.Action.REJECT and self.copies:
            delivery_status = "held" if action is model.Action.HOLD else "queued"
            rows = [
                dict(
                    message_id=message_id,
                    recipient_id=r.recipient.id,
                    rcpt_email=r.recipient.email,
                    kind="forward",
                    status=delivery_status,
                    masked_message_id=masked_id,
                    created_at=now,
                    next_attempt_at=now,
                    expires_at=now + self.ctx.lifetime,
                )
                for r, masked_id in self.copies
            ]
            delivery_ids = tuple(messages.insert_deliveries(session, rows))
        self._learn_display_name(session, first.sender)
        stored = model.StoredMessage(
            id=message_id,
            program_id=first.sender.program_id,
            sender=first.sender,
            recipients=tuple(r.recipient for r in txn.recipients),
            pairing_id=pairing_id,
            verdict=verdict,
            inspection=self.inspection,
            delivery_ids=delivery_ids,
            received_at=now,
            circle_id=circle_id,
        )
        for hook in self.ctx.after_store:
            hook(session, stored)
        return stored

    def _learn_display_name(self, session: Session, sender: model.Participant) -> None:
        # Real names typed in a From header are replaced by handles in every copy.
        name = self.inspection.from_name.strip()[:200]
        if name and name != sender.display_name:
            row = session.get(Participant, sender.id)
            if row is not None:
                row.display_name = name


def body_text(inspection: model.Inspection) -> str:
    text = "\n".join(inspection.texts) or "\n".join(inspection.htmls)
    return text[:100_000]
