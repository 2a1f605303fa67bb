"""Assembling the Slack bot: one WebClient, the shared core (bot.app), the Bolt app.

Single workspace with a bot token. For several workspaces Bolt's OAuth flow replaces the
token: `App(oauth_settings=OAuthSettings(client_id, client_secret, scopes, installation_store=
..., state_store=...))`, and each request then carries its workspace's client (docs/slack.md).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.app import App, build_app
from bot.slack.approvals import ApprovalClicks
from bot.slack.config import SlackConfig
from bot.slack.conversation import Conversation
from bot.slack.home import Home
from bot.slack.listeners import register
from bot.slack.people import SlackPeople
from bot.slack.store import SlackStore
from bot.slack.transport import SlackTransport
from workers.config import Settings

log = logging.getLogger("smime_doctor.slack")

WEB_API_TIMEOUT_S = 10


def make_client(config: SlackConfig) -> WebClient:
    """The Web API client: configurable base URL, a timeout, and retries on 429 (Retry-After)."""
    client = WebClient(token=config.bot_token, base_url=config.api_url, timeout=WEB_API_TIMEOUT_S)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


@dataclass
class SlackBot:
    bolt: BoltApp
    core: App
    client: WebClient
    people: SlackPeople
    store: SlackStore
    transport: SlackTransport
    home: Home
    conversation: Conversation
    clicks: ApprovalClicks
    pool: ThreadPoolExecutor
    _running: set[Future[Any]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def later(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Run the part after the ack on our own pool; errors are logged, never lost silently."""
        future = self.pool.submit(fn, *args, **kwargs)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._finished)

    def once(self, event_id: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        """Run `fn` unless this Events API delivery was seen before (a retry). With Redis down
        the check fails open: answering twice beats not answering."""
        from redis.exceptions import (
            RedisError,  # deferred: Redis is optional (the embedded mode runs without it)
        )

        try:
            first = self.store.first_time(event_id)
        except RedisError:
            first = True
        if first:
            fn(*args, **kwargs)

    def _finished(self, future: Future[Any]) -> None:
        with self._lock:
            self._running.discard(future)
        exc = future.exception()
        if exc is not None:
            log.error("Slack request failed after the ack: %s: %s", type(exc).__name__, exc)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Tests and benchmarks: wait until every handed-off request has run."""
        with self._lock:
            running = list(self._running)
        for future in running:
            future.result(timeout)  # re-raises a failure

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.core.close()


def build_slack(
    settings: Settings,
    config: SlackConfig,
    *,
    token_verification: bool = True,
    consumer: str | None = None,
    workers: int = 16,
) -> SlackBot:
    client = make_client(config)
    people = SlackPeople(client, ttl_s=settings.identity_cache_ttl_s)
    transport = SlackTransport(client, people, default_lang=settings.lang)
    core = build_app(
        settings, {"slack": transport}, consumer=consumer or f"slack-{socket.gethostname()}-{os.getpid()}"
    )
    core.dispatcher.identity.register("slack", people.email)
    store = SlackStore(core.redis, settings.key_prefix)
    home = Home(core, client, people, store)
    transport.bind(store, home)
    bolt = BoltApp(
        client=client,
        signing_secret=config.signing_secret,
        token_verification_enabled=token_verification,
        process_before_response=True,  # listeners only ack and hand off, so respond when they return
        logger=logging.getLogger("smime_doctor.slack.bolt"),
    )
    bot = SlackBot(
        bolt=bolt,
        core=core,
        client=client,
        people=people,
        store=store,
        transport=transport,
        home=home,
        conversation=Conversation(core, people, transport, home),
        clicks=ApprovalClicks(core, client, people, store, home),
        pool=ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smime-slack"),
    )
    register(bolt, bot)
    return bot
