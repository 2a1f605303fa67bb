"""Slack user id → verified e-mail and locale (users.info with include_locale), cached.

Identity is the Slack user id and the e-mail Slack verified for it — never a display name,
which anyone can change. The e-mail is what the directory lookup (handlers.identity) uses.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    user_id: str
    email: str | None
    locale: str | None
    is_bot: bool = False


class SlackPeople:
    def __init__(self, client: Any, ttl_s: float = 600.0) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Profile]] = {}
        self._dm: dict[str, str] = {}
        self._lock = threading.Lock()

    def profile(self, user_id: str) -> Profile:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        data = self.client.users_info(user=user_id, include_locale=True)["user"]
        p = Profile(
            user_id,
            (data.get("profile") or {}).get("email") or None,
            data.get("locale") or None,
            bool(data.get("is_bot")),
        )
        with self._lock:
            self._cache[user_id] = (now, p)
        return p

    def cached_locale(self, user_id: str) -> str | None:
        """The locale if we already know it — for text sent before any API call (the ack)."""
        with self._lock:
            hit = self._cache.get(user_id)
        return hit[1].locale if hit else None

    def email(self, user_id: str) -> str | None:
        """The lookup registered with IdentityResolver for platform "slack"."""
        return self.profile(user_id).email

    def mention_email(self, user_id: str) -> str | None:
        """A user mentioned in a message (<@U…>) → their verified e-mail; None for bots, unknown
        ids or a failed lookup (the mention then stays a name the directory may not know)."""
        from slack_sdk.errors import SlackApiError  # deferred: only the Slack transport needs it

        try:
            profile = self.profile(user_id)
        except SlackApiError:
            return None
        return None if profile.is_bot else profile.email

    def dm_channel(self, user_id: str) -> str:
        """The bot's direct-message channel with this user (conversations.open, cached: it never changes)."""
        with self._lock:
            known = self._dm.get(user_id)
        if known:
            return known
        channel = str(self.client.conversations_open(users=user_id)["channel"]["id"])
        with self._lock:
            self._dm[user_id] = channel
        return channel

    def known_dm(self, user_id: str) -> str | None:
        with self._lock:
            return self._dm.get(user_id)
