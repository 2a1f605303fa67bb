"""Which directory a process reads: the configured snapshot, live sources, or the bundled demo tenant.

One rule for bot, workers and the command line: a snapshot (when configured) wins; otherwise
live sources when the environment configures them (SMIME_DOCTOR_AD_SERVERS and/or
SMIME_DOCTOR_M365_TENANT, see workers/sources/live.py); otherwise the demo tenant. Only a
live directory with AD can execute approved clean-ups (workers/remediation/execute.py).
"""

from __future__ import annotations

from typing import Any

from workers.sources.snapshot import Snapshot


def open_directory(snapshot: str | None = None, demo: bool = False) -> Any:
    """A loaded directory source. With nothing configured this is the embedded default: the demo tenant."""
    if snapshot and not demo:
        directory = Snapshot(snapshot)
        directory.is_demo = False  # type: ignore[attr-defined]
        return directory
    if not demo:
        from workers.sources.live import live_from_env

        live = live_from_env()
        if live is not None:
            return live
    from workers.demo_tenant import DATA_DIR

    directory = Snapshot(DATA_DIR)
    directory.is_demo = True  # type: ignore[attr-defined]
    return directory
