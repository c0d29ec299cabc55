"""DKIM signing: what we sign verifies with dkimpy, our strict verifier and OpenDKIM."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import strategies as st

from relay.auth.dkim_verify import PASS, verify_signatures
from relay.outbound.dkim import (Signer, _OpenSSLDKIM, generate_key, public_txt_record, public_txt_value,
                                 relaxed_body)
from tests.fixtures.dns import FakeDns, weak_rsa_pem

DOMAIN, SELECTOR = "mentor.example.org", "relay2025"

PLAIN = (
    "From: Kind Otter <kind-otter-7q2x9k@mentor.example.org>\r\n"
    "To: Brave Fox <brave-fox-3m8d1p@mentor.example.org>\r\n"
    "Subject: Re: chapter three\r\n"
    "Date: Mon, 01 Dec 2025 10:00:00 +0000\r\n"
    "Message-ID: <relay-42@mentor.example.org>\r\n"
    "In-Reply-To: <relay-41@mentor.example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "X-Mailer: not signed\r\n"
    "\r\n"
    "Hello,\r\n\r\nI read it twice.  It was good.\r\n"
).encode()

NON_ASCII = PLAIN.replace(b"I read it twice.", "Schön, café, 日本語, 🙂".encode("utf-8"))
LF_ONLY = PLAIN.replace(b"\r\n", b"\n")


@pytest.fixture(scope="module")
def key() -> bytes:
    return generate_key()


@pytest.fixture(scope="module")
def signer(key: bytes) -> Signer:
    return Signer(key, SELECTOR, DOMAIN)


def txt_for(key: bytes):
    record = public_txt_value(key).encode()
    return lambda name, timeout=5: record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None


@pytest.mark.parametrize("message", [PLAIN, NON_ASCII, LF_ONLY], ids=["plain", "utf8", "lf"])
def test_signed_message_verifies_with_dkimpy(signer: Signer, key: bytes, message: bytes) -> None:
    signed = signer.sign(message)
    assert signed.startswith(b"DKIM-Signature: ")
    assert signed.endswith(message)
    assert dkim.verify(signed, dnsfunc=txt_for(key))


@pytest.mark.parametrize("message", [PLAIN, NON_ASCII], ids=["plain", "utf8"])
def test_signed_message_passes_strict_verifier(signer: Signer, key: bytes, message: bytes) -> None:
    dns = FakeDns().add(f"{SELECTOR}._domainkey.{DOMAIN}", "TXT", public_txt_value(key))
    [result] = verify_signatures(signer.sign(message), dns)
    assert (result.result, result.domain, result.selector) == (PASS, DOMAIN, SELECTOR)


def test_tampered_body_fails(signer: Signer, key: bytes) -> None:
    signed = signer.sign(PLAIN).replace(b"It was good.", b"It was bad.")
    assert not dkim.verify(signed, dnsfunc=txt_for(key))


def test_signature_tags(signer: Signer) -> None:
    found = dkim.DKIM(signer.sign(PLAIN, now=1764583200))
    found.verify_headerprep(0)
    sig = found.signature_fields
    assert sig[b"a"] == b"rsa-sha256"
    assert sig[b"c"] == b"relaxed/relaxed"
    assert (sig[b"d"], sig[b"s"], sig[b"t"]) == (DOMAIN.encode(), SELECTOR.encode(), b"1764583200")
    assert b"l" not in sig
    signed = [h.strip() for h in sig[b"h"].split(b":")]
    assert signed.count(b"from") == 2 and signed.count(b"subject") == 2  # oversigned
    for name in (b"to", b"date", b"message-id", b"in-reply-to", b"mime-version",
                 b"content-type", b"content-transfer-encoding"):
        assert signed.count(name) == 1, name
    assert b"x-mailer" not in signed and b"references" not in signed  # absent or not listed


def test_crlf_kept_and_lf_kept(signer: Signer) -> None:
    crlf = signer.sign(PLAIN)
    assert b"\n" not in crlf.replace(b"\r\n", b"")
    lf = signer.sign(LF_ONLY)
    assert b"\r" not in lf


def test_added_subject_breaks_signature(signer: Signer, key: bytes) -> None:
    signed = signer.sign(PLAIN)
    head, _, rest = signed.partition(b"From:")
    forged = head + b"Subject: URGENT send your phone number\r\nFrom:" + rest
    assert not dkim.verify(forged, dnsfunc=txt_for(key))


def test_same_bytes_as_dkimpy(signer: Signer, key: bytes) -> None:
    """The OpenSSL path changes only who does the arithmetic, not one byte."""
    include = signer._include(dkim.DKIM(PLAIN).headers)
    for _ in range(3):  # dkimpy stamps t= from the clock; retry across a second boundary
        theirs = dkim.sign(PLAIN, SELECTOR.encode(), DOMAIN.encode(), key,
                           canonicalize=(b"relaxed", b"relaxed"), include_headers=include)
        ours = signer.sign(PLAIN)
        if ours == theirs + PLAIN:
            return
    assert ours == theirs + PLAIN


SPACED = PLAIN.replace(b"I read it twice.  It was good.", b"I read\tit twice. \t It was good. \r\n\r\n  \r\n\r\n")


@pytest.mark.parametrize("message", [NON_ASCII, LF_ONLY, SPACED, PLAIN.split(b"\r\n\r\n")[0] + b"\r\n\r\n"],
                         ids=["utf8", "lf", "spaced", "no-body"])
def test_same_bytes_as_dkimpy_for_every_kind_of_body(signer: Signer, key: bytes, message: bytes) -> None:
    include = signer._include(dkim.DKIM(message).headers)
    for _ in range(3):  # dkimpy stamps t= from the clock; retry across a second boundary
        linesep = b"\r\n" if message.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
        theirs = dkim.sign(message, SELECTOR.encode(), DOMAIN.encode(), key, linesep=linesep,
                           canonicalize=(b"relaxed", b"relaxed"), include_headers=include)
        ours = signer.sign(message)
        if ours == theirs + message:
            return
    assert ours == theirs + message


@given(st.lists(st.sampled_from([b" ", b"\t", b"\r\n", b"\r", b"\n", b"a", b"\xc3\xa9", b""]), max_size=40))
def test_relaxed_body_is_dkimpys(parts: list[bytes]) -> None:
    body = b"".join(parts)
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_public_record_shape(key: bytes) -> None:
    line = public_txt_record(key, SELECTOR, DOMAIN)
    assert line.startswith(f'{SELECTOR}._domainkey.{DOMAIN}. IN TXT ( "v=DKIM1; k=rsa; " "p=')
    strings = line[line.index("(") + 1 : line.rindex(")")].strip()
    parts = [p for p in strings.split('"') if p.strip()]
    assert all(len(p) <= 255 for p in parts) and len(parts) >= 3  # 2048-bit p= needs two
    assert "".join(parts) == public_txt_value(key)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        Signer(weak_rsa_pem(512), SELECTOR, DOMAIN)


def opendkim_verdict(message: bytes, key: bytes, tmp_path: Path) -> str:
    """OpenDKIM's own dkim= result, from its test mode with the key given in a file."""
    (tmp_path / "keys").write_text(f"{SELECTOR}._domainkey.{DOMAIN} {public_txt_value(key)}\n")
    (tmp_path / "opendkim.conf").write_text(
        f"Mode v\nSyslog no\nTestPublicKeys {tmp_path / 'keys'}\n")
    (tmp_path / "message.eml").write_bytes(message)
    done = subprocess.run(
        ["opendkim", "-x", str(tmp_path / "opendkim.conf"), "-vvv", "-t", str(tmp_path / "message.eml")],
        capture_output=True, text=True, timeout=30)
    found = re.search(r"\bdkim=(\w+)", done.stdout + done.stderr)
    return found.group(1) if found else f"no verdict: {done.stderr[-500:]}"


