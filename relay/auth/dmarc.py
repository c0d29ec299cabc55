"""DMARC records and identifier alignment (RFC 7489 §3.1, §6.6.3).

The relay uses DMARC's idea of alignment, not its policy: a message is
authentic when a DKIM or SPF pass belongs to the From header's domain. The
record only says how strictly to compare (adkim, aspf); its p= is shown to
moderators but never relaxes the check (see ``relay.auth.sender``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from dkim.util import InvalidTagValueList, parse_tag_value
from publicsuffixlist import PublicSuffixList

from relay.auth.dns import DnsResolver


@dataclass(frozen=True)
class DmarcPolicy:
    """What a From domain publishes; ``found`` is False when it publishes nothing."""

    found: bool = False
    record_domain: str = ""  # where the record was found (the From or the organisational domain)
    p: str = "none"
    adkim: str = "r"
    aspf: str = "r"


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The Public Suffix List shipped with publicsuffixlist, read once; never changed."""
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registered domain: mail.example.co.uk -> example.co.uk."""
    domain = domain.rstrip(".").lower()
    return _suffixes().privatesuffix(domain) or domain


def aligned(identifier: str, from_domain: str, mode: str = "r") -> bool:
    """Does an authenticated domain stand for the From domain? (s: equal, r: same organisation)"""
    identifier, from_domain = identifier.rstrip(".").lower(), from_domain.rstrip(".").lower()
    if not identifier or not from_domain:
        return False
    if identifier == from_domain:
        return True
    return mode != "s" and organizational_domain(identifier) == organizational_domain(from_domain)


def parse_record(text: str) -> dict[str, str] | None:
    """The tags of a DMARC TXT record, or None when it is not one."""
    if not text.replace(" ", "").startswith("v=DMARC1"):
        return None
    try:
        tags = parse_tag_value(text.encode("utf-8"))
    except (InvalidTagValueList, UnicodeError):
        return None
    return {k.decode().lower(): v.decode().strip() for k, v in tags.items()}


def lookup_policy(from_domain: str, dns: DnsResolver) -> DmarcPolicy:
    """The From domain's DMARC record, else its organisational domain's.

    Raises DnsTimeout when either question goes unanswered.
    """
    from_domain = from_domain.rstrip(".").lower()
    org = organizational_domain(from_domain)
    for where in dict.fromkeys((from_domain, org)):
        records = [r for r in map(parse_record, dns.txt(f"_dmarc.{where}")) if r is not None]
        if len(records) == 1:  # RFC 7489 §6.6.3: none or several means no policy here
            tags = records[0]
            policy = tags.get("p", "none").lower()
            if where != from_domain:
                policy = tags.get("sp", policy).lower()
            return DmarcPolicy(
                found=True,
                record_domain=where,
                p=policy,
                adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
                aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
            )
    return DmarcPolicy()
