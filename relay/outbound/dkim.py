"""DKIM signing of outbound messages: dkimpy builds the header, OpenSSL signs.

dkimpy owns header canonicalisation and the DKIM-Signature format; its
pure-Python RSA is about 25 times slower than OpenSSL, so the one
private-key operation goes through ``cryptography`` instead, with the key
parsed once (see ``_OpenSSLDKIM``), and the body is canonicalised as dkimpy
does it, byte for byte, without regular expressions that cannot match
(see ``relaxed_body``).
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Sequence

import dkim
from dkim import canonicalization
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

DEFAULT_SIGNED_HEADERS: tuple[str, ...] = (
    "From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
    "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Reply-To",
    "List-Id", "Auto-Submitted",
)
# Signed once more than they occur, so nobody can add a second copy on the way.
OVERSIGNED_HEADERS: frozenset[str] = frozenset({"from", "subject"})

_TXT_CHUNK = 255  # longest character-string a TXT record may hold


def generate_key(bits: int = 2048) -> bytes:
    """A new RSA private key as PKCS#1 PEM, the form dkimpy and OpenDKIM read."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_txt_value(private_pem: bytes) -> str:
    """The DKIM key record text ("v=DKIM1; k=rsa; p=...") for a private key."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")


def public_txt_record(private_pem: bytes, selector: str, domain: str) -> str:
    """The zone-file line that publishes the public half of ``private_pem``."""
    p_value = public_txt_value(private_pem).split("; p=", 1)[1]
    p_tag = "p=" + p_value
    chunks = [p_tag[i : i + _TXT_CHUNK] for i in range(0, len(p_tag), _TXT_CHUNK)]
    quoted = " ".join(f'"{c}"' for c in ['v=DKIM1; k=rsa; ', *chunks])
    return f"{selector}._domainkey.{domain.rstrip('.')}. IN TXT ( {quoted} )"


def relaxed_body(body: bytes) -> bytes:
    """dkimpy's relaxed body canonicalisation (RFC 6376 3.4.4), byte for byte, without its regular
    expressions where they cannot match: most bodies have no tab, no double space, no space before a line end."""
    if b" \r\n" in body or b"\t" in body:
        body = _TRAILING_WSP.sub(b"\r\n", body)
    if b"\t" in body or b"  " in body:
        body = _WSP_RUN.sub(b" ", body)
    return canonicalization.correct_empty_body(canonicalization.strip_trailing_lines(body))


_TRAILING_WSP = re.compile(b"[\t ]+\r\n")
_WSP_RUN = re.compile(b"\t[\t ]*| [\t ]+")  # a run of WSP that is not already one space
_RELAXED = canonicalization.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
_HEADER_END = re.compile(b"\r?\n\r?\n")  # the end of a header line and the blank line after it
_LINE_END = re.compile(b"\r?\n")


class _OpenSSLDKIM(dkim.DKIM):
    """dkimpy's DKIM with the RSA signature made by OpenSSL.

    dkimpy offers no hook for the private-key operation: ``gen_header`` calls
    its module-level pure-Python RSA, and ``sign`` parses the PEM key again
    for it on every message. ``sign_relaxed`` and ``gen_header`` keep
    dkimpy's steps in the same order (hash the canonical body, list the tags,
    fold, blank b=, canonicalise and hash the headers, fold again) with the
    key OpenSSL already holds. They mirror dkimpy 1.1.8's ``DKIM.sign`` and
    ``DomainSigner.gen_header`` for rsa-sha256, c=relaxed/relaxed, no l=,
    without ``standardize``; a unit test holds them byte-equal to dkimpy's own output.
    """

    def __init__(self, message: bytes, key: rsa.RSAPrivateKey, linesep: bytes):
        super().__init__(message, signature_algorithm=b"rsa-sha256", linesep=linesep)
        self._key = key

    def set_message(self, message: bytes) -> None:
        """dkimpy's ``rfc822_parse``, with the body cut off first at the blank line.

        dkimpy splits the whole message into lines to find the headers and
        joins the body's lines again with CRLF: for a 64 KB copy that was a
        twelfth of its CPU. Here only the header block is split; a body
        already in CRLF is taken as it is, any other has its line ends made
        CRLF, as dkimpy's join does. A test holds both parses equal.
        """
        end = _HEADER_END.search(message) if message and message[:1] not in b"\r\n" else None
        if end is None:
            super().set_message(message)
            return
        super().set_message(message[:end.start()])
        body = message[end.end():]
        self.body = body if body.count(b"\n") == body.count(b"\r\n") else _LINE_END.sub(b"\r\n", body)

    def sign_relaxed(self, selector: bytes, domain: bytes, include_headers: Sequence[bytes],
                     timestamp: int) -> bytes:
        include = tuple(name.lower() for name in include_headers)
        self.include_headers = include
        if b"from" not in include:
            raise dkim.ParameterError("The From header field MUST be signed")
        for name in set(include).intersection(self.should_not_sign):
            raise dkim.ParameterError("The %s header field SHOULD NOT be signed" % name)
        self.hasher = dkim.HASH_ALGORITHMS[b"rsa-sha256"]
        bodyhash = base64.b64encode(self.hasher(relaxed_body(self.body)).digest())
        fields = [
            (b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", domain),
            (b"i", b"@" + domain), (b"q", b"dns/txt"), (b"s", selector), (b"t", str(timestamp).encode("ascii")),
            (b"h", b" : ".join(include)), (b"bh", bodyhash),
            (b"b", b"0" * 60),  # dkimpy's: b= folds onto a line of its own
        ]
        header = self.gen_header(fields, include, _RELAXED, b"DKIM-Signature", None)
        self.domain, self.selector, self.signature_fields = domain, selector, dict(fields)
        return b"DKIM-Signature: " + header

    def gen_header(self, fields, include_headers, canon_policy, header_name, pk,
                   standardize=False):
        if standardize or self.signature_algorithm != b"rsa-sha256":
            raise dkim.ParameterError("only rsa-sha256 DKIM-Signature headers are made here")
        value = dkim.fold(b"; ".join(b"=".join(x) for x in fields),
                          namelen=len(header_name), linesep=b"\r\n")
        value = dkim.RE_BTAG.sub(b"\\1", value)
        hasher = self.hasher()
        headers = canon_policy.canonicalize_headers(self.headers)
        self.signed_headers = dkim.hash_headers(
            hasher, canon_policy, headers, include_headers, (header_name, b" " + value),
            dict(fields))
        signature = self._key.sign(
            hasher.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        fields = [(k, base64.b64encode(signature) if k == b"b" else v) for k, v in fields]
        value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
        return dkim.fold(value, namelen=len(header_name), linesep=self.linesep)


class Signer:
    """Signs messages for one domain and selector; immutable and thread-safe.

    Signing is CPU work (about a quarter of a millisecond for RSA-2048, more
    for canonicalising the message): the outbound worker runs it on its own
    CPU executor, never on the event loop (OpenSSL releases the GIL while it
    signs, and the loop would wait to take it back) or the store's threads.
    """

    def __init__(self, private_pem: bytes, selector: str, domain: str,
                 headers: Sequence[str] = DEFAULT_SIGNED_HEADERS):
        key = serialization.load_pem_private_key(private_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("DKIM signing key must be an RSA key")
        if key.key_size < 1024:
            raise ValueError(f"DKIM key of {key.key_size} bits is too short (1024 at least)")
        self._key = key  # parsed once: signing never reads the PEM again
        self._selector = selector.encode("ascii")
        self._domain = domain.rstrip(".").lower().encode("ascii")
        self._headers = tuple(h.lower() for h in headers)

    @property
    def domain(self) -> str:
        return self._domain.decode()

    @property
    def selector(self) -> str:
        return self._selector.decode()

    def sign(self, message: bytes, *, now: int | float | None = None) -> bytes:
        """``message`` with a DKIM-Signature header prepended.

        rsa-sha256, c=relaxed/relaxed, no l=. ``now`` (Unix seconds) sets t=;
        without it, the current time.
        """
        linesep = b"\r\n" if message.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
        signer = _OpenSSLDKIM(message, self._key, linesep)
        timestamp = int(time.time() if now is None else now)
        header = signer.sign_relaxed(self._selector, self._domain, self._include(signer.headers), timestamp)
        return header + message

    def _include(self, present: list[tuple[bytes, bytes]]) -> list[bytes]:
        """Each configured header as often as it occurs, oversigned ones once more."""
        counts: dict[str, int] = {}
        for name, _ in present:
            key = name.decode("ascii", "replace").lower()
            counts[key] = counts.get(key, 0) + 1
        include: list[bytes] = []
        for name in self._headers:
            times = counts.get(name, 0) + (1 if name in OVERSIGNED_HEADERS else 0)
            include.extend([name.encode("ascii")] * times)
        return include
