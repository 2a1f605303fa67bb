"""Approve/Deny clicks. The button carries only the opaque request id; who clicked is the
payload's user id, and `App.decide` checks their role, that they are not the requester,
the expiry and that the request is still open. The message then shows the decision and
loses its buttons; the clicker gets the outcome as a sentence only they can see — also when
Redis is down (the service-unavailable sentence, nothing raised).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.render.blocks import esc, render
from handlers.chat import locale_lang
from handlers.outage import OUTAGE, UNAVAILABLE, log_outage
from workers.answers import ApprovalUpdateAnswer

log = logging.getLogger("smime_doctor.slack")


class ApprovalClicks:
    def __init__(self, core: Any, client: Any, people: Any, store: Any, home: Any) -> None:
        self.core = core
        self.client = client
        self.people = people
        self.store = store
        self.home = home

    def click(self, body: dict[str, Any], action: dict[str, Any], approve: bool) -> Any:
        """The one entry of a click: with Redis (the approvals' store) unreachable the clicker is told so."""
        try:
            return self._click(body, action, approve)
        except OUTAGE as exc:
            log_outage("slack approval click", exc)
            user = body["user"]["id"]
            lang = locale_lang(self.people.profile(user).locale) or self.core.settings.lang
            self._tell(body, user, UNAVAILABLE[lang], home=False)
            return None

    def _click(self, body: dict[str, Any], action: dict[str, Any], approve: bool) -> Any:
        user = body["user"]["id"]
        request_id = str(action.get("value") or "")
        outcome = self.core.decide(platform="slack", user_id=user, request_id=request_id, approve=approve)
        lang = locale_lang(self.people.profile(user).locale) or self.core.settings.lang
        sentence = outcome.message.get(lang) or outcome.message.get("en", "")
        channel = (body.get("channel") or {}).get("id")
        ts = (body.get("message") or {}).get("ts")
        request = outcome.request
        if request is not None and channel and ts and (outcome.ok or request.state != "pending"):
            # a refusal leaves an open request as it is; a decision (or a stale view) shows the state
            shared = render(
                ApprovalUpdateAnswer(request.to_json(), outcome.state or ""),
                self.core.settings.lang,  # the approvers' message is shared: the site's language
                buttons=True,
            )
            self.client.chat_update(channel=channel, ts=ts, text=shared.text, blocks=shared.blocks)
            self.store.add_approval_message(request.id, channel, ts)
        self._tell(body, user, sentence, home=True)
        log.info(
            "approval click",
            extra={"request_id": request_id, "approve": approve, "ok": outcome.ok, "state": outcome.state},
        )
        return outcome

    def _tell(self, body: dict[str, Any], user: str, sentence: str, *, home: bool) -> None:
        channel = (body.get("channel") or {}).get("id")
        if channel:
            self.client.chat_postEphemeral(channel=channel, user=user, text=esc(sentence))
            return
        # clicked in App Home: say it in the DM and show the shorter queue
        self.client.chat_postMessage(channel=self.people.dm_channel(user), text=esc(sentence))
        if home:
            self.home.publish(user)
