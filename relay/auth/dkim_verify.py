"""Strict DKIM verification: dkimpy checks the cryptography, we refuse the weak.

dkimpy answers "does this signature verify?". A signature can verify and
still prove little, so a verifying signature is *refused* here when it uses
rsa-sha1 (RFC 8301), a key under 1024 bits, an ``l=`` that leaves part of the
body unsigned, or when the message carries more copies of a signed header
than ``h=`` covers (RFC 6376 §8.15: the unsigned copy may be the one shown).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import dkim
from dkim.canonicalization import CanonicalizationPolicy, InvalidCanonicalizationPolicyError

from relay.auth.dns import DnsResolver, DnsTimeout

MIN_RSA_BITS = 1024
MAX_SIGNATURES = 5  # each costs a DNS question; a message gains nothing from more

PASS, FAIL, REFUSED, TEMPERROR = "pass", "fail", "refused", "temperror"

@dataclass(frozen=True)
class DkimSignature:
    """The outcome for one DKIM-Signature header.

    result: pass (verifies and acceptable), refused (verifies but too weak to
    prove anything), fail (does not verify, or no usable key), temperror (the
    key could not be fetched in time).
    """

    domain: str
    selector: str
    result: str
    reason: str


def verify_signatures(raw: bytes, dns: DnsResolver) -> tuple[DkimSignature, ...]:
    """Every DKIM signature on ``raw`` (topmost first, at most MAX_SIGNATURES)."""
    headers, _ = dkim.rfc822_parse(raw)
    count = sum(1 for name, _ in headers if name.lower() == b"dkim-signature")
    return tuple(_verify_one(raw, idx, dns) for idx in range(min(count, MAX_SIGNATURES)))


def _verify_one(raw: bytes, idx: int, dns: DnsResolver) -> DkimSignature:
    checker = dkim.DKIM(raw, minkey=1)  # key size judged below, as a refusal
    try:
        sig, _, _ = checker.verify_headerprep(idx)
    except dkim.DKIMException as exc:
        return DkimSignature("", "", FAIL, f"the DKIM-Signature header is malformed ({exc})")
    domain = sig[b"d"].decode("ascii", "replace").lower().rstrip(".")
    selector = sig[b"s"].decode("ascii", "replace")
    key_name = f"{selector}._domainkey.{domain}"
    try:
        records = [r for r in dns.txt(key_name) if "p=" in r]
    except DnsTimeout:
        return DkimSignature(domain, selector, TEMPERROR,
                             f"the DKIM key {key_name} could not be fetched in time")
    if not records:
        return DkimSignature(domain, selector, FAIL, f"no DKIM key is published at {key_name}")
    try:
        ok = checker.verify(idx, dnsfunc=lambda name, timeout=5: records[0].encode())
    except (dkim.DKIMException, ValueError) as exc:
        if "body hash mismatch" in str(exc):
            return DkimSignature(domain, selector, FAIL, f"the {domain} signature does not match "
                                 "the message (its body was changed after signing)")
        return DkimSignature(domain, selector, FAIL, f"the {domain} signature is unusable ({exc})")
    if not ok:
        return DkimSignature(domain, selector, FAIL,
                             f"the {domain} signature does not match the message "
                             "(it was altered after signing, or the key is wrong)")
    refusal = _refusal(checker, sig, domain)
    if refusal:
        return DkimSignature(domain, selector, REFUSED, refusal)
    return DkimSignature(domain, selector, PASS, f"valid signature by {domain}")


def _refusal(checker: dkim.DKIM, sig: dict[bytes, bytes], domain: str) -> str:
    """Why a verifying signature still proves too little, or "" if it is good."""
    if sig[b"a"].lower() == b"rsa-sha1":
        return f"the {domain} signature uses rsa-sha1, which is no longer accepted (RFC 8301)"
    if checker.ktag == b"rsa" and checker.keysize < MIN_RSA_BITS:
        return (f"the {domain} signature uses a {checker.keysize}-bit key; "
                f"at least {MIN_RSA_BITS} bits are required")
    if b"l" in sig:
        try:
            policy = CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
        except InvalidCanonicalizationPolicyError:
            return f"the {domain} signature has an invalid c= tag"
        body_len = len(policy.canonicalize_body(checker.body))
        if int(sig[b"l"]) < body_len:
            return (f"the {domain} signature covers only the first {int(sig[b'l'])} bytes "
                    f"of a {body_len}-byte body; the rest could have been added by anyone")
    return _unsigned_copies(checker, sig, domain)


def _unsigned_copies(checker: dkim.DKIM, sig: dict[bytes, bytes], domain: str) -> str:
    try:
        signed = Counter(h.strip().lower() for h in sig[b"h"].split(b":"))
    except AttributeError:
        return f"the {domain} signature has an invalid h= tag"
    present = Counter(name.strip().lower() for name, _ in checker.headers)
    for name, times in sorted(signed.items()):
        if present[name] > times:
            shown = name.decode("ascii", "replace").title()
            return (f"the message has {present[name]} {shown} headers but the {domain} "
                    f"signature covers only {times}; an unsigned {shown} was added")
    return ""

