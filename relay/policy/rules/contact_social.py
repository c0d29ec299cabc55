"""contact_social: messaging and social-media handles and links.

A handle is a way to talk outside the relay, unseen by the program. Links to
profiles and invites are caught anywhere; handles only in a contact context
("my snap is …", "ig: @name", "add me on discord"), so a mention of Instagram
in passing, or an @name in a quoted tweet, is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from relay.model import Finding, Inspection, PolicyContext
from relay.policy.rules.base import MAX_FINDINGS, Rule, Settings, finding, sources_of
from relay.policy.text import Readable, Source, find_all, run_start, token_windows

NAME = "contact_social"

_PLATFORMS = (
    r"whats\s?app|snap(?:chat)?|insta(?:gram)?|ig|discord|telegram|tele|tg|tik\s?tok|tt|"
    r"face\s?book|fb|messenger|kik|signal|twitter|threads|reddit|linked\s?in|skype|wechat|"
    r"viber|roblox|xbox|psn|steam|twitch|bereal"
)
# Words that follow "my insta is" without being a handle: "my insta is private".
_NOT_HANDLES = (
    r"private|public|down|gone|deleted|banned|blocked|broken|hacked|locked|new|old|"
    r"on|off|the|a|an|not|so|very|really|just|also|still|too|here|there|full|empty|"
    r"same|different|boring|cool|fine|good|bad|better|worse|dead|weird|funny|mostly|only|for|about|"
    r"is|was|name|id|handle|username|account"
)
_HANDLE = rf"(?!(?:{_NOT_HANDLES})\b)@?[\w][\w.\-]{{1,31}}(?:#\d{{4}})?"
_LINK = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?(?:"
    r"wa\.me/\S+|api\.whatsapp\.com/\S+|chat\.whatsapp\.com/\S+|"
    r"snapchat\.com/(?:add|t)/\S+|instagram\.com/\S+|instagr\.am/\S+|"
    r"discord(?:app)?\.(?:gg|com/invite|com/users)/\S+|t\.me/\S+|telegram\.me/\S+|"
    r"tiktok\.com/@\S+|vm\.tiktok\.com/\S+|(?:facebook|fb)\.com/\S+|m\.me/\S+|kik\.me/\S+|"
    r"signal\.me/\S+|signal\.group/\S+|(?:twitter|x)\.com/\S+|threads\.net/@\S+|"
    r"reddit\.com/u(?:ser)?/\S+|roblox\.com/users/\S+|steamcommunity\.com/\S+|"
    r"u\.wechat\.com/\S+|join\.skype\.com/\S+|bere\.al/\S+)",
    re.IGNORECASE,
)
_PHRASES = re.compile(
    r"\b(?:"
    # "whatsapp me", "snap me", "dm me on insta"
    rf"(?:{_PLATFORMS})\s+me\b|"
    # "add me on snap", "follow me on ig", "hmu on discord", "find me on tiktok"
    r"(?:add|follow|friend|message|msg|dm|pm|text|find|hmu|hit\s+me\s+up|talk|chat|reach)"
    rf"(?:\s+me)?\s+(?:on|at|via|over)\s+(?:{_PLATFORMS})\b(?:\s*[:\-]?\s*{_HANDLE})?|"
    # "my snap is sk8r.girl", "my discord is name#1234", "my insta username: @x"
    rf"my\s+(?:{_PLATFORMS}|handle|username|user\s?name|gamertag|@)"
    rf"(?:\s+(?:name|id|handle|username|account|tag|is|=|:))*\s*[:=]?\s*{_HANDLE}|"
    # "ig: @name", "snap - name", "discord: name#1234", "ig @name"
    rf"(?:{_PLATFORMS})(?:\s*(?::|=|-)\s*{_HANDLE}|\s+@[\w][\w.]{{1,29}})"
    r")"
    # "I'm @name on insta", "@name on snap"
    rf"|(?<![\w@])@[\w][\w.]{{1,29}}\s+(?:on|at)\s+(?:{_PLATFORMS})\b",
    re.IGNORECASE,
)
# "follow me @name", "dm me at @name", a handle introduced as a contact.
_AT_HANDLE = re.compile(
    r"\b(?:add|follow|dm|pm|message|msg|text|hmu|find|reach)\s+me\s+(?:at\s+|on\s+)?"
    r"(?<![\w@])@[\w][\w.]{1,29}",
    re.IGNORECASE,
)
# A Discord tag ("name#1234") when the message speaks of Discord at all.
_DISCORD_TAG = re.compile(r"(?<![\w#])[a-z][\w.]{1,31}#\d{4}\b", re.IGNORECASE)


@dataclass(frozen=True)
class SocialSettings(Settings):
    pass


# Every match of _PHRASES and _AT_HANDLE holds an "@" or a word starting
# with one of these (the platforms' first words and the handle words), and
# none holds a character outside [\w\s.#:=@-] or a sentence's closing "."
# and space, except the "." ending an @handle ("@jess. on insta"). So the
# patterns run only on the stretches between such cuts that hold a cue, and
# find there what a scan of the whole text finds.
_CUE_WORDS = (
    "whats", "snap", "insta", "ig", "discord", "tele", "tg", "tik", "tt", "face", "fb", "messenger",
    "kik", "signal", "twitter", "threads", "reddit", "linked", "skype", "wechat", "viber", "roblox",
    "xbox", "psn", "steam", "twitch", "bereal", "handle", "user", "gamertag",
)  # fmt: skip
# Every match of _LINK holds a "/" straight after one of these (its host's end), in the key's small letters.
_HOST_ENDS = (".me/", ".com/", ".am/", ".gg/", ".net/", ".group/", ".al/")


def _by_first_letter(words: tuple[str, ...]) -> str:
    """An alternation of ``words`` grouped by their first letter, so a word's start is compared once per letter."""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0], []).append(word[1:])
    return "|".join(first + "(?:" + "|".join(rests) + ")" for first, rests in groups.items())


