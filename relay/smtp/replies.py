"""Every SMTP reply the relay gives: code, enhanced status (RFC 3463) and a text a person can act on.

One catalogue, so replies stay consistent and identical where they must be
(unknown, suspended and closed aliases give the same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    code: int
    enhanced: str
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.enhanced} {self.text}"

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def with_text(self, text: str) -> "Reply":
        return Reply(self.code, self.enhanced, text)


SENDER_OK = Reply(250, "2.1.0", "Sender OK")
RECIPIENT_OK = Reply(250, "2.1.5", "Recipient OK")


def queued(reference: str) -> Reply:
    return Reply(250, "2.0.0", f"OK: stored and queued as {reference}")


def held(reference: str) -> Reply:
    # Still a 250: the message is stored and will be delivered or accounted for.
    return Reply(250, "2.0.0", f"OK: stored as {reference}; it will be delivered after a moderator's review")


def accepted(reference: str) -> Reply:
    return Reply(250, "2.0.0", f"OK: received as {reference}")


RELAY_DENIED = Reply(554, "5.7.1", "Relay access denied: this server only accepts mail for its own addresses")
UNKNOWN_RECIPIENT = Reply(550, "5.1.1", "No such address here; check the alias you were given")
NOT_ENROLLED = Reply(
    550, "5.7.1", "Only enrolled participants can write to these addresses, and the address you wrote from is not enrolled"
)
NOT_PAIRED = Reply(
    550, "5.7.1", "You are not paired with this participant, so the message cannot be passed on; ask your program coordinator"
)
FROM_MISMATCH = Reply(
    550, "5.7.1", "The From address must be the address you are enrolled with; send from that address"
)
SEPARATE_MESSAGE = Reply(452, "4.5.3", "Please send to this address in a separate message")
TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Too many recipients for one message; send to the rest in another message")
TEMPORARY_FAILURE = Reply(
    451, "4.3.0", "Temporary problem storing your message; nothing was kept, please try again in a few minutes"
)
SHUTTING_DOWN = Reply(421, "4.3.2", "The relay is restarting; please try again in a few minutes")
BAD_SENDER_SYNTAX = Reply(501, "5.1.7", "The sender address is not a valid mailbox address")
BAD_RECIPIENT_SYNTAX = Reply(501, "5.1.3", "The recipient address is not a valid mailbox address")
NO_VALID_RECIPIENTS = Reply(554, "5.5.1", "No valid recipients")
LOOP_DETECTED = Reply(554, "5.4.6", "Mail loop detected: this message has already passed through the relay too often")


def bad_address(reason: str, recipient: bool = True) -> Reply:
    base = BAD_RECIPIENT_SYNTAX if recipient else BAD_SENDER_SYNTAX
    return base.with_text(f"{base.text}: {reason}")


def policy_rejected(reasons: str) -> Reply:
    return Reply(550, "5.7.1", f"This program's rules do not allow this message: {reasons}")


NOT_CIRCLE_MEMBER = Reply(
    550, "5.7.1", "Only members of this circle can write to it, and you are not a member; ask your program coordinator"
)
CIRCLE_EMPTY = Reply(550, "5.7.1", "This circle has no other members yet, so the message cannot be passed on")
NOT_A_MODERATOR = Reply(
    550, "5.7.1", "Only a moderator can answer a moderation notice, from the address the notice was sent to"
)
NOT_ADDRESSEE = Reply(
    550, "5.7.1", "This reply address answers only the person it was sent to, from the address it was sent to"
)
SERVICE_NOT_ENROLLED = Reply(
    550, "5.7.1", "The relay's service address only answers enrolled participants, and the address you wrote from is not enrolled"
)


def command_answered(reference: str) -> Reply:
    return Reply(250, "2.0.0", f"OK: command received as {reference}; the answer comes by email")


def conversation_ended(reference: str) -> Reply:
    return Reply(250, "2.0.0", f"OK: stored as {reference}; this conversation has ended, so it was not passed on")

# --- the door: protocol hardening and abuse limits ---------------------------------

BARE_LINE_ENDING = Reply(
    550, "5.5.2", "Message refused: a line ends with a bare CR or LF; lines must end with CRLF (RFC 5321 2.3.8)"
)
NUL_IN_DATA = Reply(550, "5.5.2", "Message refused: it contains a NUL character, which mail may not carry")
NUL_IN_COMMAND = Reply(501, "5.5.2", "Syntax error: NUL characters are not allowed in commands")
COMMAND_TOO_LONG = Reply(500, "5.5.2", "Command line too long; see RFC 5321 4.5.3.1.4")
BAD_SYNTAX = Reply(500, "5.5.2", "Syntax error: command not understood")
UNKNOWN_COMMAND = Reply(500, "5.5.1", "Command not recognized")
NON_ASCII_COMMAND = Reply(500, "5.5.2", "Syntax error: the command name must be ASCII")


def line_too_long(limit: int) -> Reply:
    return Reply(
        500, "5.5.2", f"Message refused: a line is longer than {limit} bytes, the most this relay takes; send it as an attachment"
    )


def size_limit(limit: int) -> Reply:
    return Reply(552, "5.3.4", f"Message too big for this relay: the limit is {limit} bytes")


def header_too_big(limit: int) -> Reply:
    return Reply(552, "5.3.4", f"Message refused: its header section is larger than {limit} bytes")


def mime_too_deep(limit: int) -> Reply:
    return Reply(554, "5.6.0", f"Message refused: MIME parts are nested deeper than {limit} levels")


def malformed_headers(problems: str) -> Reply:
    return Reply(550, "5.6.0", f"Message refused: its headers are ambiguous or unsafe ({problems})")


TOO_MANY_CONNECTIONS = Reply(421, "4.7.0", "Too many connections from your address; please try again later")
TOO_MANY_FAILED_RECIPIENTS = Reply(
    421, "4.7.0", "Too many refused recipients from your address; closing the connection, try again later"
)


def too_many_messages(per_hour: int) -> Reply:
    return Reply(450, "4.7.1", f"You have sent {per_hour} messages in the last hour, this program's limit; please try again later")


def postmaster_accepted(reference: str) -> Reply:
    return Reply(250, "2.0.0", f"OK: received as {reference}; the relay's staff will read it")
