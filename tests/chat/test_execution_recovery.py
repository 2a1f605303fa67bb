"""Executions never hang: a worker killed mid-execution is replaced, a busy run is retried.

Real redis-server, real `smime-doctor worker` processes (SimpleWorker, the default) and the real
Samba AD DC of the remediation tests (the `own_dc` and `live` fixtures of tests/conftest.py, helpers in tests/support/remediation.py).
The pause is the fault drill ``after_backup`` (tests/support/faults.py): the execution has saved
its backup and not written yet.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rq.job import Job, JobStatus
from rq.results import Result

from tests.support.faults import fault_env
from tests.support.remediation import (  # own_dc and live: tests/conftest.py
    ad_env,
    approved_request,
    audit_events,
    certs_of,
    sha,
    state,
)
from tests.support.services import Workers
from tests.support.waiting import wait_until as wait_for
from workers.approvals_store import ApprovalStore
from workers.plan_types import Plan
from workers.remediation.execute import ExecutionLease

REQUESTER_STREAM = "smime:outbox:console:requester"


def _approved_with_requester(live: dict[str, Any]) -> tuple[str, Plan]:
    """approved_request, with the requester's conversation on a stream of its own."""
    request_id, plan = approved_request(live)

    def with_notify(r: Any) -> Any:
        r.notify = {"platform": "console", "conversation": "requester", "stream": REQUESTER_STREAM}
        return r

    ApprovalStore(live["redis"])._cas(request_id, with_notify)
    return request_id, plan


def _told_requester(live: dict[str, Any], request_id: str) -> list[dict[str, Any]]:
    """Everything published to the requester about this request (the outbox entries' answers)."""
    out = []
    for _id, fields in live["redis"].xrange(REQUESTER_STREAM):
        answer = json.loads(fields[b"m"])["answer"]
        if answer.get("request_id") == request_id or answer.get("request", {}).get("id") == request_id:
            out.append(answer)
    return out


def _assert_done_once(live: dict[str, Any], request_id: str, plan: Plan) -> None:
    done = state(live, request_id)
    assert done.state == "done", done.result
    kept = {c.sha256 for c in plan.keep}
    now = certs_of(live["dc"], live["dn"])
    assert {sha(v) for v in now["userCertificate"]} == kept and len(now["userCertificate"]) == 1
    assert done.result.get("already_applied") is not True  # the write happened in this run, once
    events = audit_events(live, request_id)
    assert events.count("done") == 1 and "failed" not in events
    told = _told_requester(live, request_id)
    finals = [a for a in told if a.get("event") in ("done", "failed")]
    texts = [a for a in told if a.get("type") == "text"]
    assert [a["event"] for a in finals] == ["done"], told
    assert len(texts) == 1 and texts[0]["text"].startswith("Done: removed 19 value(s)"), texts


def test_a_worker_killed_between_backup_and_write_is_replaced_within_two_minutes(
    live: dict[str, Any], redis_url: str
) -> None:
    request_id, plan = _approved_with_requester(live)
    r = live["redis"]
    env = ad_env(live["dc"])
    paused = Workers(redis_url, {**env, **fault_env("after_backup", 3600)})
    survivor = Workers(redis_url, env)
    try:
        [first] = paused.start(1)  # the approval queued the execution job (exec-<request id>)
        wait_for(lambda: "backup_saved" in audit_events(live, request_id), 60)
        assert state(live, request_id).state == "executing"
        assert len(certs_of(live["dc"], live["dn"])["userCertificate"]) == 20  # not written yet
        paused.kill(first)  # SIGKILL: no cleanup, the lease and RQ's record stay behind
        killed = time.monotonic()
        survivor.start(1)
        wait_for(lambda: state(live, request_id).state in ("done", "failed"), 150)
        recovery = time.monotonic() - killed
        print(f"recovery after SIGKILL: {recovery:.1f} s")
        assert recovery <= 120, recovery
        _assert_done_once(live, request_id, plan)
        job = Job.fetch(f"exec-{request_id}", connection=r)
        wait_for(lambda: job.get_status() == JobStatus.FINISHED, 30)
        assert job.return_value() == "done"
        assert r.get(f"smime:execlock:{request_id}") is None  # released by the survivor
    finally:
        paused.stop()
        survivor.stop()


def test_a_run_finding_the_lease_held_by_a_live_holder_is_retried_and_completes_after_it(
    live: dict[str, Any], redis_url: str
) -> None:
    request_id, plan = _approved_with_requester(live)
    r = live["redis"]
    holder = ExecutionLease(r, f"smime:execlock:{request_id}", 6)  # renewed every 2 s while held
    assert holder.acquire()
    workers = Workers(redis_url, ad_env(live["dc"]))
    held = True
    try:
        workers.start(1)  # the approval queued the execution job
        job = Job.fetch(f"exec-{request_id}", connection=r)

        def retried(times: int) -> bool:
            job.refresh()
            return (job.number_of_retries or 0) >= times

        # two retries 5 s apart span more than the 6 s lease: the live holder's heartbeat kept it
        wait_for(lambda: retried(2), 60)
        assert all(res.type == Result.Type.RETRIED for res in job.results())  # never a success
        assert job.get_status() != JobStatus.FINISHED
        assert state(live, request_id).state == "approved"  # the busy run changed nothing
        assert len(certs_of(live["dc"], live["dn"])["userCertificate"]) == 20
        assert _told_requester(live, request_id) == []
        holder.release()
        held = False
        wait_for(lambda: state(live, request_id).state in ("done", "failed"), 60)
        _assert_done_once(live, request_id, plan)
        wait_for(lambda: job.get_status() == JobStatus.FINISHED, 30)
        assert job.return_value() == "done"
    finally:
        if held:
            holder.release()
        workers.stop()
