"""relayctl init and dkim-record: setting the relay up and publishing its key."""

from __future__ import annotations

from relay.cli.base import Context
from relay.keys import ensure_dkim_key, ensure_secret
from relay.store import directory, schema


def register(sub) -> None:
    init = sub.add_parser("init", help="create or upgrade the store, secrets and DKIM key (safe to run again)")
    init.set_defaults(func=run_init)
    record = sub.add_parser("dkim-record", help="print the DNS TXT record that publishes the DKIM key")
    record.set_defaults(func=run_dkim_record)


def run_init(args, ctx: Context) -> int:
    settings = ctx.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    revision = schema.upgrade(ctx.db.engine)
    _, secret_created = ensure_secret(settings.secret_path)
    _, key_created = ensure_dkim_key(settings.dkim_key)
    now = ctx.clock.now()
    ctx.run(lambda s: directory.get_or_create_program(s, settings.program, now))
    print(f"store:   {_safe_url(settings.database_url)} (schema {revision})")
    print(f"secret:  {settings.secret_path} ({'created' if secret_created else 'kept'})")
    print(f"dkim:    {settings.dkim_key} ({'created' if key_created else 'kept'}); publish it with 'relayctl dkim-record'")
    print(f"program: {settings.program}")
    print(f"domain:  {settings.domain}")
    return 0


def run_dkim_record(args, ctx: Context) -> int:
    from relay.outbound.dkim import public_txt_record

    settings = ctx.settings
    if not settings.dkim_key.exists():
        from relay.cli.base import CliError

        raise CliError(f"no DKIM key at {settings.dkim_key}; run 'relayctl init' first")
    print(public_txt_record(settings.dkim_key.read_bytes(), settings.dkim_selector, settings.domain))
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