@pytest.mark.skipif(shutil.which("opendkim") is None, reason="opendkim (Debian package) not installed")
@pytest.mark.parametrize("message", [PLAIN, NON_ASCII], ids=["plain", "utf8"])
def test_opendkim_verifies_our_signature(signer: Signer, key: bytes, tmp_path: Path,
                                         message: bytes) -> None:
    assert opendkim_verdict(signer.sign(message), key, tmp_path) == "pass"
    tampered = signer.sign(message).replace(b"Hello,", b"Hullo,")
    assert opendkim_verdict(tampered, key, tmp_path) == "fail"


@given(st.lists(st.sampled_from([b"Subject: hi", b"From: a@b.example", b" folded", b"\tmore", b"", b"\r\n", b"\n",
                                 b"\r", b"body text", b"X: y\r\n", b"From me", b"bad line", b"."]), max_size=30))
def test_the_header_split_is_dkimpys(parts: list[bytes]) -> None:
    """Cutting the body off at the blank line first parses every message as dkimpy's line-by-line parse does."""
    message = b"\r\n".join(parts[: len(parts) // 2]) + b"".join(parts[len(parts) // 2:])
    try:
        expected = dkim.rfc822_parse(message) if message else ([], "")
    except Exception as error:  # noqa: BLE001 - dkimpy refuses some (MessageFormatError, or IndexError on a fold first)
        with pytest.raises(type(error)):
            _OpenSSLDKIM(message, None, b"\r\n")
        return
    ours = _OpenSSLDKIM(message, None, b"\r\n")
    assert (ours.headers, ours.body) == expected
