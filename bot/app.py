"""Wiring shared by every transport: directory, identity, policy, queue, outbox, delivery.

With `redis_url` configured, jobs go to RQ workers and answers come back on a Redis stream;
without it everything runs in this process (the embedded default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.delivery import Delivery, Transport
from handlers.approvals import ApprovalLog
from handlers.dispatch import Dispatcher, InProcessQueue, RQQueue
from handlers.identity import IdentityResolver
from handlers.policy import Policy
from workers.config import Settings
from workers.jobs import directory_for
from workers.outbox import MemoryOutbox, RedisOutbox


@dataclass
class App:
    settings: Settings
    directory: Any
    dispatcher: Dispatcher
    delivery: Delivery
    outbox: Any
    redis: Any = None

    def close(self) -> None:
        self.delivery.stop()
        queue = self.dispatcher.queue
        if isinstance(queue, InProcessQueue):
            queue.close()


def build_app(
    settings: Settings,
    transports: dict[str, Transport],
    *,
    stream: str | None = None,
    consumer: str = "bot-1",
) -> App:
    """`stream` overrides the outbox stream (a console reads its own); `consumer` names this bot instance."""
    directory = directory_for(settings)
    identity = IdentityResolver(directory, ttl=settings.identity_cache_ttl_s)
    policy = Policy(settings.roles)
    redis = None
    if settings.redis_url:
        from redis import Redis

        redis = Redis.from_url(
            settings.redis_url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
        outbox: Any = RedisOutbox(redis, stream or settings.outbox_stream, consumer=consumer)
        queue: Any = RQQueue(redis, settings)
    else:
        outbox = MemoryOutbox()
        queue = InProcessQueue(directory, outbox)
    approvals = ApprovalLog(redis, settings.key_prefix)
    dispatcher = Dispatcher(settings, directory, identity, policy, queue, approvals)
    delivery = Delivery(outbox, transports, redis, settings.key_prefix)
    return App(settings, directory, dispatcher, delivery, outbox, redis)
