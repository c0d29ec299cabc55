"""Mail from a member to a circle's alias: check, decide once, store one message, fan out.

RCPT: the envelope sender must be enrolled (checked first, so outsiders learn
nothing about which aliases exist) and an active member of the circle. A
reply-all from an ordinary client also names members' own aliases (To: the
circle, Cc: the writer); those are taken into the circle transaction and
delivered once, through the circle. DATA: the same checks as a pairing's
(From, data checks, sender authentication, policy), then one Message row and
one delivery per member who reads message by message, all in one
transaction before the 250. Digest readers get nothing now: the daily digest
reads the circle's messages. A hold keeps every copy until one decision.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session

from relay import model
from relay.addresses import normalise
from relay.intake.accept import Transaction
from relay.intake.classify import Target
from relay.intake.context import IntakeContext
from relay.intake.recipients import CircleInfo, CircleRecipient
from relay.intake.participant_mail import StoreMessage as _PairingStore
from relay.intake.participant_mail import judge, policy_context, screen, store_and_answer
from relay.outbound.message_ids import new_message_id
from relay.smtp import replies
from relay.smtp.replies import Reply
from relay.store import circles, directory, lookups
from relay.store.tables import Circle


@dataclass(frozen=True)
class _Fanout:
    copies: tuple[CircleRecipient, ...]
    writer_id: int


class CircleRoute:
    # Participant aliases of the same circle's members may share a circle transaction (reply-all).
    gathers = frozenset({"participant"})

    def __init__(self, ctx: IntakeContext) -> None:
        self.ctx = ctx

    async def check_rcpt(self, txn: Transaction, target: Target) -> Reply:
        if target.kind == "participant":
            return await self._gather(txn, target)
        outcome = await self.ctx.db.read(lambda s: _resolve(s, txn.mail_from, target.local))
        if isinstance(outcome, Reply):
            return outcome
        current = _circle_of(txn)
        if current is not None:
            return replies.RECIPIENT_OK if current.id == outcome.copies[0].circle.id else replies.SEPARATE_MESSAGE
        # Member aliases named before the circle's (Cc before To) are folded in, or sent apart.
        known = {c.recipient.id for c in outcome.copies} | {outcome.writer_id}
        if any(r.recipient.id not in known for r in txn.recipients):
            return replies.SEPARATE_MESSAGE
        txn.recipients[:] = list(outcome.copies)
        return replies.RECIPIENT_OK

    async def _gather(self, txn: Transaction, target: Target) -> Reply:
        """A member's own alias in a circle transaction: they already get the circle's copy."""
        circle = _circle_of(txn)
        person = await self.ctx.db.read(lambda s: directory.participant_by_alias(s, target.local))
        if circle is None or person is None:
            return replies.SEPARATE_MESSAGE
        members = {c.recipient.id for c in txn.recipients} | {txn.recipients[0].sender.id}
        return replies.RECIPIENT_OK if person.id in members else replies.SEPARATE_MESSAGE

    async def accept(self, txn: Transaction, raw: bytes, inspection: model.Inspection) -> Reply:
        ctx = self.ctx
        first = txn.recipients[0]
        assert isinstance(first, CircleRecipient)
        sender, circle = first.sender, first.circle
        if normalise(inspection.from_address) != sender.email:
            return replies.FROM_MISMATCH
        refusal, extra_findings, auth = await screen(ctx, txn, raw, inspection)
        if refusal is not None:
            return refusal
        recipients = tuple(c.recipient for c in txn.recipients)
        snap, count = await ctx.db.read(lambda s: (lookups.pairing_facts(s.connection(), sender, None), circles.count_messages(s, circle.id)))
        policy = ctx.policies.for_program(snap.program_name)
        policy_ctx = policy_context(snap, sender, recipients, ctx.domain, auth)
        # A circle's first messages count like a new pairing's; its own address is known, not contact data.
        policy_ctx = replace(
            policy_ctx,
            pairing_message_count=count,
            known_addresses=policy_ctx.known_addresses | {f"{circle.alias}@{ctx.domain}"},
        )
        verdict = await judge(ctx, inspection, policy_ctx, policy, extra_findings)
        if isinstance(verdict, Reply):
            return verdict
        copies = [(c, new_message_id(ctx.domain, ctx.token())) for c in txn.recipients if c.mode == "each"]
        return await store_and_answer(ctx, _Store(ctx, txn, raw, inspection, verdict, copies, ctx.clock.now()))


def _circle_of(txn: Transaction) -> CircleInfo | None:
    first = txn.recipients[0] if txn.recipients else None
    return first.circle if isinstance(first, CircleRecipient) else None


def _resolve(session: Session, mail_from: str, local: str) -> _Fanout | Reply:
    senders = directory.participants_by_email(session, mail_from)
    if not senders:
        return replies.NOT_ENROLLED
    circle = circles.circle_by_alias(session, local)
    if circle is None or circle.status != "active":
        return replies.UNKNOWN_RECIPIENT
    sender = next((p for p in senders if p.program_id == circle.program_id), None)
    rows = circles.members(session, circle.id)
    if sender is None or sender.status == "left" or all(p.id != sender.id for _, p in rows):
        return replies.NOT_CIRCLE_MEMBER
    info = _info(circle)
    writer = directory.to_value(sender)
    copies = tuple(
        CircleRecipient(directory.to_value(p), writer, info, m.delivery_mode)
        for m, p in rows
        if p.id != sender.id and p.status == "active"
    )
    if not copies:
        return replies.CIRCLE_EMPTY
    return _Fanout(copies, sender.id)


def _info(circle: Circle) -> CircleInfo:
    return CircleInfo(circle.id, circle.program_id, circle.name, circle.handle, circle.alias)


class _Store(_PairingStore):
    """The one transaction for an accepted circle message: the same rows, kept under the circle."""

    kind = "circle"

    def where(self, first: CircleRecipient) -> tuple[int | None, int | None]:
        return None, first.circle.id

    def status_for(self, action: model.Action) -> str:
        status = super().status_for(action)
        return "stored" if status == "queued" and not self.copies else status  # all read the digest
