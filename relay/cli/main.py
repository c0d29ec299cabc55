"""relayctl: the command line for admins and coordinators.

One module per command group; each registers its sub-commands in
``COMMANDS``. Every error is one clear line on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from relay import logs
from relay.cli.base import CliError, Context

COMMANDS = [
    "relay.cli.setup",
    "relay.cli.dkim",
    "relay.cli.backup",
    "relay.cli.participants",
    "relay.cli.pairs",
    "relay.cli.messages",
    "relay.cli.queue",
    "relay.cli.serve",
    "relay.cli.scheduler",
    "relay.cli.program",
    "relay.cli.report",
    "relay.cli.moderation",
    "relay.cli.circles",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relayctl",
        description="Run and administer mentor-relay. Settings come from the environment and .env "
        "(see config/relay.env.example).",
    )
    parser.add_argument("--env-file", default=".env", help="settings file to read (default: .env)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(logging.DEBUG if args.verbose else logging.INFO if args.command == "serve" else logging.WARNING)
    context = Context(env_file=args.env_file)
    try:
        return args.func(args, context) or 0
    except KeyboardInterrupt:
        return 130
    except CliError as error:
        print(f"relayctl: error: {error}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - the contract is one line, never a traceback
        print(f"relayctl: error: {describe(error)}", file=sys.stderr)
        logging.getLogger("relayctl").debug("details", exc_info=True)
        return 1
    finally:
        context.close()


def describe(error: Exception) -> str:
    from sqlalchemy.exc import OperationalError

    from relay.addresses import AddressError
    from relay.config import ConfigError
    from relay.store.directory import DirectoryError

    if isinstance(error, (ConfigError, AddressError, DirectoryError, FileNotFoundError, ValueError)):
        return str(error)
    if isinstance(error, OperationalError):
        return f"the database could not be used ({str(error.orig).strip()}); check RELAY_DATABASE_URL"
    return f"{type(error).__name__}: {error}"


if __name__ == "__main__":
    sys.exit(main())
