"""Fault drills: pause a worker process the tests start at a named point (test code only).

The product has no fault hook. ``fault_env`` gives the environment that makes a real
`smime-doctor worker` load tests/support/fault_drills/sitecustomize.py, which wraps the real
function of the point (see there): ``job`` (the start of every chat job) or ``after_backup``
(an execution that saved its backup and has not written yet).
"""

from __future__ import annotations

import os
from pathlib import Path

DRILLS = Path(__file__).resolve().with_name("fault_drills")
POINTS = ("job", "after_backup")


def fault_env(point: str, delay_s: float) -> dict[str, str]:
    """Extra environment for a worker process that pauses ``delay_s`` seconds at ``point``."""
    if point not in POINTS:
        raise ValueError(f"unknown fault point {point!r}; one of {', '.join(POINTS)}")
    path = os.pathsep.join(p for p in (str(DRILLS), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "FAULT_DRILL_POINT": point, "FAULT_DRILL_DELAY_S": str(delay_s)}
