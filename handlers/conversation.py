"""What the bot remembers of a conversation: its language, the last question and its own open
question — so "and carla?", "und bei tom?", "1" and "yes" mean something.

One state per person and thread (a Slack DM, a Teams conversation, a console session), kept
for `conversation_ttl_s` (default 15 minutes): in Redis when configured, so every bot instance
sees it, else in this process (bounded). Only intents are stored — addresses and ids the
person already saw — never an answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from handlers.types import ChatRequest
from handlers.understanding.recognise import Choice, ContextView, Intent
from workers.keys import Keys

log = logging.getLogger("smime_doctor.conversation")
MAX_IN_MEMORY = 10_000  # conversations kept without Redis; the oldest is forgotten first
# Intents that a follow-up ("and carla?") continues; the others leave the last one in place.
CONTINUABLE = frozenset({"diagnose", "why_cant_encrypt", "history", "reset", "approve", "deny", "undo"})


@dataclass(frozen=True)
class State:
    lang: str | None = None
    last: Intent | None = None  # the last understood question (for follow-ups)
    question: Intent | None = None  # the bot's own open question (a clarify intent)

    def view(self, asker: str) -> ContextView:
        return ContextView(asker, self.last, self.question, self.lang)

    def to_json(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "last": asdict(self.last) if self.last else None,
            "question": asdict(self.question) if self.question else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> State:
        if not isinstance(data, dict):
            return cls()
        return cls(data.get("lang"), _intent(data.get("last")), _intent(data.get("question")))


def _intent(data: Any) -> Intent | None:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    fields = {k: v for k, v in data.items() if k in Intent.__dataclass_fields__}
    fields["resume"] = _intent(fields.get("resume"))
    fields["choices"] = tuple(
        Choice(str(c.get("value")), str(c.get("label")))
        for c in fields.get("choices") or ()
        if isinstance(c, dict)
    )
    return Intent(**fields)


def next_state(state: State, intent: Intent, lang: str) -> State:
    """The conversation after this turn: an open question replaces the last one asked."""
    if intent.kind == "clarify":
        return State(lang, state.last, intent)
    if intent.kind in CONTINUABLE:
        return State(lang, replace(intent, followup=False), None)
    return State(lang, state.last, None)


def conversation_key(req: ChatRequest) -> str:
    """platform:user:thread — the thread is the session, DM channel or Teams conversation."""
    conv = req.conversation or {}
    thread = conv.get("session") or conv.get("channel")
    reference = conv.get("conversation_reference")
    if not thread and isinstance(reference, dict):
        thread = (reference.get("conversation") or {}).get("id")
    return f"{req.platform}:{req.user_id}:{thread or '-'}"


class Conversations(Protocol):
    def get(self, key: str) -> State: ...

    def put(self, key: str, state: State) -> None: ...


class MemoryConversations:
    def __init__(self, ttl_s: int) -> None:
        self.ttl_s = ttl_s
        self._states: OrderedDict[str, tuple[float, State]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> State:
        with self._lock:
            hit = self._states.get(key)
            if hit is None or time.monotonic() - hit[0] > self.ttl_s:
                return State()
            return hit[1]

    def put(self, key: str, state: State) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            self._states[key] = (time.monotonic(), state)
            self._states.move_to_end(key)
            while len(self._states) > MAX_IN_MEMORY:
                self._states.popitem(last=False)


class RedisConversations:
    """Shared by every bot instance. Redis down: the conversation is forgotten, not the bot —
    what needs no Redis (help, explain, about) still answers, and the rest says it is unavailable."""

    def __init__(self, redis: Any, prefix: str, ttl_s: int) -> None:
        from redis.exceptions import (
            RedisError,
        )  # deferred: Redis is optional (the embedded mode runs without it)

        self.redis = redis
        self.keys = Keys(prefix)
        self.ttl_s = ttl_s
        self.errors: tuple[type[Exception], ...] = (RedisError,)

    def get(self, key: str) -> State:
        try:
            raw = self.redis.get(self.keys.conversation(key))
        except self.errors as exc:
            log.warning("conversation state unreadable (%s); answering without it", type(exc).__name__)
            return State()
        if raw is None:
            return State()
        try:
            return State.from_json(json.loads(raw))
        except (ValueError, TypeError):
            return State()

    def put(self, key: str, state: State) -> None:
        if self.ttl_s <= 0:
            return
        try:
            self.redis.set(self.keys.conversation(key), json.dumps(state.to_json()), ex=self.ttl_s)
        except self.errors as exc:
            log.warning("conversation state not saved (%s)", type(exc).__name__)
