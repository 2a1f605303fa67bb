"""Approved clean-ups run against a real Samba AD DC: exactly the approved values change, once,
only while the approvers and the directory are still as approved — and undo puts everything back.

Real Redis, real `smime-doctor worker` processes pointed at the DC, and the bot (console
transport) on the same live directory. The module runs on a DC of its own (writes stamp
whenChanged, which other files compare with the snapshot), and every test puts ts.user's
certificates back as the demo tenant has them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import ldap3
import pytest

from tests.samba.helpers import admin_connection
from tests.support.remediation import (
    ROLES,
    ad_env,
    approved_request,
    audit_events,
    certs_of,
    reset_directory_cache,
    sha,
    state,
)
from tests.support.services import Workers, free_port
from tests.support.waiting import wait_until
from workers.approvals_store import ApprovalStore
from workers.config import load_settings
from workers.remediation.execute import ExecutionDeferred, run_execute

# -- end to end ---------------------------------------------------------------------------


def test_reset_approve_execute_verify_and_undo_through_workers(live: dict[str, Any], redis_url: str) -> None:
    from bot.console import ConsoleChat

    dc, dn, original = live["dc"], live["dn"], live["original"]
    workers = Workers(redis_url, ad_env(dc))
    workers.start(1)
    settings = load_settings(redis_url=redis_url, demo=False, roles=ROLES)
    user_out, approver_out, helpdesk_out = (__import__("io").StringIO() for _ in range(3))
    user = ConsoleChat(settings, "ts.user", out=user_out)
    approver = ConsoleChat(settings, "alex.wilber", out=approver_out)
    helpdesk = ConsoleChat(settings, "adele.vance", out=helpdesk_out)
    try:
        # the plan, computed by the worker from live AD
        assert user.say("reset my published certs").reply.kind == "ack"
        text = user_out.getvalue()
        assert "remove 19 value(s), keep 1" in text
        request_id = re.search(r"Request (R-[\w-]+) waits for an approver", text).group(1)  # type: ignore[union-attr]
        request = state(live, request_id)
        kept = {c.sha256 for c in request.plan.keep}
        removed = {c.sha256 for c in request.plan.changes}

        # approved → the worker executes it
        assert approver.say(f"approve {request_id}").reply.kind == "answer"
        wait_until(lambda: state(live, request_id).state in ("done", "failed"), 30, "the reset to finish")
        done = state(live, request_id)
        assert done.state == "done", done.result
        now = certs_of(dc, dn)
        assert {sha(v) for v in now["userCertificate"]} == kept and len(now["userCertificate"]) == 1
        assert not removed & {sha(v) for v in now["userCertificate"]}
        events = audit_events(live, request_id)
        assert [e for e in events if e in ("requested", "approved", "executing", "done")] == [
            "requested",
            "approved",
            "executing",
            "done",
        ]
        assert done.result["checks"]["publish.count_limit"] == "pass"
        assert done.result["after"]["userCertificate"] == sorted(kept)
        backup = json.loads(live["redis"].get(f"smime:backup:{request_id}"))
        assert len(backup["values"]["ad.userCertificate"]) == 20
        wait_until(
            lambda: f"Request {request_id} is now done" in user_out.getvalue(), 10, "the requester to be told"
        )
        wait_until(
            lambda: "Done: removed 19 value(s)" in user_out.getvalue(),
            10,
            "the outcome to reach the requester",
        )
        assert "Exchange Online follows with the next directory sync" in user_out.getvalue()

        # undo: helpdesk asks, an approver approves, all 20 values are back
        assert user.say(f"undo {request_id}").reply.kind == "refusal"  # a plain user may not
        assert helpdesk.say(f"undo {request_id}").reply.kind == "answer"
        undo_id = re.search(r"Request (R-[\w-]+) waits for an approver", helpdesk_out.getvalue()).group(1)  # type: ignore[union-attr]
        assert undo_id != request_id and state(live, undo_id).action == "undo"
        assert approver.say(f"approve {undo_id}").reply.kind == "answer"
        wait_until(lambda: state(live, undo_id).state in ("done", "failed"), 30, "the undo to finish")
        assert state(live, undo_id).state == "done", state(live, undo_id).result
        back = certs_of(dc, dn)
        assert sorted(back["userCertificate"]) == sorted(original["userCertificate"])
        assert helpdesk.say(f"undo {undo_id}").reply.kind == "refusal"  # an undo is not undone again
    finally:
        for c in (user, approver, helpdesk):
            c.close()
        workers.stop()


# -- security and faults --------------------------------------------------------------------


@pytest.mark.parametrize("change", ["added", "removed"])
def test_target_changed_after_the_plan_fails_and_writes_nothing(live: dict[str, Any], change: str) -> None:
    request_id, plan = approved_request(live)
    dc, dn = live["dc"], live["dn"]
    conn = admin_connection(dc)
    try:
        if change == "added":
            op = (ldap3.MODIFY_ADD, [b"0\x03\x02\x01\x07 added after the plan"])
        else:
            op = (ldap3.MODIFY_DELETE, [live["original"]["userCertificate"][0]])
        assert conn.modify(dn, {"userCertificate": [op]}), conn.result
    finally:
        conn.unbind()
    meanwhile = certs_of(dc, dn)
    assert run_execute(request_id) == "failed"
    failed = state(live, request_id)
    assert "changed after the plan was made" in failed.result["message"]["en"]
    assert "Please ask again for a fresh request." in failed.result["message"]["en"]
    assert sorted(certs_of(dc, dn)["userCertificate"]) == sorted(
        meanwhile["userCertificate"]
    )  # nothing written
    assert live["redis"].get(f"smime:backup:{request_id}") is None


def test_approver_who_lost_the_role_before_execution_fails(
    live: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id, _ = approved_request(live)
    # the worker's own configuration no longer lists alex.wilber as an approver
    monkeypatch.setenv("SMIME_DOCTOR_ROLES", json.dumps({"approver": {"users": ["megan.bowen"]}}))
    assert run_execute(request_id) == "failed"
    message = state(live, request_id).result["message"]["en"]
    assert "no longer holds the approver role" in message and "fresh request" in message
    assert len(certs_of(live["dc"], live["dn"])["userCertificate"]) == 20


def test_a_retried_execution_does_not_write_twice(live: dict[str, Any]) -> None:
    request_id, plan = approved_request(live)
    assert run_execute(request_id) == "done"
    after = certs_of(live["dc"], live["dn"])
    assert len(after["userCertificate"]) == 1
    # the same job again (RQ retry, a duplicate enqueue): nothing to do
    assert run_execute(request_id) == "done"
    # a run that wrote and then died before finishing leaves the request in executing: the next run
    # sees the approved after-state, does not write again, and finishes
    store = ApprovalStore(live["redis"])

    def back_to_executing(r: Any) -> Any:
        r.state = "executing"
        return r

    store._cas(request_id, back_to_executing)
    assert run_execute(request_id) == "done"
    assert state(live, request_id).result["already_applied"] is True
    assert certs_of(live["dc"], live["dn"]) == after
    assert audit_events(live, request_id).count("backup_saved") == 1


def test_ad_unreachable_at_execution_puts_the_request_back_to_approved(
    live: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id, _ = approved_request(live)
    monkeypatch.setenv("SMIME_DOCTOR_AD_SERVERS", f"ldaps://127.0.0.1:{free_port()}")  # nothing listens
    reset_directory_cache()
    with pytest.raises(ExecutionDeferred):
        run_execute(request_id)
    waiting = state(live, request_id)
    assert waiting.state == "approved"
    assert "cannot be reached right now" in waiting.result["message"]["en"]
    assert "retried automatically" in waiting.result["message"]["en"]
    assert "retry_later" in audit_events(live, request_id)
    assert len(certs_of(live["dc"], live["dn"])["userCertificate"]) == 20
    # AD is back: the retried job executes it
    monkeypatch.setenv("SMIME_DOCTOR_AD_SERVERS", live["dc"].ldaps_url)
    reset_directory_cache()
    assert run_execute(request_id) == "done"


def test_a_snapshot_installation_refuses_to_execute(
    live: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id, _ = approved_request(live)
    monkeypatch.setenv("SMIME_DOCTOR_DEMO", "true")
    assert run_execute(request_id) == "failed"
    message = state(live, request_id).result["message"]["en"]
    assert "reads an offline snapshot; clean-ups need live AD" in message
    assert "SMIME_DOCTOR_" not in message  # the requester is told no setting names
    assert len(certs_of(live["dc"], live["dn"])["userCertificate"]) == 20
