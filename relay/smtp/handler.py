"""aiosmtpd hooks, kept thin: they translate SMTP events for the intake and its replies back."""

from __future__ import annotations

import logging

from relay.addresses import AddressError, validate_mailbox
from relay.flow import InFlow
from relay.intake.accept import Intake, Transaction
from relay.smtp import replies

log = logging.getLogger(__name__)


class RelayHandler:
    def __init__(self, intake: Intake, inflow: InFlow | None = None) -> None:
        self.intake = intake
        self.inflow = inflow or InFlow(delay=0)  # while delivery lags, MAIL is answered a little later
        self.door = intake.door  # the protocol counts connections and reads DATA within its limits
        self.draining = False
        self.on_reply = lambda status: None  # the service counts replies by code
        self.on_delay = lambda: None  # and messages the in-flow control slowed

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options: list[str]) -> str:
        if self.draining:
            return str(replies.SHUTTING_DOWN)
        if await self.inflow.admit():
            self.on_delay()
        if address.strip() == "<>":  # aiosmtpd hands the null sender over as "<>"
            address = ""
        if address:  # the null sender is allowed: bounces arrive with it
            try:
                address = validate_mailbox(address)
            except AddressError as error:
                return str(replies.bad_address(str(error), recipient=False))
        envelope.mail_from = address or "<>"  # aiosmtpd wants a true value before RCPT
        envelope.mail_options.extend(mail_options)
        envelope.relay_txn = Transaction(
            peer=_peer_ip(session.peer), helo=session.host_name or "", mail_from=address
        )
        return str(replies.SENDER_OK)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        txn: Transaction = envelope.relay_txn
        reply = await self.intake.rcpt(txn, address)
        if reply.ok:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return str(reply)

    async def handle_DATA(self, server, session, envelope) -> str:
        txn: Transaction = envelope.relay_txn
        return str(await self.intake.data(txn, envelope.original_content or b""))

    async def handle_exception(self, error: Exception) -> str:
        # Never aiosmtpd's "500 Error: (...)": it is permanent and leaks internals.
        log.error("SMTP session error: %r", error)
        return str(replies.TEMPORARY_FAILURE)


def _peer_ip(peer) -> str:
    if isinstance(peer, (tuple, list)) and peer:
        return str(peer[0])
    return str(peer or "")
