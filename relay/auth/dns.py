"""The DNS questions sender authentication asks, behind one small protocol.

DKIM, SPF and DMARC all read DNS through a ``DnsResolver`` passed in by the
caller, so tests serve records from memory and production uses ``SystemDns``.
Every method blocks: callers on an event loop run authentication in a thread.
"""

from __future__ import annotations

from typing import Protocol

import dns.exception
import dns.name
import dns.resolver
import dns.reversename


class DnsTimeout(Exception):
    """The name could not be resolved in time; the answer is unknown, not empty."""


class DnsResolver(Protocol):
    """Answers in plain strings; [] for NXDOMAIN or no data; DnsTimeout when unsure."""

    def txt(self, name: str) -> list[str]:
        """Each TXT record at ``name``, its strings joined."""

    def a(self, name: str) -> list[str]:
        """IPv4 addresses of ``name``."""

    def aaaa(self, name: str) -> list[str]:
        """IPv6 addresses of ``name``."""

    def mx(self, name: str) -> list[str]:
        """Exchange host names of ``name``, most preferred first."""

    def ptr(self, ip: str) -> list[str]:
        """Names the reverse zone gives for ``ip`` (SPF's ptr mechanism)."""


class SystemDns:
    """``DnsResolver`` over dnspython, each question bounded by ``timeout`` seconds.

    A resolver that fails (SERVFAIL, no reachable server) is treated like a
    timeout: the honest answer is "try again later", never "no record".
    """

    def __init__(self, timeout: float = 5.0, nameservers: list[str] | None = None):
        self._resolver = dns.resolver.Resolver(configure=nameservers is None)
        if nameservers is not None:
            self._resolver.nameservers = list(nameservers)
        self._timeout = timeout

    def _query(self, name: str, rdtype: str) -> list:
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException:  # a malformed name (often from a forged header)
            return []
        try:
            answer = self._resolver.resolve(qname, rdtype, lifetime=self._timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:  # timeout, SERVFAIL, no server
            raise DnsTimeout(f"{rdtype} {name}: {exc}") from exc
        return list(answer)

    def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self._query(name, "TXT")]

    def a(self, name: str) -> list[str]:
        return [r.address for r in self._query(name, "A")]

    def aaaa(self, name: str) -> list[str]:
        return [r.address for r in self._query(name, "AAAA")]

    def mx(self, name: str) -> list[str]:
        records = sorted(self._query(name, "MX"), key=lambda r: r.preference)
        return [r.exchange.to_text(omit_final_dot=True) for r in records]

    def ptr(self, ip: str) -> list[str]:
        name = dns.reversename.from_address(ip).to_text()
        return [r.target.to_text(omit_final_dot=True) for r in self._query(name, "PTR")]
