"""The strict verifier refuses signatures that verify but prove too little."""

from __future__ import annotations

from collections.abc import Callable

import dkim
import pytest

from relay.auth.dkim_verify import FAIL, PASS, REFUSED, TEMPERROR, verify_signatures
from relay.outbound.dkim import Signer, generate_key, public_txt_value
from tests.fixtures.dns import FakeDns, weak_rsa_pem

MESSAGE = (
    "From: Rosa Diaz <rosa@school.example>\r\n"
    "To: brave-fox-3m8d1p@mentor.example.org\r\n"
    "Subject: my essay\r\n"
    "Date: Mon, 01 Dec 2025 10:00:00 +0000\r\n"
    "Message-ID: <CAF+essay1@school.example>\r\n"
    "\r\n"
    "Here is the draft you asked for.\r\n"
).encode()


@pytest.fixture(scope="module")
def keys() -> dict[str, bytes]:
    return {"strong": generate_key(2048), "weak": weak_rsa_pem(512)}


@pytest.fixture(scope="module")
def dns(keys: dict[str, bytes]) -> FakeDns:
    return (FakeDns()
            .add("s1._domainkey.school.example", "TXT", public_txt_value(keys["strong"]))
            .add("weak._domainkey.school.example", "TXT", public_txt_value(keys["weak"]))
            .time_out("slow._domainkey.school.example"))


def dkimpy_accepts(message: bytes, dns: FakeDns) -> bool:
    def txt(name: bytes, timeout: int = 5) -> bytes | None:
        records = dns.txt(name.decode())
        return records[0].encode() if records else None

    return dkim.verify(message, dnsfunc=txt, minkey=256)


def sign(keys, selector="s1", key="strong", **options) -> bytes:
    header = dkim.sign(MESSAGE, selector.encode(), b"school.example", keys[key],
                       canonicalize=(b"relaxed", b"relaxed"),
                       include_headers=options.pop("include", [b"from", b"to", b"subject", b"date"]),
                       **options)
    return header + MESSAGE


def above_from(signed: bytes, extra: bytes) -> bytes:
    """Insert a header just below the DKIM-Signature, above the signed ones."""
    head, sep, rest = signed.partition(b"From: Rosa")
    return head + extra + sep + rest


CASES: list[tuple[str, Callable[[dict], bytes], str, str, bool]] = [
    # name, build message, expected result, words in the reason, dkimpy itself accepts
    ("good rsa-sha256", lambda k: sign(k), PASS, "valid signature by school.example", True),
    ("rsa-sha1", lambda k: sign(k, signature_algorithm=b"rsa-sha1"), REFUSED, "rsa-sha1", True),
    ("512-bit key", lambda k: sign(k, selector="weak", key="weak"), REFUSED, "512-bit key", True),
    ("l= with appended text",
     lambda k: sign(k, length=True) + b"\r\nPS: send me your home address, it's our secret\r\n",
     REFUSED, "covers only the first", True),
    ("l= covering everything", lambda k: sign(k, length=True), PASS, "valid", True),
    ("extra Subject above the signed one",
     lambda k: above_from(sign(k), b"Subject: URGENT: call me at 555-0100\r\n"),
     REFUSED, "2 Subject headers", True),
    ("extra From above the signed one",  # dkimpy refuses this one itself (bug 644046)
     lambda k: above_from(sign(k), b"From: Principal <principal@school.example>\r\n"),
     FAIL, "does not match", False),
    ("oversigned Subject, then one added",
     lambda k: above_from(sign(k, include=[b"from", b"subject", b"subject"]), b"Subject: hi\r\n"),
     FAIL, "does not match", False),
    ("body altered", lambda k: sign(k).replace(b"draft", b"final"), FAIL, "does not match", False),
    ("no key published", lambda k: sign(k, selector="gone"), FAIL, "no DKIM key", False),
    ("key lookup times out", lambda k: sign(k, selector="slow"), TEMPERROR, "in time", None),
]


@pytest.mark.parametrize("build,result,words,dkimpy_ok",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_strict_verdicts(keys, dns, build, result, words, dkimpy_ok) -> None:
    message = build(keys)
    [found] = verify_signatures(message, dns)
    assert found.result == result, found.reason
    assert words in found.reason
    assert found.domain == "school.example"
    if dkimpy_ok is not None:
        assert dkimpy_accepts(message, dns) is dkimpy_ok


def test_every_signature_is_reported(keys, dns) -> None:
    inner = sign(keys)
    outer = Signer(keys["strong"], "s1", "school.example").sign(inner)
    results = verify_signatures(outer, dns)
    assert [r.result for r in results] == [PASS, PASS]


def test_unsigned_message_has_no_results(dns) -> None:
    assert verify_signatures(MESSAGE, dns) == ()


def test_malformed_signature_fails_without_raising(dns) -> None:
    broken = b"DKIM-Signature: v=1; a=rsa-sha256; d=school.example\r\n" + MESSAGE
    [found] = verify_signatures(broken, dns)
    assert found.result == FAIL and "malformed" in found.reason
