"""Reading the verdict a trusted gateway wrote in Authentication-Results (RFC 8601).

Anyone can write an Authentication-Results header. Only one is believed: the
topmost one bearing our gateway's authserv-id, and only when the message
arrived straight from that gateway (so it was the last to add headers and
would have put its own header above any forgery). Every other one is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import authres
import dkim

from relay.auth.dmarc import aligned

_FOLD = re.compile(rb"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class GatewayVerdict:
    """What the trusted header says about the From domain.

    outcome: pass (dmarc=pass, or a dkim/spf pass aligned with From),
    fail, temperror, or missing (no header from the gateway).
    """

    outcome: str
    reason: str


def trusted_header(raw: bytes, authserv_id: str) -> authres.AuthenticationResultsHeader | None:
    """The topmost parseable A-R header whose authserv-id is ``authserv_id``."""
    headers, _ = dkim.rfc822_parse(raw)
    for name, value in headers:
        if name.strip().lower() != b"authentication-results":
            continue
        text = _FOLD.sub(b"", value).decode("utf-8", "replace").strip()
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(text)
        except Exception:  # authres raises several unrelated types on bad syntax
            continue
        if (parsed.authserv_id or "").lower() == authserv_id.lower():
            return parsed
    return None


def _prop(result, ptype: str, pname: str) -> str:
    for prop in result.properties:
        if prop.type == ptype and prop.name == pname:
            return (prop.value or "").strip().lower()
    return ""


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip("<>").rstrip(".")


def read_gateway_verdict(raw: bytes, from_domain: str, authserv_id: str) -> GatewayVerdict:
    """Does the gateway's header show the From domain authenticated?"""
    header = trusted_header(raw, authserv_id)
    if header is None:
        return GatewayVerdict("missing", f"the message carries no Authentication-Results "
                                         f"from {authserv_id}")
    for result in header.results:  # the gateway's DMARC verdict, when it reached one, decides
        outcome = (result.result or "").lower()
        if result.method.lower() == "dmarc" and outcome in ("pass", "fail", "temperror"):
            header_from = _prop(result, "header", "from")
            if not header_from or header_from == from_domain:
                return _dmarc_verdict(outcome, from_domain, authserv_id)
    # dmarc=none or permerror (no usable record): an aligned pass must still be shown.
    temp = False
    for result in header.results:
        method, outcome = result.method.lower(), (result.result or "").lower()
        temp = temp or outcome == "temperror"
        if outcome != "pass":
            continue
        if method == "dkim":
            signer = _prop(result, "header", "d") or _domain(_prop(result, "header", "i"))
        elif method == "spf":
            signer = _domain(_prop(result, "smtp", "mailfrom") or _prop(result, "smtp", "helo"))
        else:
            continue
        if aligned(signer, from_domain):
            return GatewayVerdict("pass", f"{authserv_id} reports {method}=pass for {signer}")
    if temp:
        return GatewayVerdict("temperror", f"{authserv_id} could not finish its checks")
    return GatewayVerdict("fail", f"{authserv_id} found no DKIM or SPF pass for {from_domain}")


def _dmarc_verdict(outcome: str, from_domain: str, authserv_id: str) -> GatewayVerdict:
    if outcome == "pass":
        return GatewayVerdict("pass", f"{authserv_id} reports dmarc=pass for {from_domain}")
    if outcome == "temperror":
        return GatewayVerdict("temperror",
                              f"{authserv_id} could not finish the DMARC check for {from_domain}")
    return GatewayVerdict("fail", f"{authserv_id} reports dmarc={outcome} for {from_domain}")
