"""Approved clean-ups run against a real Samba AD DC: exactly the approved values change, once,
only while the approvers and the directory are still as approved — and undo puts everything back.

Real Redis, real `smime-doctor worker` processes pointed at the DC, and the bot (console
transport) on the same live directory. The module runs on a DC of its own (writes stamp
whenChanged, which other files compare with the snapshot), and every test puts ts.user's
certificates back as the demo tenant has them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ldap3
import pytest
from redis import Redis

from handlers.approvals import Approvals
from handlers.identity import person_of
from handlers.policy import Policy
from tests.chat import conftest as chat_fixtures
from tests.chat.conftest import Workers, free_port
from tests.integration.conftest import start_demo_dc
from tests.samba import dc as samba
from tests.samba.helpers import admin_connection, settings_for
from workers import jobs
from workers.approvals_store import ApprovalStore
from workers.config import Roles, load_settings
from workers.remediation.execute import ExecutionDeferred, run_execute
from workers.remediation.plan import plan_reset
from workers.sources.ad import AdSource
from workers.sources.live import LiveDirectory

ROLES: dict[str, Any] = {
    "helpdesk": {"users": ["adele.vance@contoso.example"]},
    "approver": {"users": ["alex.wilber"]},
}
CERTS = ("userCertificate", "userSMIMECertificate")
redis_server = chat_fixtures.redis_server  # a private redis-server (tests/chat/conftest.py)
redis_url = chat_fixtures.redis_url


def sha(v: bytes) -> str:
    return hashlib.sha256(v).hexdigest()


@contextlib.contextmanager
def console_chats(
    redis_url: str, env: dict[str, str], people: dict[str, str], roles: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """One real RQ worker with ``env``, and a console chat per name -> directory user with
    ``roles`` configured; ``chats`` and their ``outs`` (what each was told)."""
    from bot.console import ConsoleChat

    workers = Workers(redis_url, env)
    workers.start(1)
    settings = load_settings(redis_url=redis_url, demo=False, roles=roles)
    outs = {name: io.StringIO() for name in people}
    chats = {name: ConsoleChat(settings, user, out=outs[name]) for name, user in people.items()}
    try:
        yield {"chats": chats, "outs": outs}
    finally:
        for c in chats.values():
            c.close()
        workers.stop()


def ad_env(dc: samba.DomainController, servers: str | None = None) -> dict[str, str]:
    s = settings_for(dc)
    return {
        "SMIME_DOCTOR_DEMO": "false",
        "SMIME_DOCTOR_AD_SERVERS": servers or dc.ldaps_url,
        "SMIME_DOCTOR_AD_USER": str(s.user),
        "SMIME_DOCTOR_AD_PASSWORD": str(s.password),
        "SMIME_DOCTOR_AD_CA_FILE": str(s.ca_file),
        "SMIME_DOCTOR_AD_CONNECT_TIMEOUT": "2",
        "SMIME_DOCTOR_ROLES": json.dumps(ROLES),
    }


def certs_of(dc: samba.DomainController, dn: str) -> dict[str, list[bytes]]:
    with AdSource(settings_for(dc)) as ad:
        _, attrs = ad.read(dn, list(CERTS))
    return {a: list(attrs.get(a.lower(), [])) for a in CERTS}


def _reset_directory_cache() -> None:
    for cached in (jobs._directory(None, False),) if jobs._directory.cache_info().currsize else ():
        if isinstance(cached, LiveDirectory):
            cached.close()
    jobs._directory.cache_clear()


@pytest.fixture(scope="module")
def own_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.DomainController]:
    """A DC of this module's own, loaded with the demo tenant. Any write stamps whenChanged (which
    the sync checks read and other files compare with the snapshot), so the session DC is never
    written; ts.user's certificates are still restored after every test here."""
    dc = start_demo_dc(tmp_path_factory.mktemp("remediation-dc"))
    try:
        yield dc
    finally:
        dc.stop()


