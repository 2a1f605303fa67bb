"""Which directory a process reads: the configured snapshot, or the bundled demo tenant.

Live AD / Exchange Online composition plugs in here too, so bot, workers and the command
line agree on one source.
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
    from workers.demo_tenant import DATA_DIR

    directory = Snapshot(DATA_DIR)
    directory.is_demo = True  # type: ignore[attr-defined]
    return directory
