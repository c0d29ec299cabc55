"""A coordinator's first day over real SMTP: a spreadsheet in, a welcome to each side, and the first reply through.

relayctl runs in this process on the test relay's store and takes today
from the system clock; the relay's clock is moved to that moment before it
delivers, so nothing here depends on the date the suite runs.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import select

from relay.cli.main import main
from relay.clock import SystemClock
from relay.store.tables import Delivery, Participant
from tests.e2e.test_care import cli_env, plain, to

SAM, ALEX = "sam.rivera@mail.example.com", "alex.li@mail.example.com"
JO, RIA = "jo.kim@school.example.net", "ria.patel@school.example.net"
REAL = (SAM, ALEX, JO, RIA, "mail.example.com", "school.example.net")

# Saved from a spreadsheet: byte-order mark, CRLF, quoted fields, spaces around values, header in any case.
PEOPLE = (
    "\ufeffEmail, Role ,Handle,Timezone,guardian_email\r\n"
    f"{SAM},mentor,Sam,Europe/London,\r\n"
    f" {ALEX} , Mentor ,\"Alex, the chemist\",Europe/London,\r\n"
    f"\"{JO}\",mentee,Jo,Europe/London,parent.kim@home.example.org\r\n"
    f"{RIA},mentee,Ria,Europe/London,\r\n"
).encode("utf-8")
PAIRS = f"\ufeffmentor_email,mentee_email\r\n{SAM},{JO}\r\n{ALEX},{RIA}\r\n".encode("utf-8")


@pytest.fixture
def world(pg_world):
    """The whole relay, on SQLite and (when configured) PostgreSQL."""
    return pg_world


@pytest.fixture
def relayctl(world, monkeypatch, capsys):
    """relayctl's own entry point on the test relay's store; returns (exit code, stdout, stderr)."""
    cli_env(world, monkeypatch)

    async def run(*args: str):
        code = await asyncio.to_thread(main, list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


async def deliver_now(world):
    """relayctl queued on the system clock: let the relay's clock catch up, then deliver."""
    world.clock.set(max(world.clock.now(), SystemClock().now()) + timedelta(minutes=1))
    await world.flush()


def alias_of(world, email: str) -> str:
    row = world.relay.db.run_sync(lambda s: s.exec(select(Participant).where(Participant.email == email)).one())
    return f"{row.alias}@{world.domain}"


async def test_a_spreadsheet_imports_pairs_and_each_side_is_welcomed_and_can_reply(world, relayctl, tmp_path):
    assert (await relayctl("init"))[0] == 0
    code, out, err = await relayctl("participant", "import", write(tmp_path, "people.csv", PEOPLE))
    assert code == 0, err
    assert "created 4, 0 unchanged" in out
    guardian = world.relay.db.run_sync(lambda s: s.exec(select(Participant.guardian_email).where(Participant.email == JO)).one())
    assert guardian == "parent.kim@home.example.org"
    code, out, err = await relayctl("participant", "import", write(tmp_path, "people.csv", PEOPLE))
    assert code == 0 and "nothing to do" in out and "4 unchanged" in out

    code, out, err = await relayctl("pair", "--csv", write(tmp_path, "pairs.csv", PAIRS))
    assert code == 0, err
    assert "paired 2, 0 unchanged; 4 welcome(s) queued" in out
    await deliver_now(world)

    for person, partner, handle in ((SAM, JO, "Jo"), (JO, SAM, "Sam"), (ALEX, RIA, "Ria"), (RIA, ALEX, "Alex, the chemist")):
        (welcome,) = to(world.sink.received, person)
        partner_alias = alias_of(world, partner)
        assert handle in welcome["Subject"] and welcome["Auto-Submitted"] == "auto-generated"
        assert partner_alias in welcome["From"] and welcome["Reply-To"] == partner_alias
        assert partner_alias in plain(welcome)
        raw = welcome.as_string().replace(welcome["To"], "")  # the recipient's own address is the one real one
        for secret in REAL + ("parent.kim",):
            assert secret not in raw, (person, secret)
        assert "relay@" + world.domain in plain(welcome) and "away until" in plain(welcome)

    # Jo answers the welcome from an ordinary client: the reply reaches Sam, masked, from Jo's alias.
    (jo_welcome,) = to(world.sink.received, JO)
    world.sink.received.clear()
    quoted = "\n".join("> " + line for line in plain(jo_welcome).splitlines())
    reply = await world.send(JO, jo_welcome["Reply-To"], "Re: " + jo_welcome["Subject"],
                             f"Hi Sam, nice to meet you!\n\nOn Monday <{JO}> wrote:\n{quoted}\n",
                             from_header=f"Jo Kim <{JO}>", in_reply_to=jo_welcome["Message-ID"])
    assert reply.code == 250, reply
    await world.flush()
    (copy,) = to(world.sink.received, SAM)
    assert alias_of(world, JO) in copy["From"] and "Hi Sam, nice to meet you!" in plain(copy)
    assert copy["In-Reply-To"] is None  # the welcome's id belongs to Jo's mailbox alone
    for secret in (JO, "Jo Kim", "school.example.net"):
        assert secret not in copy.as_string()


