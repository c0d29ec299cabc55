"""Who really sent it: DKIM and SPF aligned with From, or a trusted gateway's word."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import dkim
import pytest

from relay.auth.dmarc import aligned, lookup_policy, organizational_domain
from relay.auth.dns import SystemDns
from relay.auth.sender import AuthResult, authenticate
from relay.auth.spf_check import check_spf
from relay.outbound.dkim import Signer, generate_key, public_txt_value
from tests.fixtures.dns import FakeDns

GOOD_IP, BAD_IP, ATTACKER_IP = "192.0.2.25", "198.51.100.66", "203.0.113.9"
GATEWAY = "10.20.0.5"
AUTHSERV = "gw.mentor.example.org"


def message(sender: str = "Rosa Diaz <rosa@school.example>", extra: str = "") -> bytes:
    return (
        f"{extra}From: {sender}\r\n"
        "To: brave-fox-3m8d1p@mentor.example.org\r\n"
        "Subject: my essay\r\n"
        "Date: Mon, 01 Dec 2025 10:00:00 +0000\r\n"
        "Message-ID: <CAF+essay1@mail.school.example>\r\n"
        "\r\n"
        "Here is the draft you asked for.\r\n"
    ).encode()


@pytest.fixture(scope="module")
def keys() -> dict[str, bytes]:
    return {"school": generate_key(2048), "attacker": generate_key(2048),
            "plain": generate_key(2048)}


@pytest.fixture(scope="module")
def key_records(keys) -> dict[str, str]:
    return {name: public_txt_value(pem) for name, pem in keys.items()}


@pytest.fixture
def dns(key_records) -> FakeDns:
    return (FakeDns()
            .add("s1._domainkey.school.example", "TXT", key_records["school"])
            .add("school.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
            .add("_dmarc.school.example", "TXT", "v=DMARC1; p=reject; adkim=r")
            .add("s1._domainkey.attacker.example", "TXT", key_records["attacker"])
            .add("attacker.example", "TXT", "v=spf1 ip4:203.0.113.0/24 -all")
            .add("k1._domainkey.plain.example", "TXT", key_records["plain"])
            .add("plain.example", "TXT", "v=spf1 ip4:192.0.2.0/24 ~all"))


def signed(keys, key: str, domain: str, raw: bytes, selector: str = "s1") -> bytes:
    return Signer(keys[key], selector, domain).sign(raw)


def check(raw: bytes, dns, mail_from="rosa@school.example", ip=GOOD_IP, mode="dmarc",
          **kw) -> AuthResult:
    return authenticate(raw, mail_from, ip, "mail.school.example", mode, dns, **kw)


# --- dmarc mode: the relay checks itself ------------------------------------------------

DMARC_CASES = [
    # name, build(keys), mail_from, peer ip, verdict, enhanced, words in the reason
    ("signed by the From domain, sent from anywhere",
     lambda k: signed(k, "school", "school.example", message()),
     "bounce@elsewhere.example", BAD_IP, "pass", "", "valid DKIM signature by school.example"),
    ("signed by a subdomain key (relaxed alignment)",
     lambda k: signed(k, "school", "school.example",
                      message("Rosa <rosa@students.school.example>")),
     "", BAD_IP, "pass", "", "school.example"),
    ("unsigned, SPF pass for the From domain",
     lambda k: message(), "rosa@school.example", GOOD_IP, "pass", "", "SPF"),
    ("unsigned, SPF pass for a subdomain envelope",
     lambda k: message(), "bounces@lists.school.example", GOOD_IP, "fail", "5.7.20",
     "publishes no SPF record"),
    ("spoofed From, signed by the attacker",
     lambda k: signed(k, "attacker", "attacker.example", message()),
     "rosa@school.example", ATTACKER_IP, "fail", "5.7.26",
     "carries no valid school.example signature (only one by attacker.example"),
    ("spoofed From, attacker envelope passes its own SPF",
     lambda k: signed(k, "attacker", "attacker.example", message()),
     "x@attacker.example", ATTACKER_IP, "fail", "5.7.26",
     "sends for attacker.example, a different domain"),
    ("unsigned from an SPF-fail IP",
     lambda k: message(), "rosa@school.example", BAD_IP, "fail", "5.7.23",
     "forbids 198.51.100.66 to send its mail"),
    ("signature verifies but belongs to another domain, SPF silent",
     lambda k: signed(k, "attacker", "attacker.example", message()),
     "x@nowhere.example", ATTACKER_IP, "fail", "5.7.22", "only one by attacker.example"),
    ("signature broken in transit, SPF silent",
     lambda k: signed(k, "school", "school.example", message()).replace(b"draft", b"final"),
     "", BAD_IP, "fail", "5.7.20", "body was changed"),
    ("null sender, HELO not authorised",
     lambda k: message(), "", BAD_IP, "fail", "5.7.20", "carries no DKIM signature"),
    ("no DMARC record, aligned DKIM still passes",
     lambda k: signed(k, "plain", "plain.example", message("Al <al@plain.example>"), "k1"),
     "", BAD_IP, "pass", "", "plain.example"),
    ("no DMARC record, nothing aligned fails all the same",
     lambda k: message("Al <al@plain.example>"), "al@plain.example", BAD_IP, "fail",
     "5.7.20", "publishes no DMARC record"),
    ("two From headers",
     lambda k: message(extra="From: principal@school.example\r\n"), "rosa@school.example",
     GOOD_IP, "fail", "5.7.1", "2 From headers"),
]


@pytest.mark.parametrize("build,mail_from,ip,verdict,enhanced,words",
                         [c[1:] for c in DMARC_CASES], ids=[c[0] for c in DMARC_CASES])
def test_dmarc_mode(keys, dns, build, mail_from, ip, verdict, enhanced, words) -> None:
    result = check(build(keys), dns, mail_from=mail_from, ip=ip)
    assert (result.verdict, result.enhanced) == (verdict, enhanced), result.reason
    assert words in result.reason
    assert result.smtp_code == (550 if verdict == "fail" else 0)


def test_refused_signature_gives_5_7_21(keys, dns) -> None:
    raw = message()
    sha1 = dkim.sign(raw, b"s1", b"school.example", keys["school"],
                     signature_algorithm=b"rsa-sha1") + raw
    result = check(sha1, dns, mail_from="", ip=BAD_IP)
    assert (result.verdict, result.enhanced) == ("fail", "5.7.21")
    assert "rsa-sha1" in result.reason


def test_strict_dkim_alignment_from_the_record(keys, dns) -> None:
    dns.records[("_dmarc.school.example", "TXT")] = ["v=DMARC1; p=reject; adkim=s"]
    raw = signed(keys, "school", "school.example", message("Rosa <rosa@students.school.example>"))
    result = check(raw, dns, mail_from="", ip=BAD_IP)
    assert result.verdict == "fail"


@pytest.mark.parametrize("slow", ["s1._domainkey.school.example", "school.example",
                                  "_dmarc.school.example"])
def test_dns_timeout_is_temperror(keys, dns, slow) -> None:
    """Unsigned-or-unverifiable mail whose answer hangs on DNS is deferred, not refused."""
    dns.time_out(slow)
    spf_slow = slow == "school.example"
    raw = message() if spf_slow else signed(keys, "school", "school.example", message())
    mail_from = "rosa@school.example" if spf_slow else ""
    result = check(raw, dns, mail_from=mail_from, ip=BAD_IP)
    if slow == "_dmarc.school.example":  # an exact-domain signature needs no record
        assert result.verdict == "pass"
        return
    assert (result.verdict, result.smtp_code, result.enhanced) == ("temperror", 451, "4.4.3")
    assert "in time" in result.reason


def test_mode_none_passes_everything(dns) -> None:
    assert check(message(), dns, ip=BAD_IP, mode="none").verdict == "pass"


def test_unknown_mode_is_a_programming_error(dns) -> None:
    with pytest.raises(ValueError):
        check(message(), dns, mode="dkim")


# --- authres mode: a trusted gateway checked ----------------------------------------------

def ar(authserv: str, results: str) -> str:
    return f"Authentication-Results: {authserv};\r\n {results}\r\n"


PASS_AR = ar(AUTHSERV, "dkim=pass header.d=school.example; spf=pass "
                       "smtp.mailfrom=rosa@school.example; dmarc=pass header.from=school.example")
FAIL_AR = ar(AUTHSERV, "dkim=fail header.d=school.example; spf=fail "
                       "smtp.mailfrom=rosa@school.example; dmarc=fail header.from=school.example")

AUTHRES_CASES = [
    # name, headers above the message, peer, verdict, enhanced
    ("trusted gateway says pass", PASS_AR, GATEWAY, "pass", ""),
    ("trusted gateway says fail", FAIL_AR, GATEWAY, "fail", "5.7.26"),
    ("forged pass header from an untrusted peer", PASS_AR, ATTACKER_IP, "fail", "5.7.1"),
    ("forged pass below the gateway's fail", FAIL_AR + PASS_AR, GATEWAY, "fail", "5.7.26"),
    ("pass from another authserv-id only", ar("mx.attacker.example", "dmarc=pass"),
     GATEWAY, "fail", "5.7.26"),
    ("another authserv-id above ours", ar("mx.attacker.example", "dmarc=pass") + FAIL_AR,
     GATEWAY, "fail", "5.7.26"),
    ("aligned dkim pass without dmarc", ar(AUTHSERV, "dkim=pass header.d=mail.school.example"),
     GATEWAY, "pass", ""),
    ("dkim pass for another domain", ar(AUTHSERV, "dkim=pass header.d=attacker.example"),
     GATEWAY, "fail", "5.7.26"),
    ("dmarc pass about another From", ar(AUTHSERV, "dmarc=pass header.from=attacker.example"),
     GATEWAY, "fail", "5.7.26"),
    ("gateway could not finish", ar(AUTHSERV, "dmarc=temperror header.from=school.example"),
     GATEWAY, "temperror", "4.4.3"),
    ("no header at all", "", GATEWAY, "fail", "5.7.26"),
]


@pytest.mark.parametrize("headers,peer,verdict,enhanced",
                         [c[1:] for c in AUTHRES_CASES], ids=[c[0] for c in AUTHRES_CASES])
def test_authres_mode(dns, headers, peer, verdict, enhanced) -> None:
    result = check(message(extra=headers), dns, ip=peer, mode="authres",
                   authserv_id=AUTHSERV, trusted_peers=frozenset({GATEWAY}))
    assert (result.verdict, result.enhanced) == (verdict, enhanced), result.reason
    assert dns.asked == []  # the gateway's word is taken without asking DNS


# --- the parts ------------------------------------------------------------------------------

@pytest.mark.parametrize("identifier,from_domain,mode,expected", [
    ("school.example", "school.example", "s", True),
    ("mail.school.example", "school.example", "r", True),
    ("mail.school.example", "school.example", "s", False),
    ("a.example.co.uk", "b.example.co.uk", "r", True),
    ("example.co.uk", "other.co.uk", "r", False),
    ("attacker.example", "school.example", "r", False),
    ("", "school.example", "r", False),
])
def test_alignment(identifier, from_domain, mode, expected) -> None:
    assert aligned(identifier, from_domain, mode) is expected


def test_organizational_domain_uses_public_suffixes() -> None:
    assert organizational_domain("mail.students.example.co.uk") == "example.co.uk"
    assert organizational_domain("Mail.Google.COM.") == "google.com"


def test_policy_found_at_organizational_domain(dns) -> None:
    dns.add("_dmarc.example.co.uk", "TXT", "v=DMARC1; p=quarantine; sp=reject; aspf=s")
    policy = lookup_policy("news.example.co.uk", dns)
    assert (policy.found, policy.record_domain, policy.p, policy.aspf) == (
        True, "example.co.uk", "reject", "s")
    assert not lookup_policy("plain.example", dns).found


@pytest.mark.parametrize("ip,mail_from,expected", [
    ("192.0.2.200", "rosa@school.example", "pass"),
    ("198.51.100.1", "rosa@school.example", "fail"),
    ("198.51.100.1", "al@plain.example", "softfail"),
    ("198.51.100.1", "x@nowhere.example", "none"),
])
def test_spf_through_the_injected_resolver(dns, ip, mail_from, expected) -> None:
    assert check_spf(ip, mail_from, "mail.example", dns).result == expected


def test_spf_checks_in_threads_keep_their_own_resolvers() -> None:
    """Two resolvers disagree about one name; each concurrent check hears only its own."""
    allow = FakeDns().add("school.example", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")
    deny = FakeDns().add("school.example", "TXT", "v=spf1 -all")
    jobs = [allow, deny] * 100
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(
            lambda d: check_spf(GOOD_IP, "rosa@school.example", "h.example", d).result, jobs))
    assert results == ["pass", "fail"] * 100


def test_system_dns_treats_malformed_names_as_no_data() -> None:
    resolver = SystemDns(timeout=0.1, nameservers=["127.0.0.1"])
    assert resolver.txt("x" * 70 + ".example") == []
    assert resolver.a("two..dots.example") == []
