"""App Home: the user's own certificate status at a glance, and for helpdesk and approvers
the approvals waiting for them.

Opening the tab publishes the cached last diagnosis at once (no waiting on a directory);
when that is missing or old, a fresh check is queued and its answer re-publishes the view.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.render.blocks import home_view
from handlers.chat import locale_lang
from handlers.identity import IdentityError
from handlers.outage import OUTAGE, UNAVAILABLE, log_outage

log = logging.getLogger("smime_doctor.slack")

REFRESH_AFTER_S = 300
STAFF = {"helpdesk", "approver", "admin"}


class Home:
    def __init__(self, core: Any, client: Any, people: Any, store: Any) -> None:
        self.core = core
        self.client = client
        self.people = people
        self.store = store

    def lang(self, user: str) -> str:
        return locale_lang(self.people.profile(user).locale) or self.core.settings.lang

    def publish(self, user: str) -> None:
        lang = self.lang(user)
        cached: tuple[float, dict[str, Any]] | None = None
        error = None
        pending = None
        recent: list[dict[str, Any]] = []
        try:
            cached = self.store.get_home(user)
            person = self.core.dispatcher.identity.resolve("slack", user)
            staff = bool(self.core.dispatcher.policy.roles_of(person) & STAFF)
            if staff:
                pending = [_as_dict(r) for r in self._pending()]
            recent = self._recent(None if staff else person.key)
        except IdentityError as exc:
            error = str(exc)
        except OUTAGE as exc:  # the cache, the approvals and the audit trail live in Redis
            log_outage("slack app home", exc)
            error = UNAVAILABLE[lang]
        view = home_view(
            lang,
            cached[1] if cached else None,
            cached[0] if cached else None,
            pending,
            error,
            recent,
        )
        self.client.views_publish(user_id=user, view=view)

    def _pending(self) -> list[Any]:
        approvals = getattr(self.core, "approvals", None)
        return list(approvals.pending()) if approvals is not None and hasattr(approvals, "pending") else []

    def _recent(self, key: str | None) -> list[dict[str, Any]]:
        """The latest event of each recent request (from the audit trail), newest first."""
        audit = getattr(self.core, "audit", None)
        if audit is None:
            return []
        latest: dict[str, dict[str, Any]] = {}
        for entry in audit.entries(key):
            latest[entry["request"]] = entry
        return sorted(latest.values(), key=lambda e: e["at"], reverse=True)[:10]

    def stale(self, user: str) -> bool:
        try:
            cached = self.store.get_home(user)
        except OUTAGE:  # Redis down: a fresh check could not be queued either (publish() said why)
            return False
        return cached is None or time.time() - cached[0] > REFRESH_AFTER_S


def _as_dict(request: Any) -> dict[str, Any]:
    return request.to_json() if hasattr(request, "to_json") else dict(request)