async def test_a_bad_row_imports_nothing_and_names_each_line(world, relayctl, tmp_path):
    await relayctl("init")
    bad = (
        "email,role,handle,timezone\r\n"
        f"{SAM},mentor,Sam,Europe/London\r\n"
        f"{ALEX},mentr,Alex,Europe/London\r\n"
        f"{JO},mentee,Jo,Europe/London\r\n"
        f"{RIA},mentee,SAM,Europe/London\r\n"
        "not-an-address,mentee,Kai,\r\n"
        f"kai@school.example.net,mentee,Kai,Europe/Londn\r\n"
    ).encode()
    code, out, err = await relayctl("participant", "import", write(tmp_path, "bad.csv", bad))
    assert code == 1
    lines = err.strip().splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == ["line 3", "line 5", "line 6", "line 7"]
    assert "mentr" in lines[0] and "already taken on line 2" in lines[1] and "time zone" in lines[3]
    assert lines[-1] == "relayctl: error: nothing imported: 4 of 6 rows need fixing (see above)"
    assert SAM not in err and RIA not in err  # a problem names its line, not the person's address
    assert world.relay.db.run_sync(lambda s: s.exec(select(Participant)).all()) == []


async def test_pair_csv_is_all_or_nothing_and_dry_run_and_no_welcome_send_nothing(world, relayctl, tmp_path):
    await relayctl("init")
    await relayctl("participant", "import", write(tmp_path, "people.csv", PEOPLE))
    bad = f"mentor_email,mentee_email\n{SAM},{JO}\n{JO},{RIA}\nnobody@example.com,{RIA}\n".encode()
    code, _, err = await relayctl("pair", "--csv", write(tmp_path, "bad.csv", bad))
    assert code == 1 and "line 3: mentor_email belongs to 'Jo', a mentee" in err and "line 4: mentor_email is not enrolled" in err
    code, out, _ = await relayctl("pair", "--csv", write(tmp_path, "pairs.csv", PAIRS), "--dry-run")
    assert code == 0 and "would pair 2" in out
    code, out, _ = await relayctl("pair", "--csv", write(tmp_path, "pairs.csv", PAIRS), "--no-welcome", "--json")
    assert code == 0 and [(p["mentor"], p["mentee"]) for p in json.loads(out)] == [("Sam", "Jo"), ("Alex, the chemist", "Ria")]
    assert world.relay.db.run_sync(lambda s: s.exec(select(Delivery)).all()) == []


async def test_a_new_pairing_after_closure_gets_a_new_welcome(world, relayctl, tmp_path):
    await relayctl("init")
    await relayctl("participant", "import", write(tmp_path, "people.csv", PEOPLE))
    assert (await relayctl("pair", SAM, JO))[0] == 0
    code, out, err = await relayctl("unpair", SAM, JO, "--yes")
    assert code == 0 and "closed the pairing" in out, err
    code, out, err = await relayctl("pair", SAM, JO)
    assert code == 0 and "welcome is on its way" in out, err
    welcomes = world.relay.db.run_sync(lambda s: s.exec(select(Delivery.rcpt_email).where(Delivery.kind == "welcome")).all())
    assert sorted(welcomes) == sorted([SAM, JO, SAM, JO])


async def test_a_thousand_rows_import_in_one_command(world, relayctl, tmp_path):
    await relayctl("init")
    rows = "".join(f"person{n}@school.example.net,{'mentor' if n % 2 else 'mentee'},Person {n},\r\n" for n in range(1000))
    data = ("\ufeffemail,role,handle,timezone\r\n" + rows).encode()
    code, out, err = await relayctl("participant", "import", write(tmp_path, "big.csv", data), "--json")
    assert code == 0, err
    created = json.loads(out)
    assert len(created) == 1000 and len({p["alias"] for p in created}) == 1000
    assert "created 1000, 0 unchanged" in err
