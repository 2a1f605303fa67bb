"""Where workers put answers: a Redis stream the bot's delivery loop reads with a consumer group.

Workers hold no chat credentials, so they never post to Slack or Teams themselves; the
stream also means an answer survives a restart of the bot (it stays pending until acked).
``MemoryOutbox`` is the in-process twin used by the embedded default (no Redis).
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from workers.config import load_settings

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


@dataclass(frozen=True)
class RetryPolicy:
    """How failed deliveries are retried (Settings: outbox_retry_base_s, outbox_retry_max_s,
    outbox_max_attempts, outbox_claim_idle_s). With the defaults a delivery is tried 10 times
    over about 5 minutes (2, 4, 8 … 60 s apart) before it is dead-lettered."""

    base_s: float = 2.0
    max_s: float = 60.0
    max_attempts: int = 10
    claim_idle_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        return cls(
            settings.outbox_retry_base_s,
            settings.outbox_retry_max_s,
            settings.outbox_max_attempts,
            settings.outbox_claim_idle_s,
        )

    def wait_s(self, failures: int) -> float:
        """How long an entry that failed ``failures`` times waits before its next attempt."""
        return min(self.base_s * 2 ** max(failures - 1, 0), self.max_s)


# Atomically: ack the entry off the main stream (only the first caller gets 1 back) and append its
# message, attempts and last error to the dead-letter stream; forget its failure record.
_DEAD_LETTER = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local body = ''
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if found[1] then
  local fields = found[1][2]
  for i = 1, #fields, 2 do if fields[i] == 'm' then body = fields[i + 1] end end
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'm', body, 'entry', ARGV[2],
  'attempts', ARGV[3], 'error', ARGV[4], 'consumer', ARGV[5], 'at', ARGV[6])
redis.call('HDEL', KEYS[3], ARGV[2], ARGV[2] .. ':error')
return 1
"""


