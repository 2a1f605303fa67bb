"""Proactive replies: the delivery loop's answers → continue_conversation on the stored reference.

`deliver` is called from the delivery thread; the Bot Framework calls must run on the aiohttp
loop, so it hands the coroutine over with run_coroutine_threadsafe and waits for the result
(a failure raises, and the outbox entry stays pending for a retry). The "working on it"
message is replaced with the answer (update_activity), and an approval card posted to the
approvers is remembered per conversation so later updates refresh it instead of piling up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from botbuilder.core import BotAdapter, TurnContext

from bot.render.cards import answer_card, answer_summary
from bot.teams.activities import message, reference_from_json
from workers.answers import (
    Answer,
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
    PlanAnswer,
    answer_from_json,
)
from workers.keys import Keys
from workers.targets import TeamsTarget

log = logging.getLogger("smime_doctor.teams")
DELIVERY_TIMEOUT_S = 60
CARD_TTL_S = 8 * 86_400


class ApprovalCards:
    """Where each approval card was posted: (request id, conversation id) → activity id.
    In Redis when configured (shared by every bot instance, survives restarts), else in memory."""

    def __init__(self, redis: Any = None, prefix: str = "smime") -> None:
        self.redis = redis
        self.prefix = prefix
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    def _key(self, request_id: str, conversation_id: str) -> str:
        return Keys(self.prefix).teams_card(request_id, conversation_id)

    def remember(self, request_id: str, conversation_id: str, activity_id: str) -> None:
        key = self._key(request_id, conversation_id)
        if self.redis is not None:
            self.redis.set(key, activity_id, ex=CARD_TTL_S)
        else:
            with self._lock:
                self._memory[key] = activity_id

    def find(self, request_id: str, conversation_id: str) -> str | None:
        key = self._key(request_id, conversation_id)
        if self.redis is not None:
            raw = self.redis.get(key)
            return raw.decode() if isinstance(raw, bytes) else raw
        with self._lock:
            return self._memory.get(key)


class TeamsTransport:
    """The Teams side of bot.delivery.Transport."""

    platform = "teams"

    def __init__(self, adapter: BotAdapter, bot_app_id: str, cards: ApprovalCards) -> None:
        self.adapter = adapter
        self.bot_app_id = bot_app_id
        self.cards = cards
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the web app starts

    def deliver(self, target: dict[str, Any], answer: dict[str, Any]) -> None:
        if self.loop is None or self.loop.is_closed():
            raise RuntimeError("the Teams endpoint is not running")
        future = asyncio.run_coroutine_threadsafe(self.deliver_async(target, answer), self.loop)
        future.result(timeout=DELIVERY_TIMEOUT_S)

    async def deliver_async(self, target: dict[str, Any], answer_json: dict[str, Any]) -> None:
        """`answer_json` is the outbox JSON, read into its type here (bot.delivery.Transport)."""
        to = TeamsTarget.from_json(target)
        reference = reference_from_json(to.conversation_reference)
        lang = to.lang or "en"
        answer = answer_from_json(answer_json)
        activity = message(answer_card(answer, lang), answer_summary(answer, lang))
        request_id = _request_id(answer)
        conversation_id = reference.conversation.id if reference.conversation else ""
        replace = to.activity_id
        if isinstance(answer, ApprovalUpdateAnswer) and request_id:
            replace = self.cards.find(request_id, conversation_id) or None

        async def send(turn: TurnContext) -> None:
            if replace:
                activity.id = replace
                try:
                    await turn.update_activity(activity)
                    return
                except Exception as exc:  # deleted or too old: post it as a new message instead
                    log.info("could not replace message (%s); posting the answer", type(exc).__name__)
                    activity.id = None
            sent = await turn.send_activity(activity)
            if isinstance(answer, ApprovalRequestAnswer) and request_id and sent is not None and sent.id:
                self.cards.remember(request_id, conversation_id, sent.id)

        await self.adapter.continue_conversation(reference, send, self.bot_app_id)

    def target(
        self, reference: dict[str, Any], target_id: str, lang: str, stream: str | None, **extra: Any
    ) -> dict[str, Any]:
        """The outbox target for a Teams conversation (see docs/teams.md, 'Targets')."""
        out: dict[str, Any] = {
            "platform": "teams",
            "target_id": target_id,
            "lang": lang,
            "conversation_reference": reference,
            **{k: v for k, v in extra.items() if v is not None},
        }
        if stream:
            out["stream"] = stream
        return out


def _request_id(answer: Answer) -> str:
    """The id of the request an answer is about ("" if none)."""
    if isinstance(answer, PlanAnswer | ApprovalRequestAnswer | ApprovalUpdateAnswer):
        return str((answer.request or {}).get("id") or "")
    return ""
