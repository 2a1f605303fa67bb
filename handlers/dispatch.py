"""Where chat jobs run: RQ workers on Redis, or a small thread pool in this process (the
embedded default). The chat core (handlers/chat.py) hands a JobSpec to a JobQueue and returns;
the job's answer comes back through the outbox to every conversation that asked.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from workers.answers import TextAnswer, to_json
from workers.config import Settings
from workers.errors import ServiceUnavailable
from workers.jobs import (
    BULK,
    INTERACTIVE,
    answer_key,
    answer_or_error,
    on_job_failure,
    outbox_message,
    targets_key,
)
from workers.jobspec import JobSpec
from workers.keys import Keys
from workers.outbox import RedisOutbox

if TYPE_CHECKING:
    from workers.sources.directory import Directory


class JobQueue(Protocol):
    def submit(self, job: JobSpec, target: dict[str, Any]) -> None: ...


class InProcessQueue:
    """The embedded default: jobs run on a small thread pool in this process."""

    def __init__(self, directory: Directory, outbox: Any, workers: int = 2) -> None:
        self.directory = directory
        self.outbox = outbox
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smime-job")
        self._jobs: dict[str, tuple[Future[dict[str, Any]], list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:
        with self._lock:
            running = self._jobs.get(job.job_id)
            if running is not None:
                future, targets = running
                if not future.done():
                    targets.append(target)  # the same question again: one run, two answers
                    return
                self.outbox.publish(outbox_message(job.job_id, target, future.result()))
                return
            targets = [target]
            future = self.pool.submit(lambda: to_json(answer_or_error(job.to_dict(), self.directory)))
            self._jobs[job.job_id] = (future, targets)
        future.add_done_callback(lambda f: self._done(job.job_id, f))

    def _done(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        try:
            answer = future.result()
        except Exception as exc:  # a bug must still produce an answer for the asker
            answer = to_json(TextAnswer(f"Sorry — this could not be checked ({type(exc).__name__})."))
        with self._lock:
            targets = list(self._jobs[job_id][1])
        for target in targets:
            self.outbox.publish(outbox_message(job_id, target, answer))

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class RQQueue:
    """RQ on Redis: `interactive` before `bulk`, job timeouts, retries for transient errors, dedup by job id."""

    def __init__(self, redis: Any, settings: Settings) -> None:
        from rq import Queue  # deferred: RQ is optional (the embedded mode runs without Redis)

        self.redis = redis
        self.settings = settings
        self.queues = {name: Queue(name, connection=redis) for name in (INTERACTIVE, BULK)}

    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:
        from redis.exceptions import (
            RedisError,  # deferred: Redis is optional (the embedded mode runs without it)
        )
        from rq import Callback, Retry  # deferred: RQ is optional (the embedded mode runs without Redis)

        s = self.settings
        ttl = max(s.dedup_window_s, 60) * 2
        try:
            pipe = self.redis.pipeline()
            pipe.rpush(targets_key(s, job.job_id), json.dumps(target))
            pipe.expire(targets_key(s, job.job_id), ttl + s.job_timeout_s)
            pipe.set(Keys(s.key_prefix).job(job.job_id), "1", nx=True, ex=ttl)
            _, _, first = pipe.execute()
            if not first:
                # Asked again within the window: the running job answers every target it finds;
                # if it already finished, answer this conversation from the stored answer.
                stored = self.redis.get(answer_key(s, job.job_id))
                if stored is not None:
                    outbox = RedisOutbox(self.redis, s.outbox_stream)
                    outbox.publish(
                        outbox_message(job.job_id, target, json.loads(stored)), stream=target.get("stream")
                    )
                return
            timeout = s.job_timeout_s * (10 if job.queue == BULK else 1)
            self.queues[job.queue].enqueue(
                "workers.jobs.run_chat_job",
                job.to_dict(),
                job_id=job.job_id,
                job_timeout=timeout,
                # Lost workers: RQ re-runs the job at once (no interval, so no scheduler lock to wait for).
                # Transient source errors are retried with backoff inside the job (workers.jobs).
                retry=Retry(max=s.job_retries) if s.job_retries else None,
                result_ttl=ttl,
                failure_ttl=86_400,
                on_failure=Callback(on_job_failure),
            )
        except RedisError:
            raise ServiceUnavailable("the job queue (Redis) cannot be reached") from None
