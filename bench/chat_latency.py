"""Chat latency: how fast the bot acknowledges, and what the queue adds to the answer.

Real redis-server (private, loopback), two real `smime-doctor worker` processes, the demo tenant.
For N requests ("check <user>" by a helpdesk user, round-robin over the demo users):
  (a) ack   = Dispatcher.handle + submit (parse, identity, policy, name resolution, RQ enqueue)
  (b) total = from the message to the answer delivered by the outbox delivery loop
Baseline measured in the same run: the same diagnosis called directly in-process.
Targets: ack p99 <= 20 ms; total - baseline: p50 <= 30 ms, p95 <= 100 ms.

    .venv/bin/python bench/chat_latency.py [--requests 500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="smime-bench-redis-"))
    port = free_port()
    redis_proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(workdir),
            "--save",
            "",
            "--appendonly",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "SMIME_DOCTOR_REDIS_URL": url, "SMIME_DOCTOR_DEMO": "true"}
    workers = []
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            for _ in range(2)
        ]
        return run(url, args.requests)
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(15)
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def run(url: str, n: int) -> int:
    from redis import Redis
    from rq import Worker

    from bot.app import build_app
    from handlers.types import ChatRequest
    from workers.config import load_settings
    from workers.diagnosis import Engine

    redis = Redis.from_url(url)
    deadline = time.monotonic() + 30
    while len(Worker.all(connection=redis)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    settings = load_settings(
        redis_url=url, demo=True, dedup_window_s=0, roles={"helpdesk": {"users": ["adele.vance"]}}
    )
    delivered: dict[str, float] = {}
    events: dict[str, threading.Event] = {}

    class Sink:
        platform = "bench"

        def deliver(self, target: dict, answer: dict) -> None:
            delivered[target["target_id"]] = time.perf_counter()
            events[target["target_id"]].set()

    app = build_app(settings, {"bench": Sink()})
    app.delivery.start()
    directory = app.directory
    users = [k for k in directory.entries if directory.user(k).primary_smtp][:40]
    at = directory.tenant.collected_at

    # Baseline: the same diagnosis, directly in-process.
    engine = Engine(directory.tenant, at)
    baseline = []
    for i in range(n):
        t0 = time.perf_counter()
        engine.diagnose(directory.find(users[i % len(users)]))
        baseline.append(time.perf_counter() - t0)

    # Warm up (first job per worker loads the snapshot lazily in its work-horse).
    acks, totals = [], []
    for i in range(n + 10):
        target_id = f"t{i}"
        events[target_id] = threading.Event()
        t0 = time.perf_counter()
        reply = app.dispatcher.handle(
            ChatRequest("console", "adele.vance", f"check {users[i % len(users)]}", {}, None, target_id)
        )
        assert reply.job is not None, reply.text
        app.dispatcher.submit(reply.job, {"platform": "bench", "target_id": target_id})
        t1 = time.perf_counter()
        if not events[target_id].wait(30):
            print(f"request {i} got no answer", file=sys.stderr)
            return 1
        if i >= 10:
            acks.append(t1 - t0)
            totals.append(delivered[target_id] - t0)
    app.close()

    ms = 1000.0
    ack_p50, ack_p99 = pct(acks, 50) * ms, pct(acks, 99) * ms
    base_p50, base_p95 = pct(baseline, 50) * ms, pct(baseline, 95) * ms
    tot_p50, tot_p95 = pct(totals, 50) * ms, pct(totals, 95) * ms
    over_p50, over_p95 = tot_p50 - base_p50, tot_p95 - base_p95
    print(f"requests={n} ack p50={ack_p50:.2f} ms p99={ack_p99:.2f} ms")
    print(
        f"baseline (in-process diagnosis) p50={base_p50:.2f} ms p95={base_p95:.2f} ms mean={statistics.mean(baseline) * ms:.2f} ms"
    )
    print(
        f"delivered answer p50={tot_p50:.2f} ms p95={tot_p95:.2f} ms -> overhead p50={over_p50:.2f} ms p95={over_p95:.2f} ms"
    )
    met = ack_p99 <= 20 and over_p50 <= 30 and over_p95 <= 100
    print(
        f"BENCH chat_latency requests={n} ack_p99_ms={ack_p99:.2f} overhead_p50_ms={over_p50:.2f} "
        f"overhead_p95_ms={over_p95:.2f} target=ack_p99<=20ms,overhead_p50<=30ms,overhead_p95<=100ms met={'yes' if met else 'no'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
