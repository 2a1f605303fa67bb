"""Directory names as comparable ids: DNs in one spelling, string SIDs, and the tests for each.

Role groups are compared by these ids ("dn:…", "sid:…", "guid:…", lower case), never by a
display name, so two groups that share a CN can never be confused.
"""

from __future__ import annotations

from ldap3.core.exceptions import LDAPException
from ldap3.utils.dn import parse_dn


def normal_dn(dn: str) -> str:
    """A DN in one spelling (lower case, no spaces around separators), for comparing DNs."""
    try:
        return ",".join(f"{attr}={value}" for attr, value, _ in parse_dn(dn.lower(), escape=False))
    except LDAPException:
        return dn.strip().lower()


def dn_id(dn: str) -> str:
    return "dn:" + normal_dn(dn)


def looks_like_dn(text: str) -> bool:
    """Whether text parses as a DN with at least one RDN (``CN=x,OU=y``), not a bare name."""
    if "=" not in text:
        return False
    try:
        return bool(parse_dn(text))
    except LDAPException:
        return False


def sid_bytes(text: str) -> bytes | None:
    """The binary form of a string SID (S-1-5-21-…), for an objectSid filter; None if not a SID."""
    parts = text.strip().upper().split("-")
    if len(parts) < 3 or parts[0] != "S" or not all(p.isdigit() for p in parts[1:]):
        return None
    revision, authority, subs = int(parts[1]), int(parts[2]), [int(p) for p in parts[3:]]
    if revision != 1 or authority >= 1 << 48 or len(subs) > 15 or any(s >= 1 << 32 for s in subs):
        return None
    out = bytes([revision, len(subs)]) + authority.to_bytes(6, "big")
    return out + b"".join(s.to_bytes(4, "little") for s in subs)
