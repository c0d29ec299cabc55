"""Who really sent it: is the From header's domain authenticated?

Three modes (``RELAY_SENDER_AUTH``):

* ``dmarc``: the relay checks DKIM (strictly, see ``dkim_verify``) and SPF
  itself and requires DMARC-style alignment with the From domain.
* ``authres``: a gateway in front of the relay checked; its
  Authentication-Results header is believed only as ``authres_check`` says.
* ``none``: everything passes. For development only.

A From domain without a DMARC record must still show an aligned pass: mentees
are often minors, and a domain that publishes no policy is no reason to
accept mail anyone could have forged in its name. DMARC's p= is therefore
reported, never obeyed in the lenient direction.

Replies follow RFC 7372. When DKIM and SPF both spoke against the sender,
550 5.7.26 (multiple checks failed); when only one did, its own code: 5.7.20
no verifying DKIM signature, 5.7.21 signatures verify but are refused as too
weak, 5.7.22 signatures verify but none is the From domain's, 5.7.23 SPF
fail. A DNS question left unanswered gives temperror with 451 4.4.3
(directory server failure, as RFC 7208 §8.6 suggests). A message from an
untrusted peer in authres mode, or without one clear From domain, gets
550 5.7.1: no check could even be made.

Everything here blocks on DNS: callers on an event loop run it in a thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

import dkim

from relay.auth.authres_check import read_gateway_verdict
from relay.auth.dkim_verify import FAIL, PASS, REFUSED, TEMPERROR, DkimSignature, verify_signatures
from relay.auth.dmarc import DmarcPolicy, aligned, lookup_policy
from relay.auth.dns import DnsResolver, DnsTimeout
from relay.auth.spf_check import SpfResult, check_spf

_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class AuthResult:
    """verdict: pass, fail or temperror ("none" is reserved: nothing to judge).

    reason is for logs and moderators; smtp_code and enhanced are the reply
    the relay should give when the verdict is not pass.
    """

    verdict: str
    reason: str
    smtp_code: int = 0
    enhanced: str = ""


def _fail(reason: str, enhanced: str) -> AuthResult:
    return AuthResult("fail", reason, 550, enhanced)


def _temperror(reason: str) -> AuthResult:
    return AuthResult("temperror", reason, 451, "4.4.3")


def author_domain(raw: bytes) -> tuple[str, str]:
    """(From domain, "") or ("", why there is no single one)."""
    headers, _ = dkim.rfc822_parse(raw)
    values = [_FOLD.sub(b"", v).decode("utf-8", "replace")
              for name, v in headers if name.strip().lower() == b"from"]
    if len(values) != 1:
        return "", f"the message has {len(values)} From headers; exactly one is required"
    domains = {addr.rpartition("@")[2].strip().rstrip(".").lower()
               for _, addr in getaddresses(values) if addr}
    domains.discard("")
    if len(domains) != 1:
        return "", "the From header must name exactly one sender domain"
    return domains.pop(), ""


def authenticate(raw: bytes, mail_from: str, peer_ip: str, helo: str, mode: str,
                 dns: DnsResolver, *, authserv_id: str = "",
                 trusted_peers: frozenset[str] = frozenset()) -> AuthResult:
    """Decide whether the From domain of ``raw`` really sent it."""
    if mode == "none":
        return AuthResult("pass", "sender authentication is switched off (mode none)")
    if mode not in ("dmarc", "authres"):
        raise ValueError(f"unknown sender authentication mode {mode!r}")
    from_domain, problem = author_domain(raw)
    if problem:
        return _fail(problem, "5.7.1")
    if mode == "authres":
        return _by_gateway(raw, from_domain, peer_ip, authserv_id, trusted_peers)
    return _by_alignment(raw, from_domain, mail_from, peer_ip, helo, dns)


def _by_gateway(raw: bytes, from_domain: str, peer_ip: str, authserv_id: str,
                trusted_peers: frozenset[str]) -> AuthResult:
    if not authserv_id or peer_ip not in trusted_peers:
        return _fail(f"the message came from {peer_ip}, not from a trusted gateway, so its "
                     "Authentication-Results headers cannot be believed", "5.7.1")
    verdict = read_gateway_verdict(raw, from_domain, authserv_id)
    if verdict.outcome == "pass":
        return AuthResult("pass", verdict.reason)
    if verdict.outcome == "temperror":
        return _temperror(verdict.reason)
    return _fail(f"the message claims to be from {from_domain} but {verdict.reason}", "5.7.26")


def _by_alignment(raw: bytes, from_domain: str, mail_from: str, peer_ip: str, helo: str,
                  dns: DnsResolver) -> AuthResult:
    try:
        policy, policy_known = lookup_policy(from_domain, dns), True
    except DnsTimeout:  # strict alignment needs no policy; anything less must wait
        policy, policy_known = DmarcPolicy(adkim="s", aspf="s"), False
    signatures = verify_signatures(raw, dns)
    for sig in signatures:
        if sig.result == PASS and aligned(sig.domain, from_domain, policy.adkim):
            return AuthResult("pass", f"valid DKIM signature by {sig.domain} for From {from_domain}")
    spf = check_spf(peer_ip, mail_from, helo, dns)
    if spf.result == "pass" and aligned(spf.domain, from_domain, policy.aspf):
        return AuthResult("pass", f"{peer_ip} is allowed to send for {spf.domain} (SPF) "
                                  f"and {spf.domain} matches From {from_domain}")
    if not policy_known:
        return _temperror(f"the DMARC record of {from_domain} could not be fetched in time")
    if spf.result == "temperror" or any(s.result == TEMPERROR for s in signatures):
        return _temperror(f"DNS did not answer in time while checking {from_domain}: "
                          + "; ".join([s.reason for s in signatures if s.result == TEMPERROR]
                                      + ([spf.explanation] if spf.result == "temperror" else [])))
    return _alignment_failure(from_domain, peer_ip, policy, signatures, spf)


def _alignment_failure(from_domain: str, peer_ip: str, policy: DmarcPolicy,
                       signatures: tuple[DkimSignature, ...], spf: SpfResult) -> AuthResult:
    spf_against = spf.result in ("fail", "softfail") or spf.result == "pass"  # pass: unaligned
    if signatures and spf_against:
        enhanced = "5.7.26"
    elif any(s.result == PASS for s in signatures):
        enhanced = "5.7.22"
    elif any(s.result == REFUSED for s in signatures):
        enhanced = "5.7.21"
    elif not signatures and spf.result == "fail":
        enhanced = "5.7.23"
    else:
        enhanced = "5.7.20"
    note = ("" if policy.found else
            f"; {from_domain} publishes no DMARC record, and the relay still requires one of these")
    reason = (f"the message claims to be from {from_domain} but {_dkim_story(from_domain, signatures)}"
              f" and {_spf_story(from_domain, peer_ip, spf)}{note}")
    return _fail(reason, enhanced)


def _dkim_story(from_domain: str, signatures: tuple[DkimSignature, ...]) -> str:
    if not signatures:
        return "carries no DKIM signature"
    valid = sorted({s.domain for s in signatures if s.result == PASS})
    if valid:
        return (f"carries no valid {from_domain} signature (only one by {', '.join(valid)}, "
                "which says nothing about who wrote it)")
    return "carries no valid DKIM signature: " + "; ".join(
        s.reason for s in signatures if s.result in (REFUSED, FAIL))


def _spf_story(from_domain: str, peer_ip: str, spf: SpfResult) -> str:
    where = f"was not sent from a {from_domain} server"
    stories = {
        "pass": f"{where} ({peer_ip} sends for {spf.domain}, a different domain)",
        "fail": f"{where} ({spf.domain} forbids {peer_ip} to send its mail: SPF fail)",
        "softfail": f"{where} ({spf.domain} marks {peer_ip} as doubtful: SPF softfail)",
        "neutral": f"{where} ({spf.domain} neither allows nor forbids {peer_ip})",
        "none": f"{where} ({spf.domain or 'the envelope sender'} publishes no SPF record)",
        "permerror": f"{where} (the SPF record of {spf.domain} is broken: {spf.explanation})",
    }
    return stories.get(spf.result, f"{where} (SPF {spf.result})")
