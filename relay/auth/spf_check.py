"""SPF (RFC 7208) for the envelope sender, evaluated by pyspf over our resolver.

pyspf looks names up through a module-level ``spf.DNSLookup``; replacing
that global would make concurrent checks answer each other's questions.
Instead ``_Query`` overrides the one method that asks DNS, per query object,
so checks in different threads share nothing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import reduce

import spf

from relay.auth.dns import DnsResolver, DnsTimeout

# pyspf's own per-lookup limit; our resolver enforces its timeout itself.
_SPF_TIMEOUT = 20


@dataclass(frozen=True)
class SpfResult:
    """result: pass, fail, softfail, neutral, none, permerror or temperror.

    domain is the domain whose record was evaluated: the MAIL FROM domain, or
    the HELO name for a null sender (bounces).
    """

    result: str
    domain: str
    explanation: str


class _Query(spf.query):
    """A pyspf query whose DNS questions go to an injected resolver."""

    def __init__(self, resolver: DnsResolver, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._resolver = resolver

    def dns(self, name, qtype, cnames=None, ignore_void=False):
        """Answer in the shapes pyspf's own lookup gives, counting void lookups."""
        name = str(name).rstrip(".").lower()
        labels_ok = reduce(lambda ok, label: ok and 0 < len(label) < 64, name.split("."), True)
        if not name or not labels_ok:
            return []
        cached = self.cache.get((name, qtype))
        if cached:
            return cached
        try:
            result = self._ask(name, qtype)
        except DnsTimeout as exc:
            raise spf.TempError(f"DNS {exc}") from exc
        self.cache[(name, qtype)] = result
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        return result

    def _ask(self, name: str, qtype: str) -> list:
        if qtype == "TXT":
            return [(text.encode("utf-8"),) for text in self._resolver.txt(name)]
        if qtype == "A":
            return self._resolver.a(name)
        if qtype == "AAAA":
            return self._resolver.aaaa(name)
        if qtype == "MX":
            return list(enumerate(self._resolver.mx(name)))  # already in preference order
        if qtype == "PTR":
            return self._resolver.ptr(_ip_from_reverse(name))
        return []  # the obsolete SPF record type: never asked for unless "harsh"


def _ip_from_reverse(name: str) -> str:
    """The address of an in-addr.arpa or ip6.arpa name."""
    labels = name.split(".")
    if name.endswith(".in-addr.arpa"):
        return ".".join(reversed(labels[:4]))
    nibbles = "".join(reversed(labels[:32]))
    return str(ipaddress.IPv6Address(int(nibbles, 16)))


def check_spf(peer_ip: str, mail_from: str, helo: str, dns: DnsResolver) -> SpfResult:
    """Is ``peer_ip`` allowed to send for the envelope sender's domain?"""
    query = _Query(dns, i=peer_ip, s=mail_from, h=helo, timeout=_SPF_TIMEOUT)
    result, _code, explanation = query.check()
    return SpfResult(result=result, domain=query.o.lower().rstrip("."),
                     explanation=explanation)
