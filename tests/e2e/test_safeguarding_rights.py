"""Export and erasure over real SMTP: the export holds the person's mail; after erasure nothing of them is left."""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from tests.e2e.test_mod_cli import RELAYCTL, relayctl
from tests.e2e.test_safeguarding_retention import store_bytes

MENTOR = "sam.rivera@mail.example.com"
MENTEE = "josephine.kim@school.example.net"
MODERATOR = "riley.moderator@staff.example.org"
SECRET = "my grandmother's village is called Whistlecombe"
REPLY = "Whistlecombe sounds like a place from a storybook"


@pytest.fixture
def env(pg_world):
    settings = pg_world.relay.settings
    values = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    values.update(RELAY_DATA_DIR=str(settings.data_dir), RELAY_DATABASE_URL=settings.database_url,
                  RELAY_DOMAIN=settings.domain)
    return values


@pytest.fixture
async def talked(pg_world):
    world = pg_world
    mentor = world.enrol(MENTOR, "mentor", "Sam")
    mentee = world.enrol(MENTEE, "mentee", "Josephine")
    world.enrol(MODERATOR, "moderator", "Riley")
    world.pair(MENTOR, MENTEE)
    assert (await world.send(MENTEE, mentor, "Where I'm from", f"Hi Sam,\n\n{SECRET}, the bus ride there is shitty.\n")).code == 250
    world.clock.advance(hours=1)
    assert (await world.send(MENTOR, mentee, "Re: Where I'm from", f"Hi Josephine,\n\n{REPLY}.\n")).code == 250
    await world.flush()
    return world, mentee


def everything_stored(world) -> str:
    """Every row of every table as text: what the database holds, whatever the backend."""
    engine = world.relay.db.engine
    out = []
    with engine.connect() as conn:
        for table in sa_inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                out.append(" ".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row))
    return "\n".join(out)


async def test_export_holds_the_persons_messages_and_record(talked, env, tmp_path):
    world, _ = talked
    out = relayctl(env, "participant", "export", MENTEE, "--out", str(tmp_path / "export")).stdout
    assert "wrote" in out
    box = mailbox.mbox(str(tmp_path / "export" / "messages.mbox"))
    bodies = [email.message_from_bytes(m.as_bytes(), policy=email.policy.default) for m in box]
    texts = [m.get_body(("plain",)).get_content() for m in bodies]
    assert any(SECRET in t for t in texts) and any(REPLY in t for t in texts)
    received = next(m for m, t in zip(bodies, texts) if REPLY in t)
    assert MENTOR not in received.as_string() and "mail.example.com" not in received.as_string()
    record = json.loads((tmp_path / "export" / "record.json").read_text())
    (me,) = record["participants"]
    assert me["email"] == MENTEE and me["handle"] == "Josephine" and me["role"] == "mentee"
    assert [p["role"] for p in record["pairings"]] == ["mentee"] and record["messages_written"] == 1
    assert any(a["action"] == "notice" for a in record["moderation_actions"])  # the flagged word notice
    missing = relayctl(env, "participant", "export", "nobody@example.org", "--out", str(tmp_path / "x"), code=1)
    assert missing.stderr.strip() == "relayctl: error: nobody is enrolled with the address nobody@example.org"


async def test_erase_leaves_neither_address_nor_text_and_the_alias_answers_550(talked, env):
    world, alias = talked
    relayctl(env, "participant", "legal-hold", MENTEE, "--reason", "safeguarding inquiry")
    refused = relayctl(env, "participant", "erase", MENTEE, "--yes", code=1)
    assert "legal hold" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert "--yes" in relayctl(env, "participant", "erase", MENTEE, code=1).stderr
    relayctl(env, "participant", "legal-hold", MENTEE, "--clear")
    assert "erased 1 enrolment(s)" in relayctl(env, "participant", "erase", MENTEE, "--yes").stdout

    stored = everything_stored(world)
    for gone in (MENTEE, "josephine", "Josephine", SECRET, REPLY, "Whistlecombe"):
        assert gone not in stored
    if world.relay.db.dialect == "sqlite":  # the files themselves, log included
        data = store_bytes(world)
        for gone in (MENTEE, "Josephine", "Whistlecombe"):
            assert gone.encode() not in data
    assert MENTOR in stored, "the other side keeps their enrolment"
    refused = await world.send(MENTOR, alias, "still there?", "Hello?")
    assert refused.code == 550 and "5.1.1" in refused.text
    unknown = await world.send(MENTOR, f"never-issued-zz9@{world.domain}", "hi", "Hello?")
    assert (refused.code, refused.text) == (unknown.code, unknown.text)
    listed = json.loads(relayctl(env, "messages", "list", "--json").stdout)
    assert len([m for m in listed if m["kind"] == "participant"]) == 2, "anonymous rows stay"
