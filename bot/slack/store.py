"""Small shared state of the Slack transport: seen event ids, App Home cache, approval messages.

In Redis when the bot has one (so several bot replicas and restarts agree), else in memory.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from workers.keys import Keys


class SlackStore:
    def __init__(self, redis: Any = None, prefix: str = "smime") -> None:
        self.redis = redis
        self.prefix = Keys(prefix).slack
        self._memory: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    # -- Events API retries ---------------------------------------------------------------
    def first_time(self, event_id: str, ttl_s: int = 3600) -> bool:
        """True once per event id: Slack redelivers an event it thinks we did not acknowledge."""
        key = f"{self.prefix}:event:{event_id}"
        if self.redis is not None:
            return bool(self.redis.set(key, "1", nx=True, ex=ttl_s))
        now = time.monotonic()
        with self._lock:
            hit = self._memory.get(key)
            if hit and hit[0] > now:
                return False
            self._memory[key] = (now + ttl_s, True)
            if len(self._memory) > 50_000:
                self._memory = {k: v for k, v in self._memory.items() if v[0] > now}
            return True

    # -- App Home: the last diagnosis of a user --------------------------------------------
    def put_home(self, user: str, answer: dict[str, Any], ttl_s: int = 7 * 86_400) -> None:
        value = json.dumps({"at": time.time(), "answer": answer}, ensure_ascii=False)
        self._set(f"{self.prefix}:home:{user}", value, ttl_s)

    def get_home(self, user: str) -> tuple[float, dict[str, Any]] | None:
        raw = self._get(f"{self.prefix}:home:{user}")
        if raw is None:
            return None
        data = json.loads(raw)
        return float(data["at"]), data["answer"]

    # -- where an approval request was posted (to update it after a decision) -----------------
    def add_approval_message(self, request_id: str, channel: str, ts: str) -> None:
        refs = [r for r in self.approval_messages(request_id) if r["channel"] != channel]
        refs.append({"channel": channel, "ts": ts})
        self._set(f"{self.prefix}:approval:{request_id}", json.dumps(refs), 30 * 86_400)

    def approval_messages(self, request_id: str) -> list[dict[str, str]]:
        raw = self._get(f"{self.prefix}:approval:{request_id}")
        return list(json.loads(raw)) if raw else []

    # -- plumbing --------------------------------------------------------------------------
    def _set(self, key: str, value: str, ttl_s: int) -> None:
        if self.redis is not None:
            self.redis.set(key, value, ex=ttl_s)
            return
        with self._lock:
            self._memory[key] = (time.monotonic() + ttl_s, value)

    def _get(self, key: str) -> str | None:
        if self.redis is not None:
            raw = self.redis.get(key)
            return raw.decode() if isinstance(raw, bytes) else raw
        with self._lock:
            hit = self._memory.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None
