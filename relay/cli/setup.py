"""relayctl init: setting the relay up (store, the deployment's keys, the default program)."""

from __future__ import annotations

from relay import keys
from relay.cli.base import Context
from relay.store import directory, schema


def register(sub) -> None:
    init = sub.add_parser("init", help="create or upgrade the store, secrets and DKIM key (safe to run again)")
    init.set_defaults(func=run_init)


def run_init(args, ctx: Context) -> int:
    settings = ctx.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    revision = schema.upgrade(ctx.db.engine)
    now = ctx.clock.now()
    deployment = keys.ensure(ctx.db, settings.secret_path, settings.dkim_key, settings.dkim_selector, now)
    ctx.run(lambda s: directory.get_or_create_program(s, settings.program, now))
    print(f"store:   {_safe_url(settings.database_url)} (schema {revision})")
    for note in deployment.notes:
        print(note)
    print("publish the DKIM key with 'relayctl dkim-record'")
    print(f"program: {settings.program}")
    print(f"domain:  {settings.domain}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
