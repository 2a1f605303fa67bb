"""Who is asking: a platform user id → a directory user, never a name typed into a message.

Each transport supplies how its ids map to a directory name (Slack: the verified e-mail from
users.info; Teams: the AAD object id, which is the Entra user id; console: the --as name
the operator started it with). Results are cached for `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.errors import SmimeDoctorError, UserLookupError
from workers.roles import names_and_groups


class IdentityError(SmimeDoctorError):
    """The chat user could not be matched to exactly one directory user."""


@dataclass(frozen=True)
class Person:
    key: str  # the directory's key for the user
    primary_smtp: str | None
    display: str
    names: frozenset[str]  # every lower-cased name the user is known by (addresses, UPN, sam)
    groups: frozenset[str]  # lower-cased group DNs (AD memberOf)


def person_of(facts: Any) -> Person:
    names, groups = names_and_groups(facts)
    return Person(facts.key, facts.primary_smtp, facts.display, names, groups)


class IdentityResolver:
    def __init__(self, directory: Any, ttl: float = 600.0) -> None:
        self.directory = directory
        self.ttl = ttl
        self.platform_lookups: dict[str, Callable[[str], str | None]] = {}
        self._cache: dict[tuple[str, str], tuple[float, Person]] = {}
        self._lock = threading.Lock()

    def register(self, platform: str, lookup: Callable[[str], str | None]) -> None:
        """How `platform` turns its user id into a directory name (e-mail, Entra id, …)."""
        self.platform_lookups[platform] = lookup

    def resolve(self, platform: str, user_id: str) -> Person:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get((platform, user_id))
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        lookup = self.platform_lookups.get(platform, lambda uid: uid)
        name = lookup(user_id)
        if not name:
            raise IdentityError(
                f"your {platform} account ({user_id}) has no e-mail address the bot can use to find you"
            )
        try:
            person = person_of(self.directory.find(name))
        except UserLookupError:
            raise IdentityError(
                f"no directory user matches {name} (your {platform} account); ask the helpdesk to check your mail address"
            ) from None
        with self._lock:
            self._cache[(platform, user_id)] = (now, person)
        return person
