"""Conversation state in Redis: every bot instance continues the same conversation, it expires,
and a Redis outage forgets the conversation but never stops the bot answering."""

from __future__ import annotations

import time

from redis import Redis

from handlers.chat import Dispatcher
from handlers.conversation import RedisConversations
from handlers.types import ChatRequest, Reply
from tests.support.services import RedisServer
from tests.support.understanding import chat_core
from tests.support.waiting import wait_until
from workers.keys import Keys


def instance(redis: Redis, ttl_s: int = 900) -> Dispatcher:
    core = chat_core()
    core.conversations = RedisConversations(redis, core.settings.key_prefix, ttl_s)
    return core


def ask(core: Dispatcher, text: str) -> Reply:
    return core.handle(ChatRequest("slack", "adele.vance", text, {"channel": "D0ADELE"}, None, "e"))


def test_a_second_bot_instance_continues_the_conversation(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    one, two = instance(redis), instance(redis)
    assert ask(one, "check carl").kind == "question"
    picked = ask(two, "2")  # answered through the other instance
    assert picked.intent is not None and (picked.intent.kind, picked.intent.subject) == (
        "diagnose",
        "ca.true@contoso.example",
    )
    follow = ask(one, "and tom?")
    assert follow.intent is not None and follow.intent.subject == "ts.user@contoso.example"
    stored = redis.get(Keys().conversation("slack:adele.vance:D0ADELE"))
    assert stored is not None and b"ts.user@contoso.example" in stored  # addresses it showed; no answer text
    assert b"Checking" not in stored


def test_the_state_expires_with_its_ttl(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    core = instance(redis, ttl_s=1)
    ask(core, "check carl")
    key = Keys().conversation("slack:adele.vance:D0ADELE")
    wait_until(lambda: redis.get(key) is None, 10, "the conversation to expire")
    assert ask(core, "1").intent.kind == "unknown"  # type: ignore[union-attr]


def test_redis_down_forgets_the_conversation_but_the_bot_answers(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1)
    core = instance(redis)
    ask(core, "check carl")
    redis_server.stop()
    try:
        started = time.monotonic()
        helped = ask(core, "hilfe")
        assert helped.kind == "help" and "prüfe <Benutzer>" in helped.text
        assert ask(core, "1").intent.kind == "unknown"  # type: ignore[union-attr]  # its question is forgotten
        assert time.monotonic() - started < 10
    finally:
        redis_server.start()
