"""The requestable single-purpose remediations, end to end against a real Samba AD DC:
"request set_mail_nickname | lowercase_addresses | clear_smime_attribute for <user>" (helpdesk)
→ a worker plans it from live AD → the approval request opens → an approver approves → a real
worker executes it exactly as planned → re-diagnosis → undo puts the exact previous values back.

The module runs on a DC of its own (writes stamp whenChanged, which other modules compare with
the snapshot); every test puts the touched users back as the demo tenant has them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ldap3
import pytest
from redis import Redis

from handlers.approvals import Approvals
from handlers.identity import person_of
from handlers.policy import Policy
from tests.samba import dc as samba
from tests.samba.helpers import admin_connection, settings_for
from tests.support.remediation import (
    ROLES,
    ad_env,
    console_chats,
    reset_directory_cache,
    state,
)
from tests.support.services import start_demo_dc
from tests.support.waiting import wait_until
from workers.config import Roles
from workers.remediation.execute import run_execute
from workers.remediation.plan import plan_action
from workers.sources.ad import AdSource
from workers.sources.live import LiveDirectory

USERS = ("no.nickname", "mixed.case", "stale.smime")
ATTRS = ("mailNickname", "mail", "proxyAddresses", "userCertificate", "userSMIMECertificate")


def read(dc: samba.DomainController, dn: str) -> dict[str, list[bytes]]:
    with AdSource(settings_for(dc)) as ad:
        _, found = ad.read(dn, list(ATTRS))
    return {a: sorted(found.get(a.lower(), [])) for a in ATTRS}


def text(values: list[bytes]) -> list[str]:
    return sorted(v.decode() for v in values)


@pytest.fixture(scope="module")
def own_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.DomainController]:
    dc = start_demo_dc(tmp_path_factory.mktemp("remediation-actions-dc"))
    try:
        yield dc
    finally:
        dc.stop()


@pytest.fixture
def live(
    own_dc: samba.DomainController, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """This process on the live DC; no.nickname, mixed.case and stale.smime restored after each test."""
    for k, v in {**ad_env(own_dc), "SMIME_DOCTOR_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(k, v)
    reset_directory_cache()
    with AdSource(settings_for(own_dc)) as ad:
        dns = {u: ad.find_user(u)[0] for u in USERS}
    original = {u: read(own_dc, dn) for u, dn in dns.items()}
    try:
        yield {"dc": own_dc, "dn": dns, "original": original, "redis": Redis.from_url(redis_url)}
    finally:
        reset_directory_cache()
        conn = admin_connection(own_dc)
        try:
            for u, dn in dns.items():
                if read(own_dc, dn) != original[u]:
                    changes = {a: [(ldap3.MODIFY_REPLACE, list(original[u][a]))] for a in ATTRS}
                    assert conn.modify(dn, changes), conn.result
        finally:
            conn.unbind()
        for u, dn in dns.items():
            assert read(own_dc, dn) == original[u]


@pytest.fixture
def chat(live: dict[str, Any], redis_url: str) -> Iterator[dict[str, Any]]:
    """A real worker on the DC, and console chats for helpdesk, approver and a plain user."""
    with console_chats(
        redis_url,
        ad_env(live["dc"]),
        {"helpdesk": "adele.vance", "approver": "alex.wilber", "user": "ts.user"},
        ROLES,
    ) as sessions:
        yield {**sessions, **live}


def request_and_approve(c: dict[str, Any], line: str) -> str:
    """The helpdesk asks, the approver approves; returns the request id once it is done."""
    helpdesk, approver, out = c["chats"]["helpdesk"], c["chats"]["approver"], c["outs"]["helpdesk"]
    seen = len(out.getvalue())
    assert helpdesk.say(line).reply.kind in ("ack", "answer")
    found = re.findall(
        r"(?:Request|Antrag) (R-[\w-]+) (?:waits for an approver|wartet)", out.getvalue()[seen:]
    )
    assert found, out.getvalue()[seen:]
    request_id = found[-1]
    assert approver.say(f"approve {request_id}").reply.kind == "answer"
    wait_until(
        lambda: state(c, request_id).state in ("done", "failed"), 30, f"request {request_id} to finish"
    )
    done = state(c, request_id)
    assert done.state == "done", done.result
    return request_id


def test_set_mail_nickname_request_approve_execute_rediagnose_undo(chat: dict[str, Any]) -> None:
    dc, dn = chat["dc"], chat["dn"]["no.nickname"]
    assert read(dc, dn)["mailNickname"] == []
    request_id = request_and_approve(chat, "request set_mail_nickname for no.nickname")
    request = state(chat, request_id)
    assert request.action == "set_mail_nickname"
    assert request.plan.before == {"ad.mailNickname": ()}
    assert "set mailNickname to 'no.nickname' (now empty)" in chat["outs"]["helpdesk"].getvalue()
    assert text(read(dc, dn)["mailNickname"]) == ["no.nickname"]
    assert request.result["checks"]["sync.mailnickname"] == "pass"
    assert chat["redis"].get(f"smime:backup:{request_id}") is not None

    # asked again: nothing to change, no request opened
    out = chat["outs"]["helpdesk"]
    seen = len(out.getvalue())
    assert chat["chats"]["helpdesk"].say("request set_mail_nickname for no.nickname").reply.kind == "ack"
    assert (
        "Nothing to change for no.nickname@contoso.example: mailNickname is already set"
        in out.getvalue()[seen:]
    )
    assert "waits for an approver" not in out.getvalue()[seen:]

    # undo restores the empty value
    undo_id = request_and_approve(chat, f"undo {request_id}")
    assert state(chat, undo_id).action == "undo"
    assert read(dc, dn)["mailNickname"] == []
    assert state(chat, undo_id).result["checks"]["sync.mailnickname"] == "fail"


def test_lowercase_addresses_keeps_prefixes_and_undo_restores_exact_values(chat: dict[str, Any]) -> None:
    dc, dn = chat["dc"], chat["dn"]["mixed.case"]
    before = read(dc, dn)
    assert text(before["mail"]) == ["Mixed.Case@contoso.example"]
    request_id = request_and_approve(chat, "beantrage lowercase_addresses für mixed.case@contoso.example")
    after = read(dc, dn)
    assert text(after["mail"]) == ["mixed.case@contoso.example"]
    proxies = text(after["proxyAddresses"])
    assert proxies == sorted(
        p[:5] + p[5:].lower() if p.lower().startswith("smtp:") else p for p in text(before["proxyAddresses"])
    )
    assert "SMTP:mixed.case@contoso.example" in proxies  # the primary's prefix stays upper-case
    assert any(p.startswith("smtp:") for p in proxies)
    assert state(chat, request_id).result["checks"]["addr.lowercase"] == "pass"

    request_and_approve(chat, f"undo {request_id}")
    back = read(dc, dn)
    assert text(back["mail"]) == text(before["mail"])
    assert text(back["proxyAddresses"]) == text(before["proxyAddresses"])  # exact, case included


def test_clear_smime_attribute_uses_usercertificate_then_undo_restores(chat: dict[str, Any]) -> None:
    dc, dn = chat["dc"], chat["dn"]["stale.smime"]
    before = read(dc, dn)
    assert len(before["userSMIMECertificate"]) == 1
    request_id = request_and_approve(chat, "request clear_smime_attribute for stale.smime")
    request = state(chat, request_id)
    assert [c.reason for c in request.plan.changes] == ["stale Outlook publication"]
    after = read(dc, dn)
    assert after["userSMIMECertificate"] == []
    assert after["userCertificate"] == before["userCertificate"]
    assert request.result["checks"]["publish.smime_precedence"] == "pass"

    request_and_approve(chat, f"undo {request_id}")
    assert read(dc, dn)["userSMIMECertificate"] == before["userSMIMECertificate"]


def test_a_plain_user_may_not_request_a_remediation(chat: dict[str, Any]) -> None:
    user, out = chat["chats"]["user"], chat["outs"]["user"]
    assert user.say("request set_mail_nickname for no.nickname").reply.kind == "refusal"
    assert "Only helpdesk staff may request a remediation" in out.getvalue()
    assert user.say("beantrage clear_smime_attribute für stale.smime").reply.kind == "refusal"
    assert "Nur das Helpdesk darf eine Korrektur" in out.getvalue()
    assert not ApprovalsOf(chat).pending()
    assert read(chat["dc"], chat["dn"]["no.nickname"])["mailNickname"] == []


def ApprovalsOf(live: dict[str, Any]) -> Approvals:  # noqa: N802
    return Approvals(Policy(Roles.model_validate(ROLES)), live["redis"])


def test_target_changed_between_plan_and_execution_fails_and_writes_nothing(live: dict[str, Any]) -> None:
    dc, dn = live["dc"], live["dn"]["no.nickname"]
    directory = LiveDirectory(AdSource(settings_for(dc)))
    try:
        user = directory.find("no.nickname")
        plan = plan_action("set_mail_nickname", user, datetime.now(UTC))
        approvals = ApprovalsOf(live)
        helpdesk = person_of(directory.find("adele.vance"))
        request = approvals.open(plan.action, helpdesk, user.key, plan, {}, "console")
        assert (
            approvals.decide(request.id, person_of(directory.find("alex.wilber")), True).state == "approved"
        )
    finally:
        directory.close()
    conn = admin_connection(dc)
    try:
        assert conn.modify(dn, {"mailNickname": [(ldap3.MODIFY_REPLACE, ["someone.else"])]}), conn.result
    finally:
        conn.unbind()
    assert run_execute(request.id) == "failed"
    failed = state(live, request.id)
    assert "changed after the plan was made" in failed.result["message"]["en"]
    assert text(read(dc, dn)["mailNickname"]) == ["someone.else"]  # nothing written
    assert live["redis"].get(f"smime:backup:{request.id}") is None
