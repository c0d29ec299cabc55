"""Real clients' long lines over real SMTP: accepted, delivered, and arriving whole under 998 octets a line."""

from __future__ import annotations

import email
import email.policy

MENTOR = "will.mark@mail.example.com"
MENTEE = "arne.heyde@school.example.net"
PARAGRAPH = (
    "Thanks for going through the essay with me, I changed the second section the way you suggested "
    "and I think the argument is much clearer now, although the conclusion still needs work. "
)


def outlook_reply(mentor_alias: str, line: str) -> bytes:
    """The shape of an Outlook desktop reply: one paragraph per line, a From: block under the reply."""
    return (
        f'From: "van der Heyde, Arne" <{MENTEE}>\r\n'
        f'To: "tall-cedar" <{mentor_alias}>\r\n'
        "Subject: RE: essay\r\n"
        "Date: Mon, 02 Nov 2026 15:00:00 +0000\r\n"
        "Message-ID: <DM6PR01MB0001@DM6PR01MB0001.namprd01.prod.outlook.com>\r\n"
        "Thread-Topic: essay\r\n"
        "Content-Language: en-US\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="us-ascii"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        f"Hi Will,\r\n\r\n{line}\r\n\r\nArne\r\n\r\n"
        "-----Original Message-----\r\n"
        f"From: Will Mark <{MENTOR}>\r\n"
        "Sent: Sunday, November 1, 2026 6:00 PM\r\n"
        f"To: van der Heyde, Arne <{MENTEE}>\r\n"
        "Subject: essay\r\n\r\n"
        "Will you send me the new version?\r\n"
    ).encode("ascii")


async def test_a_long_line_outlook_reply_is_accepted_and_arrives_whole(world):
    mentor_alias = world.enrol(MENTOR, "mentor", "tall-cedar")
    world.enrol(MENTEE, "mentee", "quiet-wren")
    world.pair(MENTOR, MENTEE)
    line = (PARAGRAPH * 9)[:1523]
    raw = outlook_reply(mentor_alias, line)
    assert max(len(li) for li in raw.split(b"\r\n")) == 1523

    reply = await world.send(MENTEE, mentor_alias, raw=raw)
    assert reply.code == 250, str(reply)
    await world.flush()
    (copy,) = world.sink.to(MENTOR)

    assert max(len(li) for li in copy.data.split(b"\r\n")) <= 998
    assert MENTEE.encode() not in copy.data.lower()
    message = email.message_from_bytes(copy.data, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert line in text.split("\n")  # the paragraph arrives whole, on one line
    assert "Hi Will," in text  # the recipient's own name: learned from no From header yet, left alone
    # The writer's name, as Outlook wrote it in From ("van der Heyde, Arne"), is masked in every form.
    assert "\nquiet-wren\n" in text and "To: quiet-wren <" in text and "Arne" not in text and "Heyde" not in text
    assert "From: Will Mark <" in text and MENTOR not in text


async def test_a_line_past_the_limit_is_refused_with_a_clear_reply(world):
    mentor_alias = world.enrol(MENTOR, "mentor", "tall-cedar")
    world.enrol(MENTEE, "mentee", "quiet-wren")
    world.pair(MENTOR, MENTEE)
    reply = await world.send(MENTEE, mentor_alias, raw=outlook_reply(mentor_alias, "x" * 70_000))
    assert reply.code == 500 and "5.5.2" in reply.text and "longer than 65536 bytes" in reply.text
