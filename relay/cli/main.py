"""relayctl: the command line for admins and coordinators.

One module per command group; each registers its sub-commands in
``COMMANDS``. Every error is one clear line on stderr and a non-zero exit,
never a traceback; output cut short by a closed pipe (``| head``) ends quietly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from relay import logs
from relay.cli import (
    backup, circles, dkim, messages, moderation, pairs, participants, program, queue, report, scheduler, serve, setup,
)
from relay.cli.base import CliError, Context, describe

# Every command group, in the order --help lists them: each module registers its own sub-commands.
COMMANDS = (
    setup,
    dkim,
    backup,
    participants,
    pairs,
    messages,
    queue,
    serve,
    scheduler,
    program,
    report,
    moderation,
    circles,
)

BROKEN_PIPE_EXIT = 141  # what a shell reports for a command stopped by SIGPIPE


class Parser(argparse.ArgumentParser):
    """No abbreviated options: ``--rol`` must not quietly mean ``--role``."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        # argparse prints the usage block first; one line is the contract.
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as installed

    try:
        return installed("mentor-relay")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="relayctl",
        description="Run and administer mentor-relay. Settings come from the environment and .env "
        "(see config/relay.env.example).",
    )
    parser.add_argument("--version", action="version", version=f"relayctl (mentor-relay) {version()}")
    parser.add_argument("--env-file", default=None, help="settings file to read; it must exist (default: .env if present)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    for group in COMMANDS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:
        return _quiet_after_broken_pipe()


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed in one line
        return stop.code if isinstance(stop.code, int) else 2
    logs.setup(logging.DEBUG if args.verbose else logging.INFO if args.command == "serve" else logging.WARNING)
    context = Context(env_file=args.env_file)
    try:
        return args.func(args, context) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except CliError as error:
        print(f"relayctl: error: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - the contract is one line, never a traceback
        print(f"relayctl: error: {describe(error)}", file=sys.stderr)
        logging.getLogger("relayctl").debug("details", exc_info=True)
        return 1
    finally:
        context.close()


def _quiet_after_broken_pipe() -> int:
    """The reader went away (``relayctl … | head``): stop without a word.

    Python would flush stdout again at exit and complain; pointing it at
    /dev/null first keeps that quiet too.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass
    return BROKEN_PIPE_EXIT


if __name__ == "__main__":
    sys.exit(main())
