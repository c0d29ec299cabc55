"""relayctl serve: SMTP intake, outbound workers and the scheduler in one process."""

from __future__ import annotations

from relay.cli.base import CliError, Context


def register(sub) -> None:
    serve = sub.add_parser("serve", help="run the relay until SIGTERM (drains cleanly)")
    serve.add_argument("--listen", help="override RELAY_LISTEN (host:port)")
    serve.add_argument("--processes", type=int, help="override RELAY_PROCESSES: relay processes sharing the port")
    serve.set_defaults(func=run_serve)


def run_serve(args, ctx: Context) -> int:
    from relay.config import _split_host_port
    from relay.service import run, serve, serve_processes

    settings = ctx.settings
    if args.listen:
        host, port = _split_host_port(args.listen, "--listen")
        settings = settings.with_overrides(listen_host=host, listen_port=port)
    processes = args.processes if args.processes is not None else settings.processes
    if processes < 1:
        raise CliError("--processes must be at least 1")
    settings = settings.with_overrides(processes=processes)
    if processes == 1:
        run(serve(settings))
    else:
        serve_processes(settings, processes)
    return 0
