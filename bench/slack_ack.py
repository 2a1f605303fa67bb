"""Slash-command ack latency: signed `/smime` requests through Bolt's dispatch (signature
verification, middleware, our listener), while the work after each ack — users.info,
the "working on it" message, the real Redis enqueue — runs on the bot's pool.

Real redis-server (private, loopback), the local mock of the Slack Web API, the demo tenant.
Target: p99 <= 50 ms over 1,000 requests. Also reports ack → job enqueued in Redis, to show
the enqueue really happens (and how soon). Ends with exactly one BENCH line.

    .venv/bin/python bench/slack_ack.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SECRET = "bench-signing-secret"
USERS = [
    "adele.vance", "alex.wilber", "megan.bowen", "lynne.robbins", "diego.siciliani", "pradeep.gupta",
    "no.nickname", "ts.user", "stale.smime", "fresh.cert", "hidden.gal", "exp.soon", "two.keys", "alice",
]  # fmt: skip
QUESTIONS = ["status", "why can't people encrypt to me", "ist mein Zertifikat veröffentlicht?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()

    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="smime-bench-redis-"))
    redis_proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(workdir), "--appendonly", "yes", "--save", "", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return run(f"redis://127.0.0.1:{port}/0", args.requests, args.warmup)
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def run(redis_url: str, n: int, warmup: int) -> int:
    from slack_bolt.request import BoltRequest
    from slack_sdk.signature import SignatureVerifier

    from bot.slack.app import build_slack
    from bot.slack.config import SlackConfig
    from tests.chat.slack_mock import MockSlack
    from workers.config import load_settings

    users = {f"U{i:08d}": {"email": f"{u}@contoso.example", "locale": "en-US"} for i, u in enumerate(USERS)}
    api = MockSlack(users).start()
    settings = load_settings(redis_url=redis_url, demo=True)
    bot = build_slack(
        settings,
        SlackConfig(bot_token="xoxb-bench", signing_secret=SECRET, api_url=api.url),
        consumer="bench",
    )
    enqueued: dict[str, float] = {}
    queue = bot.core.dispatcher.queue
    real_submit = queue.submit

    def timed_submit(job: Any, target: dict[str, Any]) -> None:
        real_submit(job, target)
        enqueued[target["target_id"]] = time.perf_counter()

    queue.submit = timed_submit  # type: ignore[method-assign]
    verifier = SignatureVerifier(SECRET)
    ids = list(users)
    acks: list[float] = []
    acked_at: dict[str, float] = {}
    lock = threading.Lock()
    try:
        for i in range(warmup + n):
            trigger = f"trig-{i}"
            body = urlencode(
                {
                    "team_id": "T0BENCH",
                    "channel_id": "C0GENERAL",
                    "user_id": ids[i % len(ids)],
                    "command": "/smime",
                    "text": QUESTIONS[i % len(QUESTIONS)],
                    "response_url": "https://hooks.slack.invalid/1",
                    "trigger_id": trigger,
                }
            )
            ts = str(int(time.time()))
            headers: dict[str, str | Sequence[str]] = {
                "content-type": ["application/x-www-form-urlencoded"],
                "x-slack-request-timestamp": [ts],
                "x-slack-signature": [verifier.generate_signature(timestamp=ts, body=body) or ""],
            }
            start = time.perf_counter()
            response = bot.bolt.dispatch(BoltRequest(body=body, headers=headers))
            end = time.perf_counter()
            if response.status != 200:
                raise SystemExit(f"request {i}: status {response.status} {response.body}")
            if i >= warmup:
                acks.append((end - start) * 1000)
                with lock:
                    acked_at[trigger] = end
        bot.wait_idle(120)
    finally:
        bot.close()
        api.stop()
    lags = [(enqueued[t] - acked_at[t]) * 1000 for t in acked_at if t in enqueued]
    p50, p99 = statistics.median(acks), percentile(acks, 99)
    print(
        f"ack latency over {n} signed /smime requests: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(acks):.2f} ms"
    )
    print(
        f"ack → job enqueued in Redis: {len(lags)}/{n} enqueued, "
        f"p50 {statistics.median(lags):.1f} ms, p99 {percentile(lags, 99):.1f} ms"
    )
    met = "yes" if p99 <= 50 and len(lags) == n else "no"
    print(f"BENCH slack_ack requests={n} p50_ms={p50:.2f} p99_ms={p99:.2f} target=p99<=50ms met={met}")
    return 0 if met == "yes" else 1


if __name__ == "__main__":
    raise SystemExit(main())
