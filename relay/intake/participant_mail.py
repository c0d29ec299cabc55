"""Mail from one participant to another's alias: check, decide, store, then answer.

RCPT: the envelope sender must be enrolled (checked first, so outsiders
learn nothing about which aliases exist) and paired with the recipient.
DATA: the From header must be that participant, the sender must pass
authentication, the policy gives a verdict, and the message, its verdict
and one delivery per recipient are committed in one transaction before the
250.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.engine import Connection
from sqlmodel import Session

from relay import cpu, model
from relay.addresses import normalise
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.recipients import PairRecipient
from relay.intake.sender import SenderVerdict, auth_refusal
from relay.outbound.message_ids import new_message_id
from relay.policy.engine import evaluate
from relay.policy.rules import sender_authentication
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import directory, lookups, messages
from relay.store.rows import connection_of


# answer(session, recipient, now) queues the kind automatic answer to a former partner.
AnswerEnded = Callable[[Session, PairRecipient, datetime], None]


class ParticipantRoute:
    gathers: frozenset[str] = frozenset()

    def __init__(self, ctx: IntakeContext, answer_ended: AnswerEnded | None = None) -> None:
        self.ctx = ctx
        # Without an answer for former partners, mail to a closed pairing is refused like any stranger's.
        self.answer_ended = answer_ended

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        ended_ok = self.answer_ended is not None
        bound = self.ctx.policies.count_bound
        outcome = await self.ctx.db.lookup(lambda c: _resolve(c, txn.mail_from, target.local, bound, ended_ok))
        if isinstance(outcome, Reply):
            return outcome
        if txn.recipients and txn.recipients[0].sender.program_id != outcome.sender.program_id:
            return replies.SEPARATE_MESSAGE
        if txn.recipients and txn.recipients[0].ended != outcome.ended:
            return replies.SEPARATE_MESSAGE
        txn.recipients.append(outcome)
        return replies.RECIPIENT_OK

    async def accept(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        ctx = self.ctx
        first = txn.recipients[0]
        assert isinstance(first, PairRecipient)
        sender = first.sender
        if normalise(inspection.from_address) != sender.email:
            return replies.FROM_MISMATCH
        if first.ended:
            return await self._accept_ended(txn, raw, inspection)
        refusal, extra_findings, auth = await screen(ctx, txn, raw, inspection)
        if refusal is not None:
            return refusal
        recipients = tuple(r.recipient for r in txn.recipients)
        pairing_id = txn.recipients[0].pairing_id
        snap = first.facts or await ctx.db.lookup(
            lambda c: lookups.pairing_facts(c, sender, pairing_id, ctx.policies.count_bound))
        policy = ctx.policies.for_program(snap.program_name)
        policy_ctx = policy_context(snap, sender, recipients, ctx.domain, auth)
        verdict = await judge(ctx, inspection, policy_ctx, policy, extra_findings)
        if isinstance(verdict, Reply):
            return verdict
        copies = [(r, new_message_id(ctx.domain, ctx.token())) for r in txn.recipients]
        return await store_and_answer(ctx, StoreMessage(ctx, txn, raw, inspection, verdict, copies, ctx.clock.now()))

    async def _accept_ended(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        """Kept, not forwarded; the former partner gets a kind automatic answer (never to an automatic message)."""
        ctx = self.ctx
        auth = await ctx.sender_check.verify(raw, txn.mail_from, txn.peer, txn.helo)
        refusal = auth_refusal(auth, strict=False)
        if refusal is not None:
            return refusal
        now = ctx.clock.now()
        first = txn.recipients[0]

        def store(session: Session) -> int:
            message_id = messages.insert_message(
                session, program_id=first.sender.program_id, kind="participant", sender_id=first.sender.id,
                pairing_id=first.pairing_id, envelope_from=txn.mail_from, envelope_rcpts=txn.rcpt_addresses,
                peer=txn.peer, helo=txn.helo[:255], received_at=now, original_message_id=inspection.message_id[:998],
                subject=inspection.subject, body_text=body_text(inspection), raw=raw, status="stored", verdict="deliver",
            )
            if not inspection.auto_submitted:
                self.answer_ended(session, first, now)
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
        return auth_refusal(auth, strict=False), [], auth
    return None, findings, auth


async def judge(ctx: IntakeContext, inspection, policy_ctx, policy, findings: list[model.Finding]) -> model.Verdict | Reply:
    """The policy table's verdict, with what the data checks found.

    Suspended senders, pairings on hold and failed sender checks are rules in
    the table like any other; a failed check that refuses answers with the
    check's own reply (550 5.7.2x) and nothing is stored.
    """
    # The rules are CPU work (phone matching on a long text takes a while): a long text goes to
    # the CPU executor, so it never waits behind the store's threads nor stalls the loop.
    size = sum(map(len, inspection.texts)) + sum(map(len, inspection.htmls))
    found = list((await cpu.run(ctx.cpu, size, evaluate, inspection, policy_ctx, policy)).findings) + findings
    refused = sender_authentication.refusal(found, policy_ctx)
    if refused is not None:
        return Reply(refused.code, refused.enhanced, refused.text)
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


def _resolve(conn: Connection, mail_from: str, local: str, count_up_to: int, ended_ok: bool = False) -> PairRecipient | Reply:
    found = lookups.pair_route(conn, mail_from, local, count_up_to)
    return _decide_rcpt(found, ended_ok)


def _decide_rcpt(found: lookups.PairRoute, ended_ok: bool) -> PairRecipient | Reply:
    """The RCPT answer from what the store said; the order of the checks is what an outsider can learn."""
    if not found.enrolled:
        return replies.NOT_ENROLLED
    recipient, sender = found.recipient, found.sender
    if recipient is None or recipient.status != "active":
        return replies.UNKNOWN_RECIPIENT
    if sender is None or sender.id == recipient.id:
        return replies.NOT_PAIRED
    if found.open_pairing is not None:
        # What the policy will ask at DATA was read in the same statement: one trip to the store.
        return PairRecipient(recipient, sender, found.open_pairing, facts=found.facts)
    if ended_ok and found.closed_pairing is not None:
        return PairRecipient(recipient, sender, found.closed_pairing, ended=True)
    return replies.NOT_PAIRED


def policy_context(
    snap: model.PairingFacts, sender: model.Participant, recipients: tuple[model.Participant, ...], domain: str,
    auth: SenderVerdict,
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
        sender_status=snap.sender_status,
        pairing_on_hold=snap.pairing_on_hold,
        auth_verdict=auth.verdict,
        auth_reason=auth.reason,
        auth_smtp_code=auth.smtp_code,
        auth_enhanced=auth.enhanced,
    )


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
        rows = connection_of(session)  # the row writes below go straight to its cursor
        message_id = messages.insert_message(
            rows,
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
        messages.insert_findings(rows, message_id, verdict.findings)
        delivery_ids: tuple[int, ...] = ()
        if action is not model.Action.REJECT and self.copies:
            delivery_status = "held" if action is model.Action.HOLD else "queued"
            copies = [
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
            delivery_ids = tuple(messages.insert_deliveries(rows, copies))
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
            directory.learn_name(session, sender.id, name, self.now)


def body_text(inspection: model.Inspection) -> str:
    text = "\n".join(inspection.texts) or "\n".join(inspection.htmls)
    return text[:100_000]
