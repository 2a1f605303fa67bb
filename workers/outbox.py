"""Where workers put answers: a Redis stream the bot's delivery loop reads with a consumer group.

Workers hold no chat credentials, so they never post to Slack or Teams themselves; the
stream also means an answer survives a restart of the bot (it stays pending until acked).
``MemoryOutbox`` is the in-process twin used by the embedded default (no Redis).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

GROUP = "bot"


@dataclass(frozen=True)
class OutboxEntry:
    entry_id: str  # stream id (Redis) or a counter (memory)
    message: dict[str, Any]


class Outbox(Protocol):
    def publish(self, message: dict[str, Any], stream: str | None = None) -> None: ...


class MemoryOutbox:
    """In-process outbox: a thread-safe queue, nothing survives the process (nothing needs to)."""

    def __init__(self) -> None:
        self._q: queue.Queue[dict[str, Any]] = queue.Queue()
        self._n = 0

    def publish(self, message: dict[str, Any], stream: str | None = None) -> None:
        self._q.put(message)

    def read(self, timeout: float = 0.5) -> Iterator[OutboxEntry]:
        try:
            message = self._q.get(timeout=timeout)
        except queue.Empty:
            return
        self._n += 1
        yield OutboxEntry(str(self._n), message)
        while True:
            try:
                message = self._q.get_nowait()
            except queue.Empty:
                return
            self._n += 1
            yield OutboxEntry(str(self._n), message)

    def ack(self, entry: OutboxEntry) -> None:
        return None


class RedisOutbox:
    """XADD on publish; XREADGROUP/XACK on the bot side; pending entries are re-read after a restart."""

    def __init__(
        self, redis: Any, stream: str = "smime:outbox", consumer: str = "bot-1", maxlen: int = 100_000
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.consumer = consumer
        self.maxlen = maxlen
        self._group_ready = False
        self._drained_pending = False

    def publish(self, message: dict[str, Any], stream: str | None = None) -> None:
        """`stream` lets a conversation that only one process can reach (a console) get its own stream."""
        body = {"m": json.dumps(message, ensure_ascii=False)}
        self.redis.xadd(stream or self.stream, body, maxlen=self.maxlen, approximate=True)

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except Exception as exc:  # BUSYGROUP: it exists already
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def read(self, timeout: float = 0.5, count: int = 50) -> Iterator[OutboxEntry]:
        """First this consumer's unacknowledged entries (left by a crash), then new ones;
        entries another bot instance left unacked for a minute are claimed too."""
        self.ensure_group()
        if not self._drained_pending:
            pending = _entries(self.redis.xreadgroup(GROUP, self.consumer, {self.stream: "0"}, count=count))
            if pending:
                yield from pending
                return
            self._drained_pending = True
            claimed = self.redis.xautoclaim(
                self.stream, GROUP, self.consumer, min_idle_time=60_000, start_id="0-0", count=count
            )
            taken = [
                OutboxEntry(_s(i), json.loads(_s(f.get(b"m") or f.get("m")))) for i, f in claimed[1] if f
            ]
            if taken:
                yield from taken
                return
        fresh = self.redis.xreadgroup(
            GROUP, self.consumer, {self.stream: ">"}, count=count, block=int(timeout * 1000)
        )
        yield from _entries(fresh)

    def ack(self, entry: OutboxEntry) -> None:
        self.redis.xack(self.stream, GROUP, entry.entry_id)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(response: Any) -> list[OutboxEntry]:
    out: list[OutboxEntry] = []
    for _stream, items in response or []:
        for entry_id, fields in items:
            raw = fields.get(b"m") if b"m" in fields else fields.get("m")
            if raw is None:
                continue
            out.append(OutboxEntry(_s(entry_id), json.loads(_s(raw))))
    return out
