"""attachments: only the kinds of files a mentoring conversation needs, and not too big."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from relay.model import Action, Attachment, Finding, Inspection, PolicyContext
from relay.policy.text import Readable
from relay.policy.rules.base import MAX_FINDINGS, Rule, Settings

NAME = "attachments"

DEFAULT_TYPES = (
    "image/*",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.oasis.opendocument.*",
    "application/rtf",
    "text/plain",
)
# Whatever type a sender declares, these names run code or hide it.
DEFAULT_BLOCKED = (
    ".exe", ".scr", ".bat", ".cmd", ".com", ".pif", ".js", ".vbs", ".ps1", ".msi",
    ".jar", ".apk", ".dmg", ".svg", ".html", ".htm", ".lnk", ".iso",
)  # fmt: skip


@dataclass(frozen=True)
class AttachmentSettings(Settings):
    action: Action = Action.HOLD
    allowed_types: tuple[str, ...] = DEFAULT_TYPES
    blocked_extensions: tuple[str, ...] = DEFAULT_BLOCKED
    max_size_mb: float = 10.0


def _problem(attachment: Attachment, settings: AttachmentSettings) -> str:
    content_type = attachment.content_type.lower().strip()
    name = attachment.filename.lower().strip()
    if not any(fnmatch.fnmatchcase(content_type, p.lower()) for p in settings.allowed_types):
        return f"file type {content_type or 'unknown'} is not allowed"
    if any(name.endswith(ext.lower()) for ext in settings.blocked_extensions):
        return "file name ends in a blocked extension"
    if attachment.size > settings.max_size_mb * 1024 * 1024:
        size_mb = attachment.size / (1024 * 1024)
        return f"{size_mb:.1f} MB is over the {settings.max_size_mb:g} MB limit"
    return ""


def check(
    inspection: Inspection, ctx: PolicyContext, settings: AttachmentSettings, readable: Readable | None = None
) -> list[Finding]:
    findings = []
    for attachment in inspection.attachments:
        problem = _problem(attachment, settings)
        if problem:
            label = attachment.filename or "(no name)"
            findings.append(
                Finding(
                    rule=NAME,
                    action=settings.action,
                    reason=f"attachment {label}: {problem}",
                    excerpt=f"{label} ({attachment.content_type}, {attachment.size} bytes)",
                    severity=settings.severity,
                    match=label,
                )
            )
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="An attachment of a type not allowed, with a blocked name, or too large.",
    settings=AttachmentSettings,
    check=check,
)
