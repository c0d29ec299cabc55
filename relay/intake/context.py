"""What every intake route needs from the outside world, built once by the service."""

from __future__ import annotations

import concurrent.futures
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable

from relay.clock import Clock
from relay.metrics import Metrics
from relay.store.db import Database
from relay.store.writer import BatchWriter

# Hooks run inside the accepting transaction, after the message rows exist:
# hook(session, stored) -> None. Later stages (moderation notices, reminder
# clocks, away notes) plan their own rows here so they commit with the message.
AfterStore = Callable[[Any, Any], None]


# Checks run at DATA before the policy, for participant and circle mail:
# await check(txn, raw, inspection) -> a Reply to refuse, a list of Findings to add, or None.
DataCheck = Callable[[Any, bytes, Any], Awaitable[Any]]


@dataclass
class IntakeContext:
    db: Database
    writer: BatchWriter
    clock: Clock
    domain: str
    policies: Any  # relay.policy.loader.PolicySet
    sender_check: Any  # relay.intake.sender.SenderCheck
    secret: bytes = b""
    wake_outbound: Callable[[], None] = lambda: None
    lifetime: timedelta = timedelta(days=5)
    notice_lifetime: timedelta = timedelta(days=2)
    after_store: tuple[AfterStore, ...] = ()
    data_checks: tuple[DataCheck, ...] = ()
    # Parsing and the policy are CPU work: their own threads, never the database's.
    cpu: concurrent.futures.Executor | None = None
    token: Callable[[], str] = lambda: secrets.token_hex(12)
    entropy: Callable[[], bytes] = lambda: secrets.token_bytes(16)
    metrics: Metrics = field(default_factory=Metrics)  # counts and logs each accepted message
