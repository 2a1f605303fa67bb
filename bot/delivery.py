"""The delivery loop: answers from the outbox → the transport that owns the conversation.

An entry is acknowledged only after its transport delivered it, and a per-delivery marker in
Redis makes a redelivery after a bot restart a no-op — so each answer reaches the person once.
A failed delivery (a 500 from Slack, say) is counted and stays pending; the outbox hands it back
with backoff while the process runs, and after too many failures moves it to a dead-letter
stream (workers/outbox.py: RedisOutbox, RetryPolicy).
Transports replace their "working on it" message with the answer where the platform allows,
which makes even the rare double delivery (crash between posting and marking) invisible.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from workers.keys import Keys
from workers.outbox import OutboxEntry

log = logging.getLogger("smime_doctor.delivery")


class Transport(Protocol):
    """Shows one answer in one conversation. `answer` is the answer as it travels on the outbox
    (workers/answers.py `to_json`); a transport reads it into its type with `answer_from_json` —
    the one place the JSON becomes an Answer — and renders that."""

    platform: str

    def deliver(self, target: dict[str, Any], answer: dict[str, Any]) -> None: ...


class Delivery:
    def __init__(
        self,
        outbox: Any,
        transports: dict[str, Transport],
        redis: Any = None,
        prefix: str = "smime",
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """`prepare(message) -> answer` (both JSON) lets the bot act on an answer before showing it
        (a plan becomes an approval request); it must be idempotent, as redeliveries call it again."""
        self.prepare = prepare
        self.outbox = outbox
        self.transports = transports
        self.redis = redis
        self.prefix = prefix
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, timeout: float = 0.5) -> int:
        delivered = 0
        for entry in self.outbox.read(timeout=timeout):
            if self._deliver(entry):
                delivered += 1
        return delivered

    def _deliver(self, entry: OutboxEntry) -> bool:
        message = entry.message
        marker = Keys(self.prefix).delivered(str(message.get("delivery_id")))
        if self.redis is not None and self.redis.exists(marker):
            self.outbox.ack(entry)  # delivered before a restart; only the ack was lost
            return False
        target = message.get("target") or {}
        transport = self.transports.get(target.get("platform", ""))
        if transport is None:
            log.warning(
                "no transport for platform %r; leaving entry %s pending",
                target.get("platform"),
                entry.entry_id,
            )
            return False
        try:
            answer = self.prepare(message) if self.prepare is not None else (message.get("answer") or {})
            transport.deliver(target, answer)
        except Exception as exc:
            failed = getattr(self.outbox, "failed", None)
            failures = failed(entry, f"{type(exc).__name__}: {exc}") if failed is not None else 0
            log.exception(
                "delivery of %s failed (%d time(s)); it stays pending and is retried with backoff",
                entry.entry_id,
                failures,
            )
            return False
        if self.redis is not None:
            self.redis.set(marker, "1", ex=7 * 86_400)
        self.outbox.ack(entry)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="smime-delivery", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                self.run_once(timeout=0.5)
                backoff = 0.5
            except Exception as exc:  # Redis down: keep the bot alive and try again
                log.warning("outbox unreachable (%s); retrying in %.1fs", type(exc).__name__, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, seconds: float) -> None:
        time.sleep(seconds)