# A cue word at the start of a word, in the distinct words each after a space (Source.spaced_key_words).
# No cue word starts another, so at a word's start at most one can match: the matches are every cue word present.
_CUE_STARTS = re.compile(f" ({_by_first_letter(_CUE_WORDS)})")
_CUT = re.compile(r"[^\w\s.#:=@-]|\.(?=\s)")
_CUT_BEFORE = re.compile(r"[^\w\s.#:=@-]|(?<=\s)\.")  # the same cuts, searched in the reversed text
_WORD_CHAR = re.compile(r"\w")


def _cues(source: Source) -> list[int]:
    """Where a match could be: each "@" that may be in one and each word starting with a cue word.

    Only the cue words that start some word of the source are looked up in
    its text, which one search of its distinct words tells for each.
    """
    key = source.key
    cues = [at for at in find_all(key, "@") if _may_be_handle(key, at)]
    for cue in set(_CUE_STARTS.findall(source.spaced_key_words)):
        cues += [i for i in find_all(key, cue) if i == 0 or not _WORD_CHAR.match(key, i - 1)]
    return sorted(cues)


def _may_be_handle(key: str, at: int) -> bool:
    """Whether the "@" at ``at`` may be in a match without a cue word: "@name" or "my @".

    Every other match holding an "@" holds a cue word too, so an "@" on its
    own ("we met @ the park") need not be a cue.
    """
    after = key[at + 1 : at + 2]
    if after.isalnum() or after == "_":  # [\w]
        return True
    before = at
    while before > 0 and key[before - 1].isspace():
        before -= 1
    if before == at or before < 2 or key[before - 2 : before] != "my":
        return False
    return before == 2 or not (key[before - 3].isalnum() or key[before - 3] == "_")


def _ends_handle(text: str, dot: int) -> bool:
    """Whether the "." at ``dot`` closes a run of non-space characters holding an "@"."""
    return "@" in text[run_start(text, dot) : dot]


def _segment(text: str, backwards: str, cue: int) -> tuple[int, int]:
    """The stretch between the cuts either side of ``cue``."""
    size, end, at = len(text), len(text), cue
    while (cut := _CUT.search(text, at)) is not None:
        if cut.group() != "." or not _ends_handle(text, cut.start()):
            end = cut.end() if cut.group() == "." else cut.start()
            break
        at = cut.end()
    start, at = 0, size - cue
    while (cut := _CUT_BEFORE.search(backwards, at)) is not None:
        index = size - 1 - cut.start()
        if cut.group() != "." or not _ends_handle(text, index):
            start = index + 1
            break
        at = cut.end()
    return start, end


def _link_slashes(source: Source) -> list[int]:
    """Each "/" that may end a link's host, one of ``_HOST_ENDS``: only the runs around those can hold a link."""
    key = source.key
    return [at for at in find_all(key, "/") if key.endswith(_HOST_ENDS, 0, at + 1)] if "/" in key else []


def _spans(source: Source) -> list[tuple[int, int]]:
    text = source.text
    spans = [m.span() for lo, hi in token_windows(text, _link_slashes(source)) for m in _LINK.finditer(text, lo, hi)]
    cues = _cues(source)
    if cues:
        backwards = text[::-1]
        segments = sorted({_segment(text, backwards, cue) for cue in cues})
        spans += [m.span() for lo, hi in segments for p in (_PHRASES, _AT_HANDLE) for m in p.finditer(text, lo, hi)]
    if "#" in text and "discord" in source.key_words:
        spans += [m.span() for lo, hi in token_windows(text, find_all(text, "#")) for m in _DISCORD_TAG.finditer(text, lo, hi)]
    return sorted(spans)


def check(
    inspection: Inspection, ctx: PolicyContext, settings: SocialSettings, readable: Readable | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for source in sources_of(inspection, readable).sources:
        taken: list[tuple[int, int]] = []
        for start, end in _spans(source):
            key = source.text[start:end].lower()
            if key in seen or any(start < e and s < end for s, e in taken):
                continue
            seen.add(key)
            taken.append((start, end))
            reason = f"a social-media or messaging handle or link in the {source.where}"
            findings.append(finding(NAME, settings, reason, source.text, start, end))
    return findings[:MAX_FINDINGS]


RULE = Rule(
    name=NAME,
    description="A messaging or social-media handle or link: a way to talk outside the relay.",
    settings=SocialSettings,
    check=check,
)
