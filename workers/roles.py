"""Role membership as pure data: who holds helpdesk/approver/admin, from names and groups.

Shared by the bot (handlers/policy.py, on the clicker's identity) and the workers (which
re-check, before executing an approved plan, that every approver still holds the role in
the worker's own configuration).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from workers.config import RoleMembers, Roles

ELEVATED = ("helpdesk", "approver", "admin")


def is_member(names: Iterable[str], groups: Iterable[str], members: RoleMembers) -> bool:
    """`names` and `groups` are lower-cased (addresses, UPN, sAMAccountName; group DNs or CNs)."""
    names, groups = set(names), set(groups)
    if any(u.lower() in names for u in members.users):
        return True
    for group in members.groups:
        g = group.lower()
        if g in groups or any(dn.split(",", 1)[0] == f"cn={g}" for dn in groups):
            return True
    return False


def roles_of(names: Iterable[str], groups: Iterable[str], roles: Roles) -> set[str]:
    """Every role held; everyone is a "user", and an admin is helpdesk too."""
    names, groups = set(names), set(groups)
    held = {"user"}
    for role in ELEVATED:
        if is_member(names, groups, getattr(roles, role)):
            held.add(role)
    if "admin" in held:
        held.add("helpdesk")
    return held


def names_and_groups(facts: Any) -> tuple[frozenset[str], frozenset[str]]:
    """The lower-cased names and group DNs a directory user (UserFacts) is known by."""
    names: set[str] = {facts.key.lower()}
    names.update(a.lower() for a in facts.addresses)
    groups: set[str] = set()
    if facts.ad is not None:
        names.update(n.lower() for n in (facts.ad.sam, facts.ad.upn, facts.ad.mail) if n)
        groups.update(g.lower() for g in facts.ad.member_of)
    if facts.entra is not None and facts.entra.upn:
        names.add(facts.entra.upn.lower())
    return frozenset(names), frozenset(groups)
