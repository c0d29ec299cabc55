"""What a moderator's answer does to a message: approve, redact, reject, hold, suspend, note, help.

Used by replies to notices and by ``relayctl mod``; both record who did what,
when and how. The first approve or reject decides a held message: the same
answer again is a no-op that says so, the opposite answer is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlmodel import Session

from relay import notices
from relay.store import messages, moderation, queue
from relay.store.tables import Message, Pairing, Participant

_PAST = {"approve": "approved", "reject": "rejected", "redact": "redacted"}

VERBS = ("approve", "redact", "reject", "hold", "suspend", "note", "help")

HELP = """Answer a notice by replying with one of these words on the first line:

  approve            deliver the held message
  redact             deliver it with what held it (phone numbers, addresses, handles, links)
                     replaced by [removed by the program]; the sender is told what was removed
  reject <reason>    do not deliver it; the sender is told the reason
  hold               hold this pairing's next messages until a moderator approves each one
  suspend            suspend the sender: their messages are held until a coordinator restores them
  note <text>        add a note to the message's record
  help               this list

The first valid answer wins; everything is recorded."""


@dataclass(frozen=True)
class Desk:
    """What applying an answer needs from outside: templates, domain, time and new Message-IDs."""

    env: Any
    domain: str
    now: datetime
    new_message_id: Callable[[], str]
    lifetime: timedelta = timedelta(days=5)


@dataclass(frozen=True)
class Result:
    verb: str
    outcome: str  # done | noop | refused
    text: str  # one or two sentences for the moderator
    message_id: int | None = None


def apply(
    session: Session,
    desk: Desk,
    *,
    message_id: int,
    verb: str,
    argument: str = "",
    actor_id: int | None,
    actor: str,
    via: str,
) -> Result:
    """Apply one answer to one message and record it, in the caller's transaction."""
    message = moderation.lock_message(session, message_id)
    if message is None or message.kind not in ("participant", "circle"):
        result = Result(verb, "refused", f"There is no participant message M{message_id}.")
        return result if message is None else _record(session, desk, result, message_id, argument, actor_id, actor, via)
    handler = _HANDLERS.get(verb)
    if handler is None:
        result = Result(verb, "refused", "That answer was not understood; nothing was changed.\n\n" + HELP, message_id)
    else:
        result = handler(session, desk, message, argument)
    return _record(session, desk, result, message_id, argument, actor_id, actor, via)


def _record(session, desk: Desk, result: Result, message_id, argument, actor_id, actor, via) -> Result:
    moderation.record_action(
        session,
        message_id=message_id,
        actor_id=actor_id,
        actor=actor,
        action=result.verb if result.verb in VERBS else "unknown",
        argument=argument,
        via=via,
        at=desk.now,
        outcome=result.outcome,
    )
    return result


def _decided(session: Session, message: Message, verb: str) -> Result | None:
    """The answer to an approve or reject when the message is already decided, else None."""
    earlier = moderation.decision(session, message.id)
    if earlier is None:
        return None
    past = _PAST[earlier.action]
    by = f" by {_actor_label(session, earlier)} at {earlier.at:%Y-%m-%d %H:%M} UTC"
    if earlier.action == verb:
        return Result(verb, "noop", f"M{message.id} was already {past}{by}; nothing more was done.", message.id)
    return Result(verb, "refused", f"M{message.id} was already {past}{by}, so it cannot be {_PAST[verb]} now.", message.id)


def _actor_label(session: Session, action) -> str:
    if action.actor_id is not None:
        person = session.get(Participant, action.actor_id)
        if person is not None:
            return person.handle
    return action.actor or "someone"


