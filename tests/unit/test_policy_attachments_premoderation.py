"""attachments, premoderation and uninspectable: rules about the message rather than its words."""

import pytest

from relay.model import Action, Attachment, Inspection, Participant, PolicyContext, Role
from relay.policy.rules.attachments import AttachmentSettings
from relay.policy.rules.attachments import check as check_attachments
from relay.policy.rules.premoderation import PremoderationSettings
from relay.policy.rules.premoderation import check as check_premoderation
from relay.policy.rules.uninspectable import UninspectableSettings
from relay.policy.rules.uninspectable import check as check_uninspectable

MB = 1024 * 1024


def person(handle, premoderate=False, role=Role.MENTEE):
    return Participant(
        id=1, program_id=1, email=f"{handle}@example.com", alias=f"{handle}@relay.example",
        handle=handle, role=role, premoderate=premoderate,
    )  # fmt: skip


@pytest.mark.parametrize(
    "attachment, reason",
    [
        (Attachment("photo.JPG", "image/jpeg", 2 * MB), None),
        (Attachment("essay.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", MB), None),
        (Attachment("notes.pdf", "Application/PDF", 10 * MB), None),
        (Attachment("tool.exe", "application/x-msdownload", 100), "file type application/x-msdownload is not allowed"),
        (Attachment("song.mp3", "audio/mpeg", MB), "file type audio/mpeg is not allowed"),
        (Attachment("cat.jpg.exe", "image/jpeg", 100), "file name ends in a blocked extension"),
        (Attachment("logo.svg", "image/svg+xml", 100), "file name ends in a blocked extension"),
        (Attachment("scan.png", "image/png", 10 * MB + 1), "10.0 MB is over the 10 MB limit"),
        (Attachment("", "", 5), "file type unknown is not allowed"),
    ],
)
def test_attachment_types_names_and_sizes(attachment, reason):
    found = check_attachments(Inspection(attachments=(attachment,)), PolicyContext(), AttachmentSettings())
    if reason is None:
        assert found == []
    else:
        assert [f.reason for f in found] == [f"attachment {attachment.filename or '(no name)'}: {reason}"]
        assert found[0].action is Action.HOLD


def test_attachment_limits_are_settings():
    settings = AttachmentSettings(allowed_types=("audio/*",), max_size_mb=1, action=Action.REJECT)
    song = Attachment("song.mp3", "audio/mpeg", 2 * MB)
    [finding] = check_attachments(Inspection(attachments=(song,)), PolicyContext(), settings)
    assert finding.action is Action.REJECT
    assert finding.reason == "attachment song.mp3: 2.0 MB is over the 1 MB limit"


@pytest.mark.parametrize(
    "ctx, settings, reasons",
    [
        (PolicyContext(pairing_message_count=0), PremoderationSettings(), []),
        (
            PolicyContext(pairing_message_count=2),
            PremoderationSettings(premoderate_first=3),
            ["message 3 of a new pairing (the first 3 are pre-moderated)"],
        ),
        (PolicyContext(pairing_message_count=3), PremoderationSettings(premoderate_first=3), []),
        (
            PolicyContext(sender=person("kind-otter"), recipients=(person("brave-fox", premoderate=True),)),
            PremoderationSettings(),
            ["the recipient brave-fox is pre-moderated"],
        ),
        (
            PolicyContext(sender=person("brave-fox", premoderate=True)),
            PremoderationSettings(),
            ["the sender brave-fox is pre-moderated"],
        ),
        (
            PolicyContext(pairing_message_count=50),
            PremoderationSettings(premoderate_all=True),
            ["every message in this program is pre-moderated"],
        ),
    ],
)
def test_premoderation(ctx, settings, reasons):
    found = check_premoderation(Inspection(texts=("hello",)), ctx, settings)
    assert [f.reason for f in found] == reasons
    assert all(f.action is Action.HOLD for f in found)


@pytest.mark.parametrize(
    "inspection, settings, count",
    [
        (Inspection(texts=("hi",)), UninspectableSettings(), 0),
        (Inspection(encrypted=True), UninspectableSettings(), 1),
        (Inspection(signed=True), UninspectableSettings(), 1),
        (Inspection(signed=True), UninspectableSettings(hold_signed=False), 0),
        (Inspection(problems=("unknown charset x-klingon", "truncated multipart")), UninspectableSettings(), 2),
    ],
)
def test_uninspectable(inspection, settings, count):
    found = check_uninspectable(inspection, PolicyContext(), settings)
    assert len(found) == count
    assert all(f.action is Action.HOLD for f in found)


def test_uninspectable_reason_names_the_problem():
    [finding] = check_uninspectable(Inspection(problems=("unknown charset x-klingon",)), PolicyContext(), UninspectableSettings())
    assert finding.reason == "the message could not be read fully: unknown charset x-klingon"
