"""relayctl dkim-record and dkim-rotate: publishing the deployment's DKIM keys and replacing them."""

from __future__ import annotations

from relay import keys
from relay.cli.base import CliError, Context

STATUS_NOTES = {
    "next": "new key: publish it, then run 'relayctl dkim-rotate --activate'",
    "active": "signing",
    "previous": "old key: keep it published until mail signed with it has been read (a few days)",
}


def register(sub) -> None:
    record = sub.add_parser("dkim-record", help="print the DNS TXT record(s) that publish the DKIM key(s)")
    record.set_defaults(func=run_dkim_record)
    rotate = sub.add_parser(
        "dkim-rotate",
        help="make a new DKIM key under a new selector (published first), or --activate it",
        description="Step 1: 'dkim-rotate' makes a new key under a new selector; 'dkim-record' then prints it "
        "next to the current one. Step 2, once the new record is in DNS: 'dkim-rotate --activate' makes it the "
        "signing key (hosts sign with it from their next start); the old record stays published so mail "
        "already signed with it keeps verifying.",
    )
    rotate.add_argument("--selector", help="the new selector (default: relay-YYYYMMDD)")
    rotate.add_argument("--activate", action="store_true", help="sign with the waiting new key from now on")
    rotate.set_defaults(func=run_dkim_rotate)


def run_dkim_record(args, ctx: Context) -> int:
    from relay.outbound.dkim import public_txt_record

    shown = [k for k in ctx.run(keys.dkim_keys) if k.status in keys.SHOWN_STATUSES]
    if not shown:
        raise CliError("the store holds no DKIM key; run 'relayctl init' first")
    shown.sort(key=lambda k: keys.SHOWN_STATUSES.index(k.status) if k.status != "active" else -1)
    for key in shown:
        line = public_txt_record(key.pem, key.selector, ctx.settings.domain)
        print(line if len(shown) == 1 else f"{line} ; {STATUS_NOTES[key.status]}")
    return 0


def run_dkim_rotate(args, ctx: Context) -> int:
    from relay.outbound.dkim import generate_key, public_txt_record

    if args.activate:
        try:
            new, old = ctx.run(keys.activate_next)
        except ValueError as error:
            raise CliError(str(error)) from None
        print(f"signing with selector {new} from each host's next start (restart them now)")
        if old:
            print(f"selector {old} stays in 'relayctl dkim-record' until the next rotation: keep it in DNS until then")
        return 0
    now = ctx.clock.now()
    selector = args.selector or f"relay-{now:%Y%m%d}"
    if not selector.replace("-", "").isalnum() or len(selector) > 63:
        raise CliError(f"--selector must be letters, digits and hyphens (at most 63), not {selector!r}")
    pem = generate_key()
    try:
        ctx.run(lambda s: keys.add_next_dkim_key(s, selector, pem, now))
    except ValueError as error:
        raise CliError(str(error)) from None
    print(public_txt_record(pem, selector, ctx.settings.domain))
    print(f"publish this record, wait for DNS, then run 'relayctl dkim-rotate --activate'")
    return 0
