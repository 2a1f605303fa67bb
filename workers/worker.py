"""`smime-doctor worker`: an RQ worker on the product's queues, `interactive` before `bulk`.

The scheduler is on (retry intervals need it) and registry maintenance runs every 10 s, so a
job whose worker died is re-run by a surviving worker as soon as RQ's record of it lapses: for
an execution that is its 30 s lease (ExecutionLease in workers/remediation/execute.py renews it
while the job runs), so well within a minute of the death. For several workers on one host use
`rq worker-pool -n N interactive bulk -w rq.worker.Worker` with the same environment.
"""

from __future__ import annotations

import logging

from workers.config import Settings
from workers.errors import InputError
from workers.jobspec import BULK, INTERACTIVE
from workers.roles import RoleBook
from workers.sources.directory import directory_for

MAINTENANCE_INTERVAL_S = 10
WORKER_TTL_S = 25  # an idle worker wakes every WORKER_TTL_S - 15 s (RQ's dequeue timeout) for maintenance
JOB_MONITORING_INTERVAL_S = 10


def run_worker(settings: Settings, burst: bool = False, name: str | None = None, fork: bool = False) -> int:
    """`fork=False` (default) runs jobs in the worker process itself: no fork per job, so a
    diagnosis answers ~100 ms sooner and reuses the loaded directory; jobs are short and
    read-only. `fork=True` isolates every job in a work-horse (RQ's classic model)."""
    from redis import Redis  # deferred: Redis is optional (the embedded mode runs without it)
    from redis.exceptions import RedisError  # deferred: Redis is optional (the embedded mode runs without it)
    from rq import (  # deferred: RQ is optional (the embedded mode runs without Redis)
        Queue,
        SimpleWorker,
        Worker,
    )

    if not settings.redis_url:
        raise InputError("a worker needs a Redis: set SMIME_DOCTOR_REDIS_URL (or pass --redis URL)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    redis = Redis.from_url(settings.redis_url)
    try:
        redis.ping()
    except RedisError as exc:
        raise InputError(
            f"Redis at {_redact(settings.redis_url)} cannot be reached ({type(exc).__name__})"
        ) from None
    directory = directory_for(settings)  # load the source first: the first answer is as fast as the rest
    RoleBook(settings.roles, directory).validate()  # the worker re-checks approvers with these groups
    queues = [Queue(n, connection=redis) for n in (INTERACTIVE, BULK)]
    # A short worker TTL keeps idle workers waking up (RQ only does maintenance between dequeues),
    # so a job abandoned by a dead worker is found within ~10 s of its registry entry lapsing.
    worker_class = Worker if fork else SimpleWorker
    worker = worker_class(
        queues,
        connection=redis,
        name=name,
        maintenance_interval=MAINTENANCE_INTERVAL_S,
        worker_ttl=WORKER_TTL_S,
        job_monitoring_interval=JOB_MONITORING_INTERVAL_S,
    )
    worker.work(burst=burst, with_scheduler=True)
    return 0


def _redact(url: str) -> str:
    """A Redis URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
