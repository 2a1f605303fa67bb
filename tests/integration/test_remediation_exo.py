"""Approved clean-ups for cloud-only recipients run in Exchange Online (the Microsoft 365 emulator):
the plan names exo.UserCertificate / exo.UserSMimeCertificate values, an approver approves, a real
worker (pointed at the emulator only — no AD) sets exactly the remaining values with Set-Mailbox,
re-reads them, and undo writes the previous values back. A directory-synced recipient's values are
never written in Exchange Online: its plan is "where": "ad".
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from handlers.approvals import Approvals
from handlers.identity import person_of
from handlers.policy import Policy
from tests.emulators.m365 import RunningEmulator, start_emulator
from tests.support.remediation import (
    audit_events,
    console_chats,
    reset_directory_cache,
    state,
)
from tests.support.waiting import wait_until
from workers.approvals_store import ApprovalStore
from workers.certs.encoding import decode_byte_list
from workers.config import Roles
from workers.plan_types import Plan
from workers.remediation.execute import ExecutionDeferred, run_execute
from workers.remediation.plan import plan_reset
from workers.sources.exchange import ExchangeSource
from workers.sources.live import LiveDirectory

CHRISTIE = "christie.cline@contoso.example"
PROPS = ("UserCertificate", "UserSMimeCertificate")
# without AD there is no sAMAccountName: roles name people by address
ROLES: dict[str, Any] = {
    "helpdesk": {"users": ["adele.vance@contoso.example"]},
    "approver": {"users": ["alex.wilber@contoso.example"]},
}


def sha(v: bytes) -> str:
    return hashlib.sha256(v).hexdigest()


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator() as running:  # this module's own tenant: its tests write to it
        yield running


def m365_env(emu: RunningEmulator, tmp: Path) -> dict[str, str]:
    pem = tmp / "app.pem"
    pem.write_text(emu.app.private_key_pem + emu.app.certificate_pem)
    return {
        "SMIME_DOCTOR_DEMO": "false",
        "SMIME_DOCTOR_AD_SERVERS": "",
        "SMIME_DOCTOR_M365_TENANT": emu.tenant,
        "SMIME_DOCTOR_M365_CLIENT_ID": emu.app.client_id,
        "SMIME_DOCTOR_M365_CERTIFICATE_FILE": str(pem),
        "SMIME_DOCTOR_M365_THUMBPRINT": emu.app.thumbprint,
        "SMIME_DOCTOR_M365_AUTHORITY": emu.authority,
        "SMIME_DOCTOR_M365_EXCHANGE_URL": emu.base_url,
        "SMIME_DOCTOR_M365_GRAPH_URL": emu.base_url,
        "SMIME_DOCTOR_M365_CA_FILE": str(emu.ca_file),
        "SMIME_DOCTOR_ROLES": json.dumps(ROLES),
    }


def record(emu: RunningEmulator, identity: str) -> dict[str, Any]:
    found = emu.emulator.tenant.find_recipients(identity)
    assert len(found) == 1, identity
    return found[0]


def values(emu: RunningEmulator, identity: str) -> dict[str, list[bytes]]:
    r = record(emu, identity)
    return {p: decode_byte_list(r.get(p)) if r.get(p) else [] for p in PROPS}


@pytest.fixture
def live(
    emu: RunningEmulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """This process on the emulator (Exchange Online + Graph, no AD); the tenant's recipients restored after."""
    env = m365_env(emu, tmp_path)
    for k, v in {**env, "SMIME_DOCTOR_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(k, v)
    reset_directory_cache()
    tenant = emu.emulator.tenant
    saved = copy.deepcopy(tenant.recipients)
    try:
        yield {"emu": emu, "env": env, "redis": Redis.from_url(redis_url)}
    finally:
        reset_directory_cache()
        for r, original in zip(tenant.recipients, saved, strict=True):
            r.clear()
            r.update(original)


@pytest.fixture
def chat(live: dict[str, Any], redis_url: str) -> Iterator[dict[str, Any]]:
    """A real worker on the emulator, and console chats for christie, helpdesk and approver."""
    with console_chats(
        redis_url,
        live["env"],
        {"christie": "christie.cline", "helpdesk": "adele.vance", "approver": "alex.wilber"},
        ROLES,
    ) as sessions:
        yield {**sessions, **live}


def ask_and_approve(c: dict[str, Any], who: str, line: str) -> str:
    out = c["outs"][who]
    seen = len(out.getvalue())
    assert c["chats"][who].say(line).reply.kind in ("ack", "answer")
    found = re.findall(
        r"(?:Request|Antrag) (R-[\w-]+) (?:waits for an approver|wartet)", out.getvalue()[seen:]
    )
    assert found, out.getvalue()[seen:]
    request_id = found[-1]
    assert c["chats"]["approver"].say(f"approve {request_id}").reply.kind == "answer", c["outs"][
        "approver"
    ].getvalue()
    wait_until(
        lambda: state(c, request_id).state in ("done", "failed"), 30, f"request {request_id} to finish"
    )
    done = state(c, request_id)
    assert done.state == "done", done.result
    return request_id


def test_cloud_only_reset_runs_in_exchange_online_and_undo_restores(chat: dict[str, Any]) -> None:
    emu = chat["emu"]
    r = record(emu, CHRISTIE)
    own = list(r["UserCertificate"])
    foreign = list(record(emu, "adele.vance")["UserCertificate"])[:1]  # issued for adele, not christie
    r["UserCertificate"] = own + foreign
    before = values(emu, CHRISTIE)
    foreign_sha = sha(decode_byte_list(foreign)[0])

    request_id = ask_and_approve(chat, "christie", "reset my published certs")
    request = state(chat, request_id)
    assert request.plan.where == "exo" and request.plan.dn is None
    assert [(c.attribute, c.sha256, c.reason) for c in request.plan.changes] == [
        ("exo.UserCertificate", foreign_sha, "issued for another address")
    ]
    now = values(emu, CHRISTIE)
    assert [sha(v) for v in now["UserCertificate"]] == [sha(v) for v in decode_byte_list(own)]
    assert request.result["where"] == "exo" and request.result["changed"] == 1
    backup = json.loads(chat["redis"].get(f"smime:backup:{request_id}"))
    assert backup["where"] == "exo" and len(backup["values"]["exo.UserCertificate"]) == 2
    wait_until(
        lambda: (
            "Done: removed 1 value(s) from christie.cline@contoso.example in Exchange Online"
            in chat["outs"]["christie"].getvalue()
        ),
        10,
        "christie to be told the outcome",
    )

    undo_id = ask_and_approve(chat, "helpdesk", f"undo {request_id}")
    assert state(chat, undo_id).action == "undo"
    back = values(emu, CHRISTIE)
    assert sorted(map(sha, back["UserCertificate"])) == sorted(map(sha, before["UserCertificate"]))


def test_helpdesk_clears_usersmimecertificate_of_a_cloud_only_mailbox(chat: dict[str, Any]) -> None:
    emu = chat["emu"]
    r = record(emu, CHRISTIE)
    r["UserSMimeCertificate"] = list(r["UserCertificate"])  # a stale "Outlook publication"
    before = values(emu, CHRISTIE)
    assert before["UserSMimeCertificate"]

    request_id = ask_and_approve(
        chat, "helpdesk", "request clear_smime_attribute for christie.cline@contoso.example"
    )
    assert (
        "cloud-only, Exchange Online): clear UserSMimeCertificate — remove 1 value(s)"
        in chat["outs"]["helpdesk"].getvalue()
    )
    after = values(emu, CHRISTIE)
    assert after["UserSMimeCertificate"] == []
    assert after["UserCertificate"] == before["UserCertificate"]

    ask_and_approve(chat, "helpdesk", f"undo {request_id}")
    assert values(emu, CHRISTIE) == before


def _approved(live: dict[str, Any], who: str) -> tuple[str, Plan]:
    emu = live["emu"]
    directory = LiveDirectory(None, emu.exchange(), emu.graph())
    try:
        user = directory.find(who)
        plan = plan_reset(user, datetime.now(UTC))
        approvals = Approvals(Policy(Roles.model_validate(ROLES)), live["redis"])
        request = approvals.open(plan.action, person_of(user), user.key, plan, {}, "console")
        assert (
            approvals.decide(request.id, person_of(directory.find("alex.wilber")), True).state == "approved"
        )
    finally:
        directory.close()
    return request.id, plan


def _approved_foreign_value(live: dict[str, Any]) -> tuple[str, list[Any]]:
    """christie.cline with one of adele's certificates added in Exchange Online, and the approved
    reset that removes it; christie's own values as the export had them."""
    emu = live["emu"]
    r = record(emu, CHRISTIE)
    own = list(r["UserCertificate"])
    r["UserCertificate"] = own + list(record(emu, "adele.vance")["UserCertificate"])[:1]
    request_id, plan = _approved(live, CHRISTIE)
    assert plan.where == "exo" and len(plan.changes) == 1
    return request_id, own


def test_changed_in_exchange_online_after_the_plan_writes_nothing(live: dict[str, Any]) -> None:
    emu = live["emu"]
    request_id, _ = _approved_foreign_value(live)
    r = record(emu, CHRISTIE)
    r["UserCertificate"] = list(r["UserCertificate"])[:1]  # someone removed a value meanwhile
    meanwhile = values(emu, CHRISTIE)
    assert run_execute(request_id) == "failed"
    assert (
        "in Exchange Online changed after the plan was made"
        in state(live, request_id).result["message"]["en"]
    )
    assert values(emu, CHRISTIE) == meanwhile
    assert live["redis"].get(f"smime:backup:{request_id}") is None


def test_a_synced_recipient_is_never_written_in_exchange_online(
    live: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = live["emu"]
    adele = record(emu, "adele.vance")
    assert adele["IsDirSynced"] in (True, "True", "true")
    adele["UserCertificate"] = list(adele["UserCertificate"]) + list(record(emu, CHRISTIE)["UserCertificate"])
    before = values(emu, "adele.vance")
    request_id, plan = _approved(live, "adele.vance@contoso.example")
    assert plan.where == "ad" and plan.changes

    cmdlets: list[str] = []
    real = ExchangeSource.iter_cmdlet

    def spy(self: ExchangeSource, cmdlet: str, *a: Any, **k: Any) -> Any:
        cmdlets.append(cmdlet)
        return real(self, cmdlet, *a, **k)

    monkeypatch.setattr(ExchangeSource, "iter_cmdlet", spy)
    assert run_execute(request_id) == "failed"
    assert "clean-ups need live AD" in state(live, request_id).result["message"]["en"]
    assert not [c for c in cmdlets if c.startswith("Set-")]
    assert values(emu, "adele.vance") == before
    assert ApprovalStore(live["redis"]).get(request_id).state == "failed"  # type: ignore[union-attr]


def test_exchange_online_down_at_execution_puts_the_request_back_to_approved(live: dict[str, Any]) -> None:
    """An approved cloud-only clean-up during an Exchange Online outage: nothing is written, the
    request waits in approved with a sentence for the requester, and the retried job does it."""
    emu = live["emu"]
    request_id, _ = _approved_foreign_value(live)
    before = values(emu, CHRISTIE)
    # Every Exchange Online call answers 503 (Retry-After: 0, so the client's own retries are
    # quick) until the outage is over; tokens and Graph still work.
    emu.emulator.fail_next("exo", 503, {"error": {"code": "ServiceUnavailable"}}, count=10_000,
                           headers={"Retry-After": "0"})  # fmt: skip
    try:
        with pytest.raises(ExecutionDeferred):
            run_execute(request_id)
        waiting = state(live, request_id)
        assert waiting.state == "approved"
        assert "Exchange Online cannot be reached right now" in waiting.result["message"]["en"]
        assert "retried automatically" in waiting.result["message"]["en"]
        assert "retry_later" in audit_events(live, request_id)
        assert values(emu, CHRISTIE) == before
        assert live["redis"].get(f"smime:backup:{request_id}") is None  # nothing was about to be written
    finally:
        emu.emulator.reset()
    # Exchange Online is back: the job RQ retries executes the request exactly as planned
    reset_directory_cache()
    assert run_execute(request_id) == "done"
    after = values(emu, CHRISTIE)["UserCertificate"]
    assert [sha(v) for v in after] == [sha(v) for v in before["UserCertificate"][:-1]]


def test_a_cloud_only_mail_user_is_cleaned_up_with_set_mailuser(live: dict[str, Any]) -> None:
    """Mail users have no mailbox: Set-Mailbox cannot find them, Set-MailUser writes them."""
    emu = live["emu"]
    r = record(emu, CHRISTIE)
    r["RecipientTypeDetails"] = r["RecipientType"] = "MailUser"
    request_id, own = _approved_foreign_value(live)
    emu.emulator.calls.clear()
    assert run_execute(request_id) == "done", state(live, request_id).result
    assert [sha(v) for v in values(emu, CHRISTIE)["UserCertificate"]] == [
        sha(v) for v in decode_byte_list(own)
    ]
    writes = [what for service, what in emu.emulator.calls if service == "exo:ok" and "Set-" in what]
    assert writes and all("Set-MailUser" in w for w in writes), writes