@pytest.fixture
def live(
    own_dc: samba.DomainController, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """This process (bot side, and run_execute called directly) on the live DC; ts.user restored after."""
    samba_dc = own_dc
    for k, v in {**ad_env(samba_dc), "SMIME_DOCTOR_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(k, v)
    _reset_directory_cache()
    with AdSource(settings_for(samba_dc)) as ad:
        dn = ad.find_user("ts.user")[0]
    original = certs_of(samba_dc, dn)
    assert len(original["userCertificate"]) == 20
    try:
        yield {"dc": samba_dc, "dn": dn, "original": original, "redis": Redis.from_url(redis_url)}
    finally:
        _reset_directory_cache()
        restore(samba_dc, dn, original)


def restore(dc: samba.DomainController, dn: str, original: dict[str, list[bytes]]) -> None:
    """Put ts.user's certificate attributes back exactly as the demo tenant has them."""
    current = certs_of(dc, dn)
    changes: dict[str, list[tuple[str, list[bytes]]]] = {}
    for attr in CERTS:
        extra = [v for v in current[attr] if v not in original[attr]]
        missing = [v for v in original[attr] if v not in current[attr]]
        ops = ([(ldap3.MODIFY_DELETE, extra)] if extra else []) + (
            [(ldap3.MODIFY_ADD, missing)] if missing else []
        )
        if ops:
            changes[attr] = ops
    if changes:
        conn = admin_connection(dc)
        try:
            assert conn.modify(dn, changes), conn.result
        finally:
            conn.unbind()
    assert certs_of(dc, dn) == {a: sorted(original[a]) for a in CERTS} or all(
        sorted(certs_of(dc, dn)[a]) == sorted(original[a]) for a in CERTS
    )


def approved_request(live: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A reset request for ts.user planned on the live DC and approved by alex.wilber (no chat)."""
    directory = LiveDirectory(AdSource(settings_for(live["dc"])))
    try:
        user = directory.find("ts.user")
        plan = plan_reset(user, datetime.now(UTC))
        approvals = Approvals(Policy(Roles.model_validate(ROLES)), live["redis"])
        request = approvals.open(plan["action"], person_of(user), user.key, plan, {}, "console")
        outcome = approvals.decide(request.id, person_of(directory.find("alex.wilber")), True)
        assert outcome.state == "approved"
    finally:
        directory.close()
    return request.id, plan


def state(live: dict[str, Any], request_id: str) -> Any:
    return ApprovalStore(live["redis"]).get(request_id)


def audit_events(live: dict[str, Any], request_id: str) -> list[str]:
    entries = [json.loads(e[1][b"e"]) for e in live["redis"].xrange("smime:audit")]
    return [e["event"] for e in entries if e["request"] == request_id]


def wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


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
        assert user.say("reset my published certs") == "ack"
        text = user_out.getvalue()
        assert "remove 19 value(s), keep 1" in text
        request_id = re.search(r"Request (R-[\w-]+) waits for an approver", text).group(1)  # type: ignore[union-attr]
        request = state(live, request_id)
        kept = {c["sha256"] for c in request.plan["keep"]}
        removed = {c["sha256"] for c in request.plan["changes"]}

        # approved → the worker executes it
        assert approver.say(f"approve {request_id}") == "answer"
        wait_for(lambda: state(live, request_id).state in ("done", "failed"))
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
        wait_for(lambda: f"Request {request_id} is now done" in user_out.getvalue(), 10)
        wait_for(lambda: "Done: removed 19 value(s)" in user_out.getvalue(), 10)
        assert "Exchange Online follows with the next directory sync" in user_out.getvalue()

        # undo: helpdesk asks, an approver approves, all 20 values are back
        assert user.say(f"undo {request_id}") == "refusal"  # a plain user may not
        assert helpdesk.say(f"undo {request_id}") == "answer"
        undo_id = re.search(r"Request (R-[\w-]+) waits for an approver", helpdesk_out.getvalue()).group(1)  # type: ignore[union-attr]
        assert undo_id != request_id and state(live, undo_id).action == "undo"
        assert approver.say(f"approve {undo_id}") == "answer"
        wait_for(lambda: state(live, undo_id).state in ("done", "failed"))
        assert state(live, undo_id).state == "done", state(live, undo_id).result
        back = certs_of(dc, dn)
        assert sorted(back["userCertificate"]) == sorted(original["userCertificate"])
        assert helpdesk.say(f"undo {undo_id}") == "refusal"  # an undo is not undone again
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
    _reset_directory_cache()
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
    _reset_directory_cache()
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
