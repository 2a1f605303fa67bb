"""Live-source benchmark against the Microsoft 365 emulator (over real HTTPS sockets).

1. Single-user gather: with 50 ms injected into every Exchange Online and Graph call, fetch
   one user's recipient and Graph user (plus Get-SmimeConfig and the organization, cached
   after first use) concurrently, and compare the wall time with the slowest single source
   round trip measured in the same run. Target: ratio <= 1.5.
2. Audit request count: collect a synthetic 10,000-user tenant (write_cloud_snapshot) and
   count HTTP requests. Targets: <= 12 to Exchange Online (1,000 per page), <= 12 to Graph.

    .venv/bin/python bench/live_diagnose.py [--users 12] [--latency-ms 50] [--audit-users 10000]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.emulators.m365 import start_emulator, synthetic_tenant  # noqa: E402
from workers.demo_tenant import DATA_DIR  # noqa: E402
from workers.sources import parsing  # noqa: E402
from workers.sources.cloud_collect import write_cloud_snapshot  # noqa: E402
from workers.sources.m365_auth import EXCHANGE_SCOPE, GRAPH_SCOPE  # noqa: E402


def gather(pool: ThreadPoolExecutor, exo: Any, graph: Any, name: str) -> dict[str, Any]:
    """What a single-user diagnosis needs from the cloud, all at once."""
    futures = {
        "exo": pool.submit(exo.get_recipient, name),
        "entra": pool.submit(graph.get_user, name),
        "smime_config": pool.submit(exo.get_smime_config),
        "organization": pool.submit(graph.get_organization),
    }
    return {k: f.result() for k, f in futures.items()}


def timed(fn: Any, *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def single_user(latency_s: float, users: int) -> tuple[float, float, float]:
    with start_emulator(latency_s=latency_s) as emu:
        tokens = emu.token_provider()
        exo, graph = emu.exchange(tokens=tokens), emu.graph(tokens=tokens)
        tokens.token(EXCHANGE_SCOPE)
        tokens.token(GRAPH_SCOPE)  # a worker signs in once, not per diagnosis
        names = [u["userPrincipalName"] for u in parsing.load_json_records(DATA_DIR / "entra-users.json")]
        names = names[: max(1, users)]
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="gather") as pool:
            gather(pool, exo, graph, names[-1])  # warm: connections per thread, tenant-level caches
            emu.reset_counts()
            walls = [timed(gather, pool, exo, graph, name) for name in names]
            per_gather = (emu.counts["exo"] + emu.counts["graph"]) / len(names)
            # the same run, one source at a time: the slowest single round trip per user
            slowest = [max(timed(exo.get_recipient, name), timed(graph.get_user, name)) for name in names]
        return statistics.median(walls), statistics.median(slowest), per_gather


def audit_requests(count: int) -> tuple[int, int, float]:
    with start_emulator(tenant=synthetic_tenant(count)) as emu, tempfile.TemporaryDirectory() as out:
        exo, graph = emu.exchange(), emu.graph()
        started = time.perf_counter()
        write_cloud_snapshot(exo, graph, Path(out))
        elapsed = time.perf_counter() - started
        recipients = parsing.load_json_records(Path(out) / "exo-recipients.json")
        users = parsing.load_json_records(Path(out) / "entra-users.json")
        assert len(recipients) == count and len(users) == count, (len(recipients), len(users))
        return emu.counts["exo"], emu.counts["graph"], elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=12, help="demo users to diagnose (median is reported)")
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--audit-users", type=int, default=10_000)
    args = p.parse_args(argv)

    single, slowest, per_gather = single_user(args.latency_ms / 1000, args.users)
    ratio = single / slowest
    print(
        f"single-user gather (median of {args.users}): {single * 1000:.1f} ms, "
        f"{per_gather:g} requests per gather after the tenant-level cache is warm"
    )
    print(f"slowest single source round trip (median): {slowest * 1000:.1f} ms; ratio {ratio:.2f}")

    exo_n, graph_n, elapsed = audit_requests(args.audit_users)
    exo_target, graph_target = 12, math.ceil(args.audit_users / 1000) + 2
    print(
        f"audit collection of {args.audit_users} users: {exo_n} Exchange Online requests, "
        f"{graph_n} Graph requests, {elapsed:.1f} s"
    )
    met = ratio <= 1.5 and exo_n <= exo_target and graph_n <= graph_target
    print(
        f"BENCH live_diagnose single_user_s={single:.4f} slowest_source_s={slowest:.4f} ratio={ratio:.2f} "
        f"exo_requests_10k={exo_n} graph_requests_10k={graph_n} "
        f"target=ratio<=1.5,exo<={exo_target},graph<={graph_target} met={'yes' if met else 'no'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
