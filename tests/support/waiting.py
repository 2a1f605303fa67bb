"""One way to wait for an asynchronous effect: poll the real condition until a deadline.

A fixed ``time.sleep`` hopes the effect has happened by then; ``wait_until`` checks it, returns
as soon as it holds and fails with what it was waiting for when it never does.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object],
    timeout: float = 30.0,
    what: str = "the condition",
    interval: float = 0.05,
) -> float:
    """Poll ``predicate`` until it is truthy; the seconds it took. AssertionError at the deadline.

    The predicate is evaluated once more after the deadline, so a condition that became true
    while the last interval slept is not reported as a timeout.
    """
    start = time.monotonic()
    deadline = start + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            if predicate():
                break
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start
