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
from handlers.dispatch import locale_lang
from handlers.identity import IdentityError

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
        cached = self.store.get_home(user)
        error = None
        pending = None
        try:
            person = self.core.dispatcher.identity.resolve("slack", user)
            if self.core.dispatcher.policy.roles_of(person) & STAFF:
                pending = [_as_dict(r) for r in self._pending()]
        except IdentityError as exc:
            error = str(exc)
        view = home_view(
            lang,
            cached[1] if cached else None,
            cached[0] if cached else None,
            pending,
            error,
        )
        self.client.views_publish(user_id=user, view=view)

    def _pending(self) -> list[Any]:
        approvals = getattr(self.core, "approvals", None)
        return list(approvals.pending()) if approvals is not None and hasattr(approvals, "pending") else []

    def stale(self, user: str) -> bool:
        cached = self.store.get_home(user)
        return cached is None or time.time() - cached[0] > REFRESH_AFTER_S


def _as_dict(request: Any) -> dict[str, Any]:
    return request.to_json() if hasattr(request, "to_json") else dict(request)
