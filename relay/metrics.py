"""What the relay counts and what the store shows, for Prometheus at ``/metrics`` and for ``/healthz``.

``Metrics`` holds this process's counters (messages accepted by verdict,
delivery attempts by result, SMTP replies by code, messages slowed by the
in-flow control) in a registry of its own;
the service builds one and hands it to the intake and the workers, which
also makes each count write its operator log line. Queue depth, the age of
the oldest queued delivery, held messages and overdue reminders are read
from the store at scrape time, one SQL statement each, so every host shows
the same figures. With ``--processes N`` each process writes its counters
to a small file under the data directory and a scrape sums them all.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from sqlalchemy import func, select

from relay import logs
from relay.store.tables import Delivery, Job, Message

log = logging.getLogger(__name__)

PREFIX = "mentor_relay_"
QUEUE_STATUSES = ("held", "queued", "sending", "deferred")
WAITING_STATUSES = ("queued", "sending", "deferred")
OVERDUE_AFTER = timedelta(minutes=5)  # the scheduler ticks every minute: five missed ticks are news


class Metrics:
    """This process's counters; each method also writes the matching log line."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(PREFIX + "messages_accepted", "Messages answered 250, by kind and verdict",
                                ["kind", "verdict"], registry=r)
        self.rejected = Counter(PREFIX + "messages_rejected", "Messages stored and refused by the policy, by kind",
                                ["kind"], registry=r)
        self.deliveries = Counter(PREFIX + "delivery_attempts", "Delivery attempts recorded, by result",
                                  ["result"], registry=r)
        self.delivery_seconds = Histogram(PREFIX + "delivery_attempt_seconds", "Time taken by one delivery attempt",
                                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=r)
        self.smtp_replies = Counter(PREFIX + "smtp_replies", "SMTP replies sent, by code", ["code"], registry=r)
        self.in_flow_delays = Counter(PREFIX + "in_flow_delays", "Messages whose MAIL FROM waited for delivery to catch up",
                                      registry=r)
        self._children: dict[tuple, Any] = {}  # labelled series, looked up once (labels() takes a lock)

    def _child(self, counter: Counter, *labels: str):
        key = (id(counter), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        return child

    def message_accepted(self, store_id: int, kind: str, verdict: str, size: int, copies: int) -> None:
        if verdict == "reject":
            self._child(self.rejected, kind).inc()
            logs.event("rejected", store_id=store_id, kind=kind, verdict=verdict, size=size)
            return
        self._child(self.accepted, kind, verdict).inc()
        logs.event("accepted", store_id=store_id, kind=kind, verdict=verdict, size=size, copies=copies)

    def delivery_attempt(self, delivery_id: int, outcome: Any) -> None:
        """``outcome``: the recorded ``relay.store.queue.Outcome``."""
        self._child(self.deliveries, outcome.status).inc()
        self.delivery_seconds.observe(outcome.duration_ms / 1000)
        logs.event("delivery", delivery_id=delivery_id, result=outcome.status, code=outcome.code,
                   ms=outcome.duration_ms)

    def in_flow_delayed(self) -> None:
        self.in_flow_delays.inc()

    def smtp_reply(self, status: str) -> None:
        code = status[:3]
        if code.isdigit() and status[3:4] != "-":  # a multi-line reply counts once, at its last line
            self._child(self.smtp_replies, code).inc()

    def samples(self) -> list[dict]:
        """This process's counters as plain data (what a process shares with the others)."""
        return [
            {"name": m.name, "documentation": m.documentation, "type": m.type,
             "samples": [[s.name, s.labels, s.value] for s in m.samples if not s.name.endswith("_created")]}
            for m in self.registry.collect()
        ]


def summed(processes: Iterable[list[dict]]) -> list[Metric]:
    """The families of several processes, each sample summed over them."""
    families: dict[str, Metric] = {}
    totals: dict[str, dict[tuple, float]] = {}
    for families_data in processes:
        for data in families_data:
            family = families.setdefault(data["name"], Metric(data["name"], data["documentation"], data["type"]))
            bucket = totals.setdefault(family.name, {})
            for name, labels, value in data["samples"]:
                key = (name, tuple(sorted(labels.items())))
                bucket[key] = bucket.get(key, 0.0) + value
    for name, family in families.items():
        for (sample, labels), value in totals[name].items():
            family.add_sample(sample, dict(labels), value)
    return list(families.values())


class ProcessShare:
    """Counters of the relay processes on one host, one file per process, summed at scrape time."""

    def __init__(self, directory: Path, pid: int | None = None) -> None:
        self.directory = directory
        self.pid = pid or os.getpid()
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.pid}.json"

    def write(self, metrics: Metrics) -> None:
        tmp = self.directory / f".{self.pid}.tmp"
        tmp.write_text(json.dumps(metrics.samples()))
        tmp.replace(self.path)

    def others(self) -> list[list[dict]]:
        found = []
        for path in self.directory.glob("*.json"):
            if path.stem == str(self.pid):
                continue
            if not path.stem.isdigit() or not _alive(int(path.stem)):
                path.unlink(missing_ok=True)  # a process that is gone counts no more
                continue
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # being replaced right now; the next scrape has it
        return found

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def store_gauges(session, now) -> list[Metric]:
    """The figures the store knows, the same on every host: one statement each."""
    depth = GaugeMetricFamily(PREFIX + "queue_depth", "Deliveries not yet finished, by status", labels=["status"])
    counts = dict(session.exec(
        select(Delivery.status, func.count()).where(Delivery.status.in_(QUEUE_STATUSES)).group_by(Delivery.status)
    ).all())
    for status in QUEUE_STATUSES:
        depth.add_metric([status], counts.get(status, 0))
    oldest = session.exec(select(func.min(Delivery.created_at)).where(Delivery.status.in_(WAITING_STATUSES))).one()[0]
    age = GaugeMetricFamily(PREFIX + "oldest_queued_delivery_seconds",
                            "Age of the oldest delivery waiting to be sent (0 when none waits)")
    age.add_metric([], max(0.0, (now - _aware(oldest)).total_seconds()) if oldest else 0.0)
    held = GaugeMetricFamily(PREFIX + "held_messages", "Messages held, awaiting a moderator")
    held.add_metric([], session.exec(select(func.count()).select_from(Message).where(Message.status == "held")).one()[0])
    overdue = GaugeMetricFamily(PREFIX + "overdue_reminders",
                                f"Reminders due more than {int(OVERDUE_AFTER.total_seconds() // 60)} minutes ago and not yet sent")
    overdue.add_metric([], session.exec(
        select(func.count()).select_from(Job).where(
            Job.kind == "reminder", Job.status.in_(("pending", "running")), Job.due_at < now - OVERDUE_AFTER)
    ).one()[0])
    return [depth, age, held, overdue]


def _aware(value):
    from relay.clock import as_utc

    return as_utc(value)


class _Families:
    """A collector that yields families computed elsewhere (for one exposition)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def exposition(metrics: Metrics, share: ProcessShare | None, store: list[Metric]) -> bytes:
    """Prometheus text for this scrape: counters (summed over processes) and the store's gauges."""
    mine = metrics.samples()
    counters = summed([mine, *(share.others() if share else [])])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(counters + store))
    return generate_latest(registry)
