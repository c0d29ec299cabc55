"""The bytes a delivery carries, before signing: one answer for the outbound worker, the exports and relayctl.

Three kinds of delivery: relay-written messages stored ready to send
(transcripts, guardians' copies), notices stored as an intent and rendered
now, and forwards masked now from the original. Rendering and masking are
pure given the store's rows and the templates, so a resend, a person's
export and ``relayctl messages show --sent`` all see the copy that was sent.
"""

from __future__ import annotations

from jinja2 import Environment

from relay import notices
from relay.outbound.jobs import OutboundJob
from relay.outbound.rewrite import build_masked_copy


def copy_bytes(job: OutboundJob, templates: Environment) -> bytes | None:
    """What ``job`` sends (unsigned); None for a forward whose original was purged."""
    if job.content is not None:
        return job.content
    if job.intent is not None:
        return notices.render_intent(templates, job.intent)
    if not job.raw:
        return None
    return build_masked_copy(job.raw, job.mask)
