"""Notices to moderators for flagged, held and urgent messages, each answerable by reply.

Runs as an after-store hook, so the notices commit with the message. Every
active moderator of the program gets a notice whose Reply-To carries a
token of their own: random, single-use, bound to that message and that
moderator, and valid for ``TOKEN_LIFETIME`` (the store keeps only its
hash). Real addresses in the quoted text are replaced by aliases, and
attachments are listed, never attached.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Mapping

from sqlmodel import Session

from relay import model, notices
from relay.intake.parse import html_to_text
from relay.moderation.tokens import make_token, moderation_local_part, token_hash
from relay.outbound.scrub import scrub_text
from relay.store import directory, moderation
from relay.store.tables import Circle, Message, Pairing, Participant, Program

log = logging.getLogger(__name__)

TOKEN_LIFETIME = timedelta(days=7)  # a notice can be answered for a week
MAX_QUOTED = 20_000  # characters of the message's text quoted in a notice

_DONE = {
    model.Action.HOLD: "Held: it will not be delivered until a moderator approves it.",
    model.Action.FLAG: "Delivered, and flagged for your attention.",
    model.Action.DELIVER: "Delivered.",
    model.Action.REJECT: "Refused when it was sent: the sender's server reports the failure to them.",
}


def wants_notice(verdict: model.Verdict) -> bool:
    return verdict.action in (model.Action.FLAG, model.Action.HOLD) or verdict.urgent


def highlight(excerpt: str, match: str) -> tuple[str, str, str]:
    """(before, match, after): the matched text found in the excerpt, whatever its case."""
    if match:
        at = excerpt.lower().find(match.lower())
        if at >= 0:
            return excerpt[:at], excerpt[at : at + len(match)], excerpt[at + len(match) :]
    return excerpt, "", ""


def message_text(inspection: model.Inspection) -> str:
    texts = [t for t in inspection.texts if t.strip()]
    text = "\n\n".join(texts) if texts else "\n\n".join(html_to_text(h) for h in inspection.htmls)
    if len(text) > MAX_QUOTED:
        text = text[:MAX_QUOTED] + "\n[… the rest is cut here; see relayctl messages show]"
    return text.strip()


def notice_context(
    stored: model.StoredMessage,
    where: str,
    address_map: Mapping[str, str],
    name_map: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the notice templates show, with real addresses and names already masked. Pure."""
    names = dict(name_map or {})

    def mask(text: str) -> str:
        return scrub_text(text, address_map, names) if text else ""

    findings = []
    for f in stored.verdict.findings:
        before, match, after = highlight(mask(f.excerpt), mask(f.match))
        findings.append(
            {"rule": f.rule, "action": f.action.value, "reason": mask(f.reason), "urgent": f.severity is model.Severity.URGENT,
             "excerpt": bool(f.excerpt), "before": before, "match": match, "after": after}
        )
    inspection = stored.inspection
    return {
        "message_id": stored.id,
        "urgent": stored.verdict.urgent,
        "held": stored.verdict.action is model.Action.HOLD,
        "action": stored.verdict.action.value,
        "done": _DONE[stored.verdict.action],
        "where": where,
        "sender_handle": stored.sender.handle,
        "sender_role": stored.sender.role.value,
        "recipients": [r.handle for r in stored.recipients],
        "received": f"{stored.received_at:%Y-%m-%d %H:%M} UTC",
        "subject": mask(inspection.subject) or "(no subject)",
        "findings": findings,
        "text": mask(message_text(inspection)),
        "attachments": [
            {"filename": mask(a.filename) or "(no name)", "content_type": a.content_type, "size": a.size}
            for a in inspection.attachments
        ],
        "problems": list(inspection.problems),
    }


def conversation_label(session: Session, message: Message, viewer_id: int | None = None) -> str:
    """'circle NAME', 'pairing A (mentor) and B (mentee)', or for one side, 'your conversation with B'."""
    if message.circle_id is not None:
        circle = session.get(Circle, message.circle_id)
        return f"circle {circle.name}" if circle else "a circle"
    pairing = session.get(Pairing, message.pairing_id) if message.pairing_id else None
    if pairing is None:
        return "no pairing"
    mentor = session.get(Participant, pairing.mentor_id)
    mentee = session.get(Participant, pairing.mentee_id)
    if viewer_id in (pairing.mentor_id, pairing.mentee_id):
        other = mentee if viewer_id == pairing.mentor_id else mentor
        return f"your conversation with {other.handle}"
    return f"pairing {mentor.handle} (mentor) and {mentee.handle} (mentee)"


@dataclass
class NoticePlanner:
    """The after-store hook: plan notices (and the sender's "being reviewed" note) with the message."""

    env: Any
    domain: str
    secret: bytes
    policies: Any  # relay.policy.loader.PolicySet
    random_part: Callable[[], str]
    new_message_id: Callable[[], str]
    token_lifetime: timedelta = TOKEN_LIFETIME

    def __call__(self, session: Session, stored: model.StoredMessage) -> None:
        if not wants_notice(stored.verdict):
            return
        message = session.get(Message, stored.id)
        program = session.get(Program, stored.program_id)
        people = directory.program_participants(session, stored.program_id)
        address_map, name_map = directory.masking_maps(people, self.domain)
        context = notice_context(stored, conversation_label(session, message), address_map, name_map)
        moderators = moderation.active_moderators(session, stored.program_id)
        if not moderators:
            log.warning("M%s needs a moderator but program %s has none", stored.id, program.name)
        for moderator in moderators:
            self._notify(session, stored, moderator, context)
        policy = self.policies.for_program(program.name)
        if stored.verdict.action is model.Action.HOLD and policy.notify_sender_on_hold:
            self._tell_sender(session, stored, message)

    def issue_token(self, session: Session, message_id: int, moderator_id: int, now) -> str:
        """A fresh reply address for one moderator and one message."""
        token = make_token(self.secret, self.random_part())
        moderation.insert_token(session, token_hash(token), message_id, moderator_id, now, now + self.token_lifetime)
        return f"{moderation_local_part(token)}@{self.domain}"

    def _notify(self, session: Session, stored: model.StoredMessage, moderator: Participant, context: dict) -> None:
        now = stored.received_at
        reply_to = self.issue_token(session, stored.id, moderator.id, now)
        notices.notify(
            session, self.env, "moderation_notice", {**context, "moderator": moderator.handle, "reply_to": reply_to,
                                                     "expires": f"{now + self.token_lifetime:%Y-%m-%d %H:%M} UTC"},
            person=moderator, kind="moderation", domain=self.domain, now=now, masked_id=self.new_message_id(),
            message_id=stored.id, from_name="mentor-relay moderation", reply_to=reply_to,
        )
        moderation.record_action(session, message_id=stored.id, actor_id=None, actor="relay", action="notice",
                                 argument=f"to {moderator.handle} ({stored.verdict.action.value})", via="relay",
                                 at=now, outcome="done")

    def _tell_sender(self, session: Session, stored: model.StoredMessage, message: Message) -> None:
        sender = stored.sender
        context = {"handle": sender.handle, "subject": message.subject or "(no subject)",
                   "where": conversation_label(session, message, viewer_id=sender.id)}
        notices.notify(session, self.env, "sender_held", context, person=sender, kind="notice", domain=self.domain,
                       now=stored.received_at, masked_id=self.new_message_id(), message_id=stored.id)
