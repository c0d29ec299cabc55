"""Settings from the environment and ``.env``, validated once at start.

There is no global settings object: ``load_settings`` is called by the entry
points and the result is passed down. Every setting is documented in
``config/relay.env.example``.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

SENDER_AUTH_MODES = ("dmarc", "authres", "none")
SMARTHOST_TLS_MODES = ("starttls", "tls", "none")


# Every RELAY_* name the relay reads. Anything else starting with RELAY_ is a
# warning at start: a misspelt setting would otherwise be a silent default.
KNOWN_VARIABLES = frozenset(
    """RELAY_DATA_DIR RELAY_DATABASE_URL RELAY_DOMAIN RELAY_LISTEN RELAY_SMARTHOST RELAY_SMARTHOST_TLS
    RELAY_SMARTHOST_USER RELAY_SMARTHOST_PASSWORD RELAY_MAILDIR RELAY_POLICY RELAY_SENDER_AUTH RELAY_AUTHSERV_ID
    RELAY_TRUSTED_PEERS RELAY_DKIM_SELECTOR RELAY_DKIM_KEY RELAY_TLS_CERT RELAY_TLS_KEY RELAY_MAX_MESSAGE_SIZE
    RELAY_MAX_RECIPIENTS RELAY_MAX_HEADER_SIZE RELAY_MAX_MIME_DEPTH RELAY_MAX_LINE_LENGTH
    RELAY_MAX_CONNECTIONS_PER_PEER RELAY_MAX_FAILED_RECIPIENTS RELAY_MESSAGES_PER_HOUR RELAY_WORKERS
    RELAY_IN_FLOW_DELAY RELAY_PROCESSES RELAY_PROGRAM RELAY_METRICS_LISTEN RELAY_LOG_FORMAT
    RELAY_TEMPLATES RELAY_TEST_DATABASE_URL""".split()
)  # the last line: the template folder (relay.notices) and the test suite's database
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    domain: str = "relay.localhost"
    listen_host: str = "127.0.0.1"
    listen_port: int = 2525
    smarthost: str = ""  # host:port; empty = local Maildir
    smarthost_tls: str = "starttls"
    smarthost_user: str = ""
    smarthost_password: str = ""
    maildir: Path = Path("var/Maildir")
    policy: Path | None = None
    sender_auth: str = "dmarc"  # production default; `none` is for a laptop walk-through only
    authserv_id: str = ""
    trusted_peers: frozenset[str] = frozenset()
    dkim_selector: str = "relay"
    dkim_key: Path = Path("var/dkim/relay.pem")
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_message_size: int = 25 * 1024 * 1024
    max_recipients: int = 100
    max_header_size: int = 64 * 1024
    max_mime_depth: int = 20
    max_line_length: int = 65536  # RFC 5322 asks 998 but real clients send longer; the copy re-encodes them
    max_connections_per_peer: int = 20
    max_failed_recipients: int = 10
    messages_per_hour: int = 60
    workers: int = 8
    in_flow_delay: float = 1.0  # seconds a new message may wait while delivery lags (relay.flow); 0: never
    processes: int = 1  # relay processes sharing the listening socket
    program: str = "default"
    extra: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # one line each, shown once at start by the entry point

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def smarthost_address(self) -> tuple[str, int] | None:
        if not self.smarthost:
            return None
        host, port = _split_host_port(self.smarthost, "RELAY_SMARTHOST")
        return host, port

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env", required: bool = False
) -> Settings:
    """Read settings: the process environment wins over ``.env``.

    A missing ``dotenv_path`` is fine for the default ``.env``; with ``required``
    (a file the operator named) it is an error.
    """
    values: dict[str, str] = {}
    if dotenv_path and Path(dotenv_path).is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    elif dotenv_path and required:
        raise ConfigError(f"--env-file names no readable file: {dotenv_path}")
    values.update(os.environ if environ is None else environ)
    return settings_from_mapping(values)


def settings_from_mapping(env: Mapping[str, str]) -> Settings:
    """Build and validate Settings from RELAY_* variables."""
    get = lambda key, default="": (env.get(key) or default).strip()  # noqa: E731
    data_dir = Path(get("RELAY_DATA_DIR", "var"))
    domain = get("RELAY_DOMAIN", "relay.localhost").lower()
    if not domain or "." not in domain or any(c in domain for c in " @/\\\r\n"):
        raise ConfigError(f"RELAY_DOMAIN must be a domain name such as mentor.example.org, not {domain!r}")
    host, port = _split_host_port(get("RELAY_LISTEN", "127.0.0.1:2525"), "RELAY_LISTEN")
    sender_auth = get("RELAY_SENDER_AUTH", "dmarc").lower()
    if sender_auth not in SENDER_AUTH_MODES:
        raise ConfigError(f"RELAY_SENDER_AUTH must be one of {', '.join(SENDER_AUTH_MODES)}, not {sender_auth!r}")
    smarthost = get("RELAY_SMARTHOST")
    if smarthost:
        _split_host_port(smarthost, "RELAY_SMARTHOST")
    tls_mode = get("RELAY_SMARTHOST_TLS", "starttls").lower()
    if tls_mode not in SMARTHOST_TLS_MODES:
        raise ConfigError(f"RELAY_SMARTHOST_TLS must be one of {', '.join(SMARTHOST_TLS_MODES)}")
    selector = get("RELAY_DKIM_SELECTOR", "relay")
    policy = get("RELAY_POLICY")
    if policy and not Path(policy).is_file():
        raise ConfigError(f"RELAY_POLICY names no readable file: {policy}")
    database_url = get("RELAY_DATABASE_URL") or f"sqlite:///{data_dir / 'relay.db'}"
    _check_database_url(database_url)
    tls_cert, tls_key = get("RELAY_TLS_CERT"), get("RELAY_TLS_KEY")
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("RELAY_TLS_CERT and RELAY_TLS_KEY must be set together")
    for key, value in (("RELAY_TLS_CERT", tls_cert), ("RELAY_TLS_KEY", tls_key)):
        if value and not Path(value).is_file():
            raise ConfigError(f"{key} names no readable file: {value}")
    trusted_peers = frozenset(p.strip() for p in get("RELAY_TRUSTED_PEERS").split(",") if p.strip())
    if sender_auth == "authres" and not (get("RELAY_AUTHSERV_ID") and trusted_peers):
        # Without both, any client could write the Authentication-Results the relay believes.
        raise ConfigError("RELAY_SENDER_AUTH=authres needs RELAY_AUTHSERV_ID and RELAY_TRUSTED_PEERS")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        domain=domain,
        listen_host=host,
        listen_port=port,
        smarthost=smarthost,
        smarthost_tls=tls_mode,
        smarthost_user=get("RELAY_SMARTHOST_USER"),
        smarthost_password=get("RELAY_SMARTHOST_PASSWORD"),
        maildir=Path(get("RELAY_MAILDIR") or data_dir / "Maildir"),
        policy=Path(policy) if policy else None,
        sender_auth=sender_auth,
        authserv_id=get("RELAY_AUTHSERV_ID"),
        trusted_peers=trusted_peers,
        dkim_selector=selector,
        dkim_key=Path(get("RELAY_DKIM_KEY") or data_dir / "dkim" / f"{selector}.pem"),
        tls_cert=Path(tls_cert) if tls_cert else None,
        tls_key=Path(tls_key) if tls_key else None,
        max_message_size=_int(get, "RELAY_MAX_MESSAGE_SIZE", 25 * 1024 * 1024, minimum=1024),
        max_recipients=_int(get, "RELAY_MAX_RECIPIENTS", 100, minimum=1),
        max_header_size=_int(get, "RELAY_MAX_HEADER_SIZE", 64 * 1024, minimum=1024),
        max_mime_depth=_int(get, "RELAY_MAX_MIME_DEPTH", 20, minimum=1),
        max_line_length=_int(get, "RELAY_MAX_LINE_LENGTH", 65536, minimum=1000),
        max_connections_per_peer=_int(get, "RELAY_MAX_CONNECTIONS_PER_PEER", 20, minimum=1),
        max_failed_recipients=_int(get, "RELAY_MAX_FAILED_RECIPIENTS", 10, minimum=1),
        messages_per_hour=_int(get, "RELAY_MESSAGES_PER_HOUR", 60, minimum=1),
        workers=_int(get, "RELAY_WORKERS", 8, minimum=1),
        in_flow_delay=_seconds(get, "RELAY_IN_FLOW_DELAY", 1.0, maximum=10.0),
        processes=_int(get, "RELAY_PROCESSES", 1, minimum=1),
        program=get("RELAY_PROGRAM", "default"),
        extra={k: v for k, v in env.items() if k.startswith("RELAY_")},
        warnings=unknown_variables(env),
    )


def unknown_variables(env: Mapping[str, str]) -> tuple[str, ...]:
    """A warning line for each RELAY_* name the relay does not read, with the likely intended one."""
    lines = []
    for key in sorted(k for k in env if k.startswith("RELAY_") and k not in KNOWN_VARIABLES):
        close = difflib.get_close_matches(key, sorted(KNOWN_VARIABLES), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"unknown setting {key} is ignored{hint}")
    return tuple(lines)


def _check_database_url(url: str) -> None:
    """Only the stores the relay ships drivers for; anything else is one clear line, not an import error."""
    scheme = url.partition(":")[0].lower()
    family, _, driver = scheme.partition("+")
    if family not in DATABASE_SCHEMES or driver not in ("", "pysqlite", "psycopg"):
        raise ConfigError(
            f"RELAY_DATABASE_URL must start with sqlite:/// or postgresql:// (the drivers the relay ships), not {scheme}://"
        )


def _int(get, key: str, default: int, minimum: int) -> int:
    raw = get(key, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum}")
    return value


def _seconds(get, key: str, default: float, maximum: float) -> float:
    raw = get(key, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number of seconds, not {raw!r}") from None
    if not 0 <= value <= maximum:  # also refuses nan
        raise ConfigError(f"{key} must be between 0 and {maximum:g} seconds")
    return value


def _split_host_port(value: str, key: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"{key} must be host:port, such as 127.0.0.1:2525, not {value!r}")
    return host.strip("[]"), int(port)
