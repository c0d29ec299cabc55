"""Message-IDs the relay writes, and the id lists of In-Reply-To and References.

Clients write these headers carelessly (missing brackets, folded inside an id,
comments, commas), so reading is forgiving while writing is strict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_ID_OR_BARE = re.compile(r"<([^<>]*)>|([^\s<>,;()\"]+@[^\s<>,;()\"]+)")
_NOT_IN_ID = re.compile(r"[\s\x00-\x1f\x7f<>\"]")
_COMMENT = re.compile(r"\([^()]*\)")


def new_message_id(domain: str, token: str) -> str:
    """`<token@domain>`; the caller brings the randomness so this stays pure."""
    clean_token = _NOT_IN_ID.sub("", token).replace("@", "")
    clean_domain = _NOT_IN_ID.sub("", domain).replace("@", "")
    return f"<{clean_token}@{clean_domain}>"


def parse_id_list(value: str) -> tuple[str, ...]:
    """Every id in `value`, each with angle brackets, in order, without repeats."""
    text = _COMMENT.sub(" ", str(value or ""))
    ids: list[str] = []
    for match in _ID_OR_BARE.finditer(text):
        inner = _NOT_IN_ID.sub("", match.group(1) if match.group(1) is not None else match.group(2))
        if not inner:
            continue
        msg_id = f"<{inner}>"
        if msg_id not in ids:
            ids.append(msg_id)
    return tuple(ids)


def format_id_list(ids: Sequence[str], limit: int = 20) -> str:
    """Ids separated by spaces; past `limit`, keep the first (the thread's
    root) and the newest, which are the ones clients use to thread."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    clean = parse_id_list(" ".join(f"<{i.strip().strip('<>')}>" for i in ids if i and i.strip()))
    if len(clean) > limit:
        clean = clean[-1:] if limit == 1 else clean[:1] + clean[-(limit - 1) :]
    return " ".join(clean)
