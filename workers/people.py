"""Who a directory user *is*, independent of how they reached the bot.

The same person arrives as a Slack user (verified e-mail), a Teams user (Entra object id), a
console `--as` name, the asker recorded in a plan, or the approver who clicks — and each path
may reach a different source first (AD, Exchange Online, Graph). Four-eyes rules must not
depend on that path, so people are compared by directory identities, never by the lookup key
or a name:

- the canonical id is the AD objectGUID for people with an on-premises object (Entra's
  ``onPremisesImmutableId`` is the same GUID in base64, so a person found only through Entra
  still gets it), otherwise the Entra object id (Graph ``id`` = Exchange's
  ``ExternalDirectoryObjectId``) for cloud-only people;
- every other identifier that no two people can share (UPN, primary SMTP address) is kept
  beside it. Two records are the *same person* when any of these overlap — used only to
  refuse (self-approval, the same admin twice), never to grant.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable
from typing import Any


def guid_of_immutable_id(value: str | None) -> str | None:
    """AD objectGUID text from Entra's onPremisesImmutableId (base64 of the 16 GUID bytes)."""
    if not value:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return str(uuid.UUID(bytes_le=raw)) if len(raw) == 16 else None


def person_ids(facts: Any) -> tuple[str, ...]:
    """The person's strong identifiers, canonical first (see the module docstring)."""
    ids: list[str] = []

    def add(kind: str, value: str | None) -> None:
        if value and (item := f"{kind}:{value.strip().lower()}") not in ids:
            ids.append(item)

    ad, entra, exo = facts.ad, facts.entra, facts.exo
    add("ad", ad.object_guid if ad is not None else None)
    add("ad", guid_of_immutable_id(entra.immutable_id) if entra is not None else None)
    add("entra", entra.id if entra is not None else None)
    add("entra", exo.external_id if exo is not None else None)
    for upn in (ad.upn if ad else None, entra.upn if entra else None, exo.upn if exo else None):
        add("upn", upn)
    if not getattr(facts, "external", False):
        add("smtp", facts.primary_smtp)
    if not ids:
        add("key", facts.key)
    return tuple(ids)


def same_person(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two identifier sets describe one person (any strong identifier in common)."""
    return not set(a).isdisjoint(b)
