"""The log formats, the redaction guard, and counters summed over processes."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from relay import logs
from relay.config import ConfigError
from relay.metrics import Metrics, ProcessShare, summed
from relay.store.queue import Outcome


@pytest.mark.parametrize(
    "line, expected",
    [
        ("from jo.kim@school.example.net to kind-otter-7q2@mentor.test",
         f"from {logs.REDACTED} to kind-otter-7q2@mentor.test"),
        ("peer ('127.0.0.1', 5000) sender: Sam+x@Mail.Example.COM", f"peer ('127.0.0.1', 5000) sender: {logs.REDACTED}"),
        ("bounce b-12-20000-abcdefghij@MENTOR.test", "bounce b-12-20000-abcdefghij@MENTOR.test"),
        ("no address here: 10 @ 20, user@localhost", "no address here: 10 @ 20, user@localhost"),
    ],
)
def test_redaction_keeps_relay_addresses_only(line, expected):
    assert logs.redact(line, "mentor.test") == expected


def capture(fmt: str, level=logging.INFO) -> io.StringIO:
    stream = io.StringIO()
    logs.setup(level, fmt, "mentor.test", stream=stream)
    return stream


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("mail.log").setLevel(logging.NOTSET)


def test_json_lines_carry_event_fields_and_hide_real_addresses():
    stream = capture("json")
    Metrics().message_accepted(7, "participant", "hold", 1200, 2)
    logging.getLogger("relay.test").warning("could not reach sam@mail.example.com")
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["event"] == "accepted" and first["level"] == "INFO"
    assert (first["store_id"], first["kind"], first["verdict"], first["size"], first["copies"]) == (7, "participant", "hold", 1200, 2)
    assert second["message"] == f"could not reach {logs.REDACTED}"


def test_aiosmtpd_command_lines_only_at_debug():
    stream = capture("text")
    logging.getLogger("mail.log").info("('127.0.0.1', 1) sender: jo@school.example.net")
    logging.getLogger("mail.log").warning("too many bogus commands")
    assert stream.getvalue().count("\n") == 1 and "bogus" in stream.getvalue()
    verbose = capture("text", logging.DEBUG)
    logging.getLogger("mail.log").info("('127.0.0.1', 1) sender: jo@school.example.net")
    assert " DEBUG mail.log" in verbose.getvalue()


def test_a_log_format_must_be_known():
    assert logs.log_format({}) == "text" and logs.log_format({"RELAY_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(ConfigError, match="RELAY_LOG_FORMAT"):
        logs.log_format({"RELAY_LOG_FORMAT": "xml"})


def test_counters_are_summed_over_processes(tmp_path):
    one, two = Metrics(), Metrics()
    for metrics, n in ((one, 2), (two, 3)):
        for i in range(n):
            metrics.message_accepted(i, "participant", "deliver", 100, 1)
            metrics.delivery_attempt(i, Outcome("delivered", 250, "ok", 20))
        metrics.smtp_reply("250-mentor.test")
        metrics.smtp_reply("250 OK")
    ProcessShare(tmp_path, pid=os.getpid()).write(two)  # a live process's file
    (shared,) = ProcessShare(tmp_path, pid=1).others()  # as another process reads it
    families = summed([one.samples(), shared])
    totals = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}
    assert totals[("mentor_relay_messages_accepted_total", (("kind", "participant"), ("verdict", "deliver")))] == 5
    assert totals[("mentor_relay_delivery_attempts_total", (("result", "delivered"),))] == 5
    assert totals[("mentor_relay_delivery_attempt_seconds_count", ())] == 5
    assert totals[("mentor_relay_smtp_replies_total", (("code", "250"),))] == 2


def test_a_gone_process_counts_no_more(tmp_path):
    gone = ProcessShare(tmp_path, pid=2 ** 22 + 12345)  # beyond any pid this host hands out
    gone.write(Metrics())
    assert ProcessShare(tmp_path).others() == [] and not gone.path.exists()