class RedisOutbox:
    """XADD on publish; XREADGROUP/XACK on the bot side.

    Failed deliveries stay pending and are retried while the process runs: every
    ``policy.base_s`` the outbox looks at the group's pending entries (XPENDING) and takes back
    (XCLAIM, with the entry's due idle time as min-idle, so only one instance wins) those that
    are due — its own after ``wait_s(failures)``, another instance's once that instance left them
    unacknowledged for ``claim_idle_s`` (it died). Failures are counted per entry in the hash
    ``<stream>:failures`` (Delivery calls ``failed``); the stream's own delivery count is not
    used, as an entry for a platform this process has no transport for is not a failure. An entry
    that failed ``max_attempts`` times is moved to the dead-letter stream ``<stream>:dead`` and
    acked off the main stream. After a restart this consumer's pending entries are re-read at once.
    """

    def __init__(
        self,
        redis: Any,
        stream: str = "smime:outbox",
        consumer: str = "bot-1",
        maxlen: int = 100_000,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.consumer = consumer
        self.maxlen = maxlen
        self._policy = policy
        self._group_ready = False
        self._next_sweep = 0.0  # monotonic; 0: sweep on the first read
        self._started = False
        self._dead_letter_script: Any = None

    @property
    def policy(self) -> RetryPolicy:
        """Given, or from the configuration (the bot's Settings come from the same environment)."""
        if self._policy is None:
            try:
                self._policy = RetryPolicy.from_settings(load_settings())
            except Exception:  # a broken configuration stops the bot elsewhere; deliver meanwhile
                self._policy = RetryPolicy()
        return self._policy

    @property
    def dead_letter_stream(self) -> str:
        return dead_letter_stream(self.stream)

    @property
    def failures_key(self) -> str:
        return f"{self.stream}:failures"

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
        """Due pending entries (this consumer's failed ones, a dead instance's), then new ones.
        Blocks at most ``timeout`` (and never past the next sweep) waiting for new entries."""
        self.ensure_group()
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.policy.base_s
            due = self._sweep(count)
            if due:
                yield from due
                return
        block = max(1, int(min(timeout, max(self._next_sweep - time.monotonic(), 0.001)) * 1000))
        fresh = self.redis.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=count, block=block)
        yield from _entries(fresh)

    def _sweep(self, count: int) -> list[OutboxEntry]:
        policy = self.policy
        first = not self._started
        self._started = True
        pending = self.redis.xpending_range(self.stream, GROUP, "-", "+", count * 4)
        if not pending:
            return []
        ids = [_s(p["message_id"]) for p in pending]
        counts = self.redis.hmget(self.failures_key, ids) if ids else []
        taken: list[OutboxEntry] = []
        for p, entry_id, raw in zip(pending, ids, counts, strict=True):
            failures = int(raw or 0)
            idle_s = int(p["time_since_delivered"]) / 1000
            own = _s(p["consumer"]) == self.consumer
            if failures >= policy.max_attempts:
                self._dead_letter(entry_id, failures, _s(p["consumer"]))
                continue
            if own and first:
                need = 0.0  # left by this consumer before a restart
            elif own and failures:
                need = policy.wait_s(failures)
            else:  # another instance's (or ours, with no transport here): only once it looks abandoned
                need = max(policy.claim_idle_s, policy.wait_s(failures) if failures else 0.0)
            if idle_s < need or len(taken) >= count:
                continue
            claimed = self.redis.xclaim(
                self.stream, GROUP, self.consumer, min_idle_time=int(need * 1000), message_ids=[entry_id]
            )
            for cid, fields in claimed:
                raw_m = (fields or {}).get(b"m") or (fields or {}).get("m")
                if raw_m is None:  # trimmed away meanwhile: nothing left to deliver
                    self.ack(OutboxEntry(_s(cid), {}))
                    continue
                taken.append(OutboxEntry(_s(cid), json.loads(_s(raw_m))))
        return taken

    def _dead_letter(self, entry_id: str, failures: int, consumer: str) -> None:
        if self._dead_letter_script is None:
            self._dead_letter_script = self.redis.register_script(_DEAD_LETTER)
        error = self.redis.hget(self.failures_key, f"{entry_id}:error")
        self._dead_letter_script(
            keys=[self.stream, self.dead_letter_stream, self.failures_key],
            args=[
                GROUP,
                entry_id,
                failures,
                _s(error or ""),
                consumer,
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                self.maxlen,
            ],
        )

    def failed(self, entry: OutboxEntry, error: str) -> int:
        """Count a failed delivery of ``entry`` (it stays pending); returns its failures so far."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.failures_key, entry.entry_id, 1)
            pipe.hset(self.failures_key, f"{entry.entry_id}:error", error[:500])
            failures = int(pipe.execute()[0])
        return failures

    def ack(self, entry: OutboxEntry) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, GROUP, entry.entry_id)
            pipe.hdel(self.failures_key, entry.entry_id, f"{entry.entry_id}:error")
            pipe.execute()


def dead_letter_stream(stream: str) -> str:
    """Where deliveries that kept failing end: next to the outbox stream."""
    return f"{stream}:dead"


def dead_letters(redis: Any, stream: str, count: int = 1000) -> list[dict[str, Any]]:
    """The dead-lettered deliveries of ``stream``, oldest first (for check-config and audit-log)."""
    out = []
    for entry_id, fields in redis.xrange(dead_letter_stream(stream), count=count):
        f = {_s(k): _s(v) for k, v in fields.items()}
        try:
            message = json.loads(f.get("m") or "{}")
        except ValueError:
            message = {}
        out.append(
            {
                "id": _s(entry_id),
                "at": f.get("at", ""),
                "entry": f.get("entry", ""),
                "attempts": int(f.get("attempts") or 0),
                "error": f.get("error", ""),
                "consumer": f.get("consumer", ""),
                "message": message,
            }
        )
    return out


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
