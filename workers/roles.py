"""Who holds helpdesk/approver/admin: configured users, and *exactly* the configured security groups.

Shared by the bot (handlers/policy.py, on the clicker's identity) and the workers (which
re-check, before executing an approved plan, that every approver still holds the role in
the worker's own configuration).

A configured group is named by DN, objectGUID or SID. A bare CN is accepted only when exactly
one security group in the directory carries it: "PKI Approvers" must not match a distribution
group of the same name in another OU. Groups are compared by those ids, never by name. A
person's groups come from the directory (workers/sources): nested security groups in AD
(LDAP_MATCHING_RULE_IN_CHAIN), Graph's transitiveMemberOf for cloud-only people, and a
snapshot's memberOf DNs (direct membership only; a snapshot holds no group objects).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from workers.config import Roles
from workers.dirnames import dn_id, looks_like_dn, sid_bytes
from workers.errors import InputError, SmimeDoctorError
from workers.facts import GroupInfo

if TYPE_CHECKING:
    from workers.sources.directory import Directory

ELEVATED = ("helpdesk", "approver", "admin")
log = logging.getLogger("smime_doctor.roles")


class RoleConfigError(InputError):
    """A configured role group cannot be resolved to exactly one security group (one line)."""


def spec_id(spec: str) -> str | None:
    """The id a configured group spec names by itself (DN, GUID or SID), or None for a bare CN."""
    text = spec.strip()
    try:
        return "guid:" + str(uuid.UUID(text.strip("{}")))
    except ValueError:
        pass
    if sid_bytes(text) is not None:
        return "sid:" + text.lower()
    if looks_like_dn(text):
        return dn_id(text)
    return None


class RoleBook:
    """Roles of a person, from `Roles` and the directory that resolves group names.

    `directory.find_groups(spec) -> list[GroupInfo] | None` looks groups up (None: this
    directory holds no group objects, e.g. a snapshot). Resolved ids are cached; a source
    that cannot be reached leaves that group unresolved (it grants nothing) and is asked again."""

    def __init__(self, roles: Roles, directory: Directory | None = None) -> None:
        self.roles = roles
        self.directory = directory
        self._resolved: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def resolve(self, spec: str) -> frozenset[str]:
        """The ids of the one security group `spec` names. Raises RoleConfigError (definitive) or a
        SourceError (the directory could not be asked)."""
        with self._lock:
            hit = self._resolved.get(spec)
        if hit is not None:
            return hit
        ids = self._lookup(spec)
        with self._lock:
            self._resolved[spec] = ids
        return ids

    def _lookup(self, spec: str) -> frozenset[str]:
        own = spec_id(spec)
        found = self.directory.find_groups(spec) if self.directory is not None else None
        if found is None:  # no group objects to ask: only an exact DN/GUID/SID can be compared
            if own is None:
                raise RoleConfigError(
                    f"group '{spec}' is a bare name, and this directory holds no group objects "
                    "to resolve it; give the group's DN (CN=…,OU=…,DC=…)"
                )
            return frozenset({own})
        security = [g for g in found if g.security]
        if own is not None:
            if not found:
                raise RoleConfigError(f"group '{spec}' does not exist in the directory")
            if not security:
                raise RoleConfigError(
                    f"'{spec}' is a distribution group; only security groups can grant a role"
                )
        elif len(security) != 1:
            if security:
                others = "; ".join(sorted(_shown(g) for g in security))
                raise RoleConfigError(
                    f"{len(security)} security groups are named '{spec}' ({others}); give the DN"
                )
            kind = "only distribution groups are" if found else "no security group is"
            raise RoleConfigError(f"{kind} named '{spec}'; give the security group's DN")
        return frozenset().union(*(g.ids for g in security))

    def check(self) -> list[str]:
        """One sentence per configured group that cannot grant its role (for check-config and start-up)."""
        problems = []
        for role in ELEVATED:
            for spec in getattr(self.roles, role).groups:
                try:
                    self.resolve(spec)
                except RoleConfigError as exc:
                    problems.append(f"roles.{role}: {exc}")
                except SmimeDoctorError as exc:
                    log.warning("roles.unresolved", extra={"group": spec, "reason": str(exc)})
        return problems

    def validate(self) -> None:
        """Refuse to start with a group that can never be matched exactly (the first reason)."""
        problems = self.check()
        if problems:
            raise RoleConfigError(problems[0])

    def _group_ids(self, role: str) -> frozenset[str]:
        out: set[str] = set()
        for spec in getattr(self.roles, role).groups:
            try:
                out |= self.resolve(spec)
            except SmimeDoctorError as exc:  # fail closed: an unresolvable group grants nothing
                log.warning("roles.group_skipped", extra={"group": spec, "reason": str(exc)})
        return frozenset(out)

    def roles_of(self, names: Iterable[str], groups: Iterable[str]) -> set[str]:
        """Every role held; everyone is a "user", and an admin is helpdesk too. `names`: the
        person's lower-cased names; `groups`: the ids of their groups (see module docstring)."""
        names, groups = set(names), set(groups)
        held = {"user"}
        for role in ELEVATED:
            members = getattr(self.roles, role)
            if any(u.lower() in names for u in members.users) or not groups.isdisjoint(self._group_ids(role)):
                held.add(role)
        if "admin" in held:
            held.add("helpdesk")
        return held


def _shown(group: GroupInfo) -> str:
    """A group as an admin recognises it: its DN, else its name."""
    return next((i[3:] for i in sorted(group.ids) if i.startswith("dn:")), group.name)


def names_of(facts: Any) -> frozenset[str]:
    """The lower-cased names a directory user (UserFacts) is known by (configured users match these)."""
    names: set[str] = {facts.key.lower()}
    names.update(a.lower() for a in facts.addresses)
    if facts.ad is not None:
        names.update(n.lower() for n in (facts.ad.sam, facts.ad.upn, facts.ad.mail) if n)
    if facts.entra is not None and facts.entra.upn:
        names.add(facts.entra.upn.lower())
    return frozenset(names)


def group_ids_of(facts: Any, directory: Directory | None = None) -> frozenset[str]:
    """The ids of every group that counts for roles: the directory's answer where it can give one
    (`directory.group_ids(facts)`), otherwise the AD memberOf DNs the facts carry."""
    if directory is not None:
        return directory.group_ids(facts)
    if facts.ad is None:
        return frozenset()
    return frozenset(dn_id(g) for g in facts.ad.member_of)
