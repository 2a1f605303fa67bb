"""Who is asking: a platform user id → a directory person, never a name typed into a message.

Each transport supplies how its ids map to a directory name (Slack: the verified e-mail from
users.info; Teams: the AAD object id, which is the Entra user id; console: the --as name
the operator started it with). Whatever the path, the person carries the same canonical
directory identity (workers/people.py), which is what four-eyes rules compare. Results are
cached for `ttl` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workers.errors import SmimeDoctorError, UserLookupError
from workers.people import person_ids, same_person
from workers.roles import group_ids_of, names_of

if TYPE_CHECKING:
    from workers.sources.directory import Directory

log = logging.getLogger("smime_doctor.identity")


class IdentityError(SmimeDoctorError):
    """The chat user could not be matched to exactly one directory user."""


@dataclass(frozen=True)
class Person:
    key: str  # the directory's lookup key for the user (differs by path: never compare it)
    primary_smtp: str | None
    display: str
    names: frozenset[str]  # every lower-cased name the user is known by (addresses, UPN, sam)
    groups: frozenset[str]  # ids of the groups that count for roles (workers/roles.py)
    ids: tuple[str, ...] = ()  # strong directory identifiers, canonical first (workers/people.py)
    via: tuple[str, str] | None = None  # (platform, platform user id) that reached the bot

    @property
    def id(self) -> str:
        """The canonical person id: AD objectGUID, else Entra object id."""
        return self.ids[0] if self.ids else f"key:{self.key.lower()}"

    def is_same(self, ids: Any) -> bool:
        """Whether `ids` (another person's identifiers) name this person."""
        return same_person(self.ids or (self.id,), ids)


def person_of(facts: Any, directory: Directory | None = None, via: tuple[str, str] | None = None) -> Person:
    """The Person a directory user is; with `directory`, groups come from it (nested security groups)."""
    return Person(
        facts.key,
        facts.primary_smtp,
        facts.display,
        names_of(facts),
        group_ids_of(facts, directory),
        person_ids(facts),
        via,
    )


class IdentityResolver:
    def __init__(self, directory: Directory, ttl: float = 600.0) -> None:
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
            person = person_of(self.directory.find(name), self.directory, (platform, user_id))
        except UserLookupError:
            raise IdentityError(
                f"no directory user matches {name} (your {platform} account); ask the helpdesk to check your mail address"
            ) from None
        except (
            SmimeDoctorError
        ) as exc:  # a source down (AD, Graph): not cached: the next message asks the directory again
            log.warning("identity.source_unavailable", extra={"platform": platform, "reason": str(exc)})
            raise IdentityError(
                "the directory cannot be reached right now, so the bot cannot tell who you are; "
                "please try again in a minute"
            ) from None
        with self._lock:
            self._cache[(platform, user_id)] = (now, person)
        return person
