"""The contract between the chat side and the workers: what one job is.

The chat core (handlers/chat.py) builds a JobSpec; RQ carries its `to_dict()` (plain ids and
options: RQ pickles nothing richer) to `workers.jobs.run_chat_job`, which reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

INTERACTIVE, BULK = "interactive", "bulk"
JobKind = Literal["diagnose", "encrypt_to", "audit", "plan_reset", "plan_action"]
JOB_KINDS: tuple[str, ...] = ("diagnose", "encrypt_to", "audit", "plan_reset", "plan_action")
# Executing an approved request is not a chat job: workers.remediation.execute.run_execute(request_id),
# enqueued when a request becomes approved.


# An execution that could not reach its source runs again later (the request waits in approved).
# The first retry is immediate: RQ uses the same intervals for a job whose worker died, and an
# immediate re-enqueue needs no scheduler (whose lock a dead worker may hold for another minute).
RQ_RETRY_INTERVALS_S = [0, 60, 300, 900]


@dataclass(frozen=True)
class JobSpec:
    """What a worker should do, for whom (`asker`, a directory key), in which language."""

    job_id: str
    kind: JobKind
    queue: str  # INTERACTIVE or BULK
    lang: str
    asker: str
    subject: str | None = None  # diagnose, plan_reset, plan_action: whose objects
    sender: str | None = None  # encrypt_to
    recipient: str | None = None  # encrypt_to
    action: str | None = None  # plan_action: which remediation (workers/remediation/plan.py)
    focus: str | None = None  # diagnose: "expiry"/"propagation" lead with that; "detail": the full report

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def enqueue_execution(redis: Any, request_id: str, timeout_s: int = 300) -> None:
    """Queue the execution of an approved request (job id `exec-<request id>`)."""
    from rq import Queue, Retry  # deferred: the chat process needs rq only when it has Redis

    Queue(INTERACTIVE, connection=redis).enqueue(
        "workers.remediation.execute.run_execute",
        request_id,
        job_id=f"exec-{request_id}",
        job_timeout=timeout_s,
        retry=Retry(max=len(RQ_RETRY_INTERVALS_S), interval=RQ_RETRY_INTERVALS_S),
        result_ttl=86_400,
        failure_ttl=7 * 86_400,
    )
