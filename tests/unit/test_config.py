"""Settings from RELAY_* variables: defaults, the door's limits, and one-line errors."""

from __future__ import annotations

import pytest

from relay.config import ConfigError, settings_from_mapping


def test_defaults_are_production_safe():
    settings = settings_from_mapping({})
    assert settings.sender_auth == "dmarc"
    assert settings.max_message_size == 25 * 1024 * 1024
    assert settings.max_recipients == 100
    assert settings.max_header_size == 64 * 1024
    assert (settings.max_connections_per_peer, settings.max_failed_recipients, settings.messages_per_hour) == (20, 10, 60)
    assert settings.tls_cert is None
    assert settings.in_flow_delay == 1.0  # as Postfix's in_flow_delay


@pytest.mark.parametrize(
    "env, field, expected",
    [
        ({"RELAY_SENDER_AUTH": "NONE"}, "sender_auth", "none"),
        ({"RELAY_MAX_HEADER_SIZE": "131072"}, "max_header_size", 131072),
        ({"RELAY_MAX_MIME_DEPTH": "4"}, "max_mime_depth", 4),
        ({"RELAY_MAX_LINE_LENGTH": "2000"}, "max_line_length", 2000),
        ({"RELAY_MAX_CONNECTIONS_PER_PEER": "3"}, "max_connections_per_peer", 3),
        ({"RELAY_MAX_FAILED_RECIPIENTS": "5"}, "max_failed_recipients", 5),
        ({"RELAY_MESSAGES_PER_HOUR": "200"}, "messages_per_hour", 200),
        ({"RELAY_IN_FLOW_DELAY": "0.5"}, "in_flow_delay", 0.5),
        ({"RELAY_IN_FLOW_DELAY": "0"}, "in_flow_delay", 0.0),
        (
            {"RELAY_SENDER_AUTH": "authres", "RELAY_AUTHSERV_ID": "mx.example.org", "RELAY_TRUSTED_PEERS": "10.0.0.5, ::1"},
            "trusted_peers",
            frozenset({"10.0.0.5", "::1"}),
        ),
    ],
)
def test_settings_are_read(env, field, expected):
    assert getattr(settings_from_mapping(env), field) == expected


@pytest.mark.parametrize(
    "env, message",
    [
        ({"RELAY_SENDER_AUTH": "spf"}, "RELAY_SENDER_AUTH must be one of dmarc, authres, none"),
        ({"RELAY_SENDER_AUTH": "authres"}, "needs RELAY_AUTHSERV_ID and RELAY_TRUSTED_PEERS"),
        ({"RELAY_SENDER_AUTH": "authres", "RELAY_AUTHSERV_ID": "mx.example.org"}, "needs RELAY_AUTHSERV_ID"),
        ({"RELAY_TLS_CERT": "/nonexistent/cert.pem"}, "must be set together"),
        ({"RELAY_TLS_CERT": "/nonexistent/c.pem", "RELAY_TLS_KEY": "/nonexistent/k.pem"}, "RELAY_TLS_CERT names no readable file"),
        ({"RELAY_MAX_LINE_LENGTH": "500"}, "RELAY_MAX_LINE_LENGTH must be at least 1000"),
        ({"RELAY_MESSAGES_PER_HOUR": "lots"}, "RELAY_MESSAGES_PER_HOUR must be a whole number"),
        ({"RELAY_MAX_FAILED_RECIPIENTS": "0"}, "RELAY_MAX_FAILED_RECIPIENTS must be at least 1"),
        ({"RELAY_IN_FLOW_DELAY": "soon"}, "RELAY_IN_FLOW_DELAY must be a number of seconds, not 'soon'"),
        ({"RELAY_IN_FLOW_DELAY": "11"}, "RELAY_IN_FLOW_DELAY must be between 0 and 10 seconds"),
        ({"RELAY_IN_FLOW_DELAY": "nan"}, "RELAY_IN_FLOW_DELAY must be between 0 and 10 seconds"),
    ],
)
def test_bad_settings_name_themselves(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        settings_from_mapping(env)


def test_tls_files_that_exist_are_accepted(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("y")
    settings = settings_from_mapping({"RELAY_TLS_CERT": str(cert), "RELAY_TLS_KEY": str(key)})
    assert (settings.tls_cert, settings.tls_key) == (cert, key)


def test_unknown_relay_variables_are_warnings_with_the_likely_name():
    settings = settings_from_mapping({"RELAY_MESSAGE_PER_HOUR": "5", "RELAY_SOMETHING": "x", "HOME": "/root"})
    assert settings.warnings == (
        "unknown setting RELAY_MESSAGE_PER_HOUR is ignored (did you mean RELAY_MESSAGES_PER_HOUR?)",
        "unknown setting RELAY_SOMETHING is ignored",
    )
    assert settings_from_mapping({"RELAY_DOMAIN": "mentor.test"}).warnings == ()


def test_a_policy_file_that_is_not_there_and_a_database_without_a_driver_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="RELAY_POLICY names no readable file"):
        settings_from_mapping({"RELAY_POLICY": str(tmp_path / "missing.toml")})
    for url in ("mysql://u@h/db", "postgresql+psycopg2://u@h/db", "oracle://x"):
        with pytest.raises(ConfigError, match="RELAY_DATABASE_URL must start with"):
            settings_from_mapping({"RELAY_DATABASE_URL": url})
    assert settings_from_mapping({"RELAY_DATABASE_URL": "postgresql+psycopg://u@h/db"}).database_url.startswith("postgresql")


def test_a_named_env_file_must_exist(tmp_path):
    from relay.config import load_settings

    with pytest.raises(ConfigError, match="--env-file names no readable file"):
        load_settings({}, tmp_path / "nope.env", required=True)
    assert load_settings({}, tmp_path / "nope.env").domain == "relay.localhost"  # the default .env may be absent
