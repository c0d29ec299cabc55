"""contact_links: links to meeting rooms and file-sharing services.

A video call or a shared folder is a conversation the program cannot see, and
shared files often carry their owner's real name and address. The list of
services is a setting; an entry is a host ("zoom.us", any subdomain matches)
or a host and path prefix ("icloud.com/sharedalbum").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.rules.base import MAX_FINDINGS, Rule, Settings, finding, sources_of
from relay.policy.text import Readable, Source, find_all, token_windows

NAME = "contact_links"

_URL = re.compile(
    r"(?<![\w@.-])(?:[a-z][a-z0-9+.-]*://)?((?:[a-z0-9-]+\.)+[a-z]{2,24})(/[^\s<>\"')\]]*)?",
    re.IGNORECASE,
)

# What every match of _URL holds (its "[a-z]{2,24}" after a "."), in the key's lower case.
_DOT_LETTER = re.compile(r"\.[a-z]")

DEFAULT_SERVICES = (
    "zoom.us", "zoom.com", "meet.google.com", "teams.microsoft.com", "teams.live.com",
    "whereby.com", "meet.jit.si", "8x8.vc", "webex.com", "gotomeeting.com", "join.skype.com",
    "facetime.apple.com", "drive.google.com", "docs.google.com", "photos.app.goo.gl",
    "dropbox.com", "db.tt", "wetransfer.com", "we.tl", "onedrive.live.com", "1drv.ms",
    "sharepoint.com", "icloud.com", "box.com", "mega.nz",
)  # fmt: skip


@dataclass(frozen=True)
class LinkSettings(Settings):
    services: tuple[str, ...] = DEFAULT_SERVICES


def _service(host: str, path: str, services: tuple[str, ...]) -> str:
    host = host.lower().removeprefix("www.")
    for entry in services:
        entry_host, _, entry_path = entry.lower().partition("/")
        on_host = host == entry_host or host.endswith("." + entry_host)
        if on_host and path.lower().removeprefix("/").startswith(entry_path):
            return entry
    return ""


def _links(source: Source, services: tuple[str, ...]) -> list[re.Match[str]]:
    """Link-shaped matches in the space-free runs that name one of the services' hosts.

    A link has no space in it and its host ends in a listed host, so the text
    around no listed host cannot hold a finding; and every link's host ends
    in a "." and a letter, so a text without one holds no link at all (one
    search instead of one per host).
    """
    key = source.key
    if not _DOT_LETTER.search(key):
        return []
    at = sorted(i for host in _hosts(services) if host in key for i in find_all(key, host))
    return [m for start, end in token_windows(source.text, at) for m in _URL.finditer(source.text, start, end)]


@functools.lru_cache(maxsize=64)
def _hosts(services: tuple[str, ...]) -> frozenset[str]:
    """The hosts of the listed services, worked out once per list."""
    return frozenset(entry.lower().partition("/")[0] for entry in services) - {""}


def check(
    inspection: Inspection, ctx: PolicyContext, settings: LinkSettings, readable: Readable | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for source in sources_of(inspection, readable).sources:
        for match in _links(source, settings.services):
            service = _service(match.group(1), match.group(2) or "", settings.services)
            link = match.group().rstrip(".,;:!?")  # sentence punctuation is not part of a link
            if not service or link.lower() in seen:
                continue
            seen.add(link.lower())
            reason = f"a link to {service} (meeting or file sharing) in the {source.where}"
            start = match.start()
            findings.append(finding(NAME, settings, reason, source.text, start, start + len(link)))
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="A link to a meeting or file-sharing service outside the relay.",
    settings=LinkSettings,
    check=check,
)