def _approve(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    decided = _decided(session, message, "approve")
    if decided is not None:
        return decided
    from relay.safeguarding.consent import waits_for_consent

    if message.status == "held" and waits_for_consent(session, message):
        return Result("approve", "done", f"M{message.id} is approved; it will be delivered once the family's "
                      "consent is recorded.", message.id)
    released = queue.release_held(session, message.id, desk.now, desk.lifetime)
    if released == 0:
        return Result("approve", "noop", f"M{message.id} was not held (it is {message.status}); nothing to release.", message.id)
    return Result("approve", "done", f"M{message.id} is approved and on its way ({released} copy/copies).", message.id)


def _redact(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    from relay.safeguarding.redaction import redact_held, tell_writer

    decided = _decided(session, message, "redact")
    if decided is not None:
        return decided
    if message.status != "held":
        return Result("redact", "noop", f"M{message.id} was not held (it is {message.status}); nothing to redact.", message.id)
    done = redact_held(session, message, desk.domain, desk.now, desk.lifetime)
    if done is None:
        return Result("redact", "refused", f"M{message.id} has nothing the program can remove; answer approve or reject.", message.id)
    tell_writer(session, desk, message, done.removed)
    copies = f"{done.released} copy/copies" if done.released else "it waits for the family's consent"
    return Result("redact", "done", f"M{message.id} is on its way without {', '.join(done.removed)} "
                  f"({copies}); the sender was told.", message.id)


def _reject(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    decided = _decided(session, message, "reject")
    if decided is not None:
        return decided
    reason = argument.strip()
    if not reason:
        return Result("reject", "refused", "Please give a reason: reply with  reject <reason>  (the sender is told it).", message.id)
    cancelled = queue.cancel_held(session, message.id, f"rejected by a moderator: {reason}"[:2000])
    if cancelled == 0:
        return Result(
            "reject", "refused",
            f"M{message.id} was not held (it is {message.status}), so it cannot be rejected; "
            "reply  hold  to hold the pairing's next messages, or  suspend  to hold the sender's.",
            message.id,
        )
    messages.set_status(session, message.id, "rejected")
    _tell_sender(session, desk, message, reason)
    return Result("reject", "done", f"M{message.id} is rejected; the sender was told: {reason}", message.id)


def _tell_sender(session: Session, desk: Desk, message: Message, reason: str) -> None:
    from relay.moderation.notice import conversation_label

    sender = session.get(Participant, message.sender_id)
    if sender is None:
        return
    context = {"handle": sender.handle, "subject": message.subject or "(no subject)",
               "where": conversation_label(session, message, viewer_id=sender.id), "reason": reason}
    notices.notify(session, desk.env, "sender_rejected", context, person=sender, kind="notice", domain=desk.domain,
                   now=desk.now, masked_id=desk.new_message_id(), message_id=message.id)


def _hold(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    pairing = session.get(Pairing, message.pairing_id) if message.pairing_id else None
    if pairing is None:
        return Result("hold", "refused", f"M{message.id} is not part of a pairing; reply  suspend  to hold the sender's mail.", message.id)
    if pairing.held_by_moderator:
        return Result("hold", "noop", "This pairing's messages were already being held; nothing more was done.", message.id)
    pairing.held_by_moderator = True
    session.add(pairing)
    return Result("hold", "done", "This pairing's next messages will be held until a moderator approves each one.", message.id)


def _suspend(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    sender = session.get(Participant, message.sender_id) if message.sender_id else None
    if sender is None:
        return Result("suspend", "refused", f"M{message.id} has no known sender to suspend.", message.id)
    if sender.status == "suspended":
        return Result("suspend", "noop", f"{sender.handle} was already suspended; nothing more was done.", message.id)
    sender.status = "suspended"
    session.add(sender)
    return Result("suspend", "done", f"{sender.handle} is suspended: their messages are held for review.", message.id)


def _note(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    if not argument.strip():
        return Result("note", "refused", "A note needs text: reply with  note <text>.", message.id)
    return Result("note", "done", f"Your note on M{message.id} is recorded.", message.id)


def _help(session: Session, desk: Desk, message: Message, argument: str) -> Result:
    return Result("help", "noop", HELP, message.id)


_HANDLERS = {
    "approve": _approve,
    "redact": _redact,
    "reject": _reject,
    "hold": _hold,
    "suspend": _suspend,
    "note": _note,
    "help": _help,
}
