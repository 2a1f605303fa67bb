"""Deliveries are retried while the bot runs: a failed one with backoff, a dead instance's taken
over, one that keeps failing dead-lettered (and shown by check-config and audit-log).

Real redis-server (tests/conftest.py), the real RedisOutbox and Delivery loop thread, with
small retry settings so everything happens within seconds. Every wait polls a real condition.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis import Redis

from bot.delivery import Delivery
from tests.support.services import ROOT
from tests.support.waiting import wait_until
from workers.outbox import GROUP, RedisOutbox, RetryPolicy, dead_letter_stream, dead_letters

STREAM = "smime:outbox"
POLICY = RetryPolicy(base_s=0.2, max_s=1.0, max_attempts=3, claim_idle_s=1.0)


class FlakyTransport:
    """Fails the first ``failures`` deliveries (like a 500 from chat.update), then works."""

    platform = "test"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[float] = []
        self.delivered: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def deliver(self, target: dict[str, Any], answer: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(time.monotonic())
            if len(self.calls) <= self.failures:
                raise RuntimeError("slack_error: 500 internal_error (chat.update)")
            self.delivered.append(answer)


def message(n: int = 1) -> dict[str, Any]:
    return {
        "delivery_id": f"job-{n}:requester",
        "job_id": f"job-{n}",
        "target": {"platform": "test", "conversation": "D1", "target_id": f"job-{n}"},
        "answer": {"type": "text", "text": f"answer {n}", "request_id": f"R-{n}"},
    }


def pending(r: Redis) -> int:
    return int(r.xpending(STREAM, GROUP)["pending"])


@pytest.fixture()
def r(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@contextlib.contextmanager
def running(r: Redis, transport: FlakyTransport, consumer: str) -> Iterator[RedisOutbox]:
    outbox = RedisOutbox(r, STREAM, consumer=consumer, policy=POLICY)
    delivery = Delivery(outbox, {"test": transport}, r, "smime")
    delivery.start()
    try:
        yield outbox
    finally:
        delivery.stop()


def test_a_delivery_that_fails_once_is_retried_within_seconds_and_delivered_once(r: Redis) -> None:
    transport = FlakyTransport(failures=1)
    with running(r, transport, "bot-a") as outbox:
        published = time.monotonic()
        outbox.publish(message())
        wait_until(lambda: len(transport.delivered) == 1, 5)
        latency = time.monotonic() - published
        print(f"delivered {latency:.2f} s after publishing (one failure, then the retry)")
        assert len(transport.calls) == 2 and latency < 3
        wait_until(lambda: pending(r) == 0, 2)  # acked: no further redelivery can happen
        assert r.exists("smime:delivered:job-1:requester")
        assert r.hlen(outbox.failures_key) == 0  # the failure record is gone with the ack
    assert transport.delivered == [message()["answer"]]


def test_a_dead_instances_pending_entry_is_delivered_by_a_running_one(r: Redis) -> None:
    policy = RetryPolicy(base_s=0.2, max_s=1.0, max_attempts=3, claim_idle_s=3.0)  # room for a slow box
    dead = RedisOutbox(r, STREAM, consumer="bot-dead", policy=policy)
    dead.ensure_group()
    dead.publish(message(2))
    taken = list(dead.read(timeout=0.5))  # it read the answer and died before delivering it
    assert [e.message["delivery_id"] for e in taken] == ["job-2:requester"]
    transport = FlakyTransport(failures=0)
    live = RedisOutbox(r, STREAM, consumer="bot-live", policy=policy)
    assert list(live.read(timeout=0.1)) == []  # its first look: not yet idle long enough to be abandoned
    delivery = Delivery(live, {"test": transport}, r, "smime")
    delivery.start()
    try:
        took = wait_until(lambda: len(transport.delivered) == 1, 10)
        print(f"a dead instance's entry delivered {took:.2f} s after the running instance started")
        wait_until(lambda: pending(r) == 0, 2)
    finally:
        delivery.stop()
    assert transport.delivered == [message(2)["answer"]]


def test_a_delivery_that_keeps_failing_ends_in_the_dead_letter_stream_and_check_config_shows_it(
    r: Redis, redis_url: str
) -> None:
    transport = FlakyTransport(failures=1_000)
    with running(r, transport, "bot-a") as outbox:
        outbox.publish(message(3))
        wait_until(lambda: r.xlen(dead_letter_stream(STREAM)) == 1, 10)
        wait_until(lambda: pending(r) == 0, 2)
        assert len(transport.calls) == POLICY.max_attempts
        gaps = [b - a for a, b in zip(transport.calls, transport.calls[1:], strict=False)]
        assert all(g >= POLICY.wait_s(i + 1) - 0.05 for i, g in enumerate(gaps)), gaps  # backoff
    [dead] = dead_letters(r, STREAM)
    assert dead["attempts"] == POLICY.max_attempts and "500 internal_error" in dead["error"]
    assert dead["message"]["delivery_id"] == "job-3:requester"
    assert r.xlen(STREAM) == 1 and r.hlen(outbox.failures_key) == 0
    env = {
        **os.environ,
        "SMIME_DOCTOR_REDIS_URL": redis_url,
        "SMIME_DOCTOR_DEMO": "true",
        "SMIME_DOCTOR_OUTBOX_MAX_ATTEMPTS": str(POLICY.max_attempts),
    }
    check = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check-config"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert (
        "warn  1 answer(s) could not be delivered after 3 attempts; they wait in smime:outbox:dead"
        in check.stdout
    ), check.stdout
    log = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit-log"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "delivery_dead_lettered job-3:requester  target=test:job-3 attempts=3" in log.stdout, log.stdout
