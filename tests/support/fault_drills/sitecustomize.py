"""Fault drills for the worker processes the tests start: test code only, never part of the product.

``tests.support.faults.fault_env(point, delay_s)`` puts this folder on the PYTHONPATH of a
`smime-doctor worker` with FAULT_DRILL_POINT and FAULT_DRILL_DELAY_S; Python imports this module
at start-up (``site``), and it wraps one real function so that the worker pauses ``delay_s``
seconds at the point:

- ``job``: at the start of every chat job (``workers.jobs.compute_answer``), as slow as a hanging
  source;
- ``after_backup``: an execution that saved its before-state backup and has not written yet (right
  after ``workers.remediation.execute._save_backup`` returns): where a drill kills the worker.

A point that cannot be installed (a misspelt point, a renamed function) ends the process at
start-up, so the test fails at once instead of running without its pause.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any


def _install(point: str, delay: float) -> None:
    if point == "job":
        from workers import jobs as module

        name = "compute_answer"
    elif point == "after_backup":
        from workers.remediation import execute as module  # type: ignore[no-redef]

        name = "_save_backup"
    else:
        raise ValueError(f"unknown point {point!r} (job or after_backup)")
    original = getattr(module, name)
    pause_first = point == "job"  # else: pause once the function has done its work

    @functools.wraps(original)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if pause_first:
            time.sleep(delay)
        result = original(*args, **kwargs)
        if not pause_first:
            time.sleep(delay)
        return result

    setattr(module, name, paused)


_delay = float(os.environ.get("FAULT_DRILL_DELAY_S") or 0)
if _delay:
    _point = os.environ.get("FAULT_DRILL_POINT") or "job"
    try:
        _install(_point, _delay)
    except Exception as exc:  # site would print one line and go on without the pause
        sys.exit(f"fault drill {_point!r} cannot be installed: {exc!r}")
