"""upload_issuing_ca: a tenant-wide Set-SmimeConfig -SMIMECertificateIssuingCA change (the Microsoft 365
emulator, real Redis, a real worker, no AD). The plan adds a CA the directory knows (here the Fabrikam
CA from ext.partner's published PKCS#7 chain) to the current SST; two distinct admins must approve; the
worker re-reads Get-SmimeConfig, compares the SST bytes, backs up, writes, verifies; undo restores the
previous SST. An SST that would hold an expired certificate is refused at plan time (and by the emulator).
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from handlers.approvals import Approvals
from handlers.identity import person_of
from handlers.policy import Policy
from tests.emulators.m365 import RunningEmulator, start_emulator
from tests.integration.test_remediation_exo import m365_env
from tests.support import pki_factory
from tests.support.remediation import reset_directory_cache, state
from tests.support.services import Workers
from tests.support.waiting import wait_until
from workers.answers import PlanAnswer
from workers.certs.encoding import decode_bytes
from workers.certs.sst import read_sst, write_sst
from workers.config import Roles
from workers.errors import SmimeDoctorError
from workers.jobs import answer_or_error
from workers.remediation.execute import run_execute, undo_plan
from workers.sources.live import LiveDirectory

CHRISTIE, ADELE, ALEX = (
    "christie.cline@contoso.example",
    "adele.vance@contoso.example",
    "alex.wilber@contoso.example",
)
ROLES: dict[str, Any] = {"admin": {"users": [CHRISTIE, ADELE, ALEX]}}
FABRIKAM = "Fabrikam Mail CA"


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator() as running:
        yield running


def sst_of(emu: RunningEmulator) -> bytes:
    raw = emu.emulator.tenant.smime_config.get("SMIMECertificateIssuingCA")
    return decode_bytes(raw) if raw else b""


@pytest.fixture
def live(
    emu: RunningEmulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    env = {**m365_env(emu, tmp_path), "SMIME_DOCTOR_ROLES": json.dumps(ROLES)}
    for k, v in {**env, "SMIME_DOCTOR_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(k, v)
    reset_directory_cache()
    saved = copy.deepcopy(emu.emulator.tenant.smime_config)
    directory = LiveDirectory(None, emu.exchange(), emu.graph())
    redis = Redis.from_url(redis_url)
    try:
        yield {
            "emu": emu,
            "env": env,
            "redis": redis,
            "directory": directory,
            "approvals": Approvals(Policy(Roles.model_validate(ROLES)), redis),
        }
    finally:
        directory.close()
        reset_directory_cache()
        emu.emulator.tenant.smime_config.clear()
        emu.emulator.tenant.smime_config.update(saved)


def plan_for(live: dict[str, Any], ca: str) -> PlanAnswer:
    spec = {
        "kind": "plan_action",
        "action": "upload_issuing_ca",
        "subject": ca,
        "asker": CHRISTIE,
        "lang": "en",
    }
    answer = answer_or_error(spec, live["directory"])
    assert isinstance(answer, PlanAnswer), answer
    return answer


def person(live: dict[str, Any], who: str) -> Any:
    return person_of(live["directory"].find(who))


def test_two_admins_approve_adding_a_ca_and_undo_restores_the_sst(
    live: dict[str, Any], redis_url: str
) -> None:
    emu, approvals = live["emu"], live["approvals"]
    old = sst_of(emu)
    assert old and FABRIKAM not in str(old)

    answer = plan_for(live, FABRIKAM)
    plan = answer.plan
    assert plan.target == "(tenant)" and plan.where == "exo-tenant"
    assert [c.reason for c in plan.changes] == ["add issuing CA"]
    ca_sha = plan.changes[0].sha256
    assert "Plan for the tenant: add" in answer.summary and "two admins must approve" in answer.summary
    assert base64.b64decode(plan.before["exo.SMIMECertificateIssuingCA"][0]) == old
    # by sha256 prefix too
    assert plan_for(live, ca_sha[:10]).plan.changes[0].sha256 == ca_sha
    unknown = plan_for(live, "No Such CA")
    assert not unknown.plan.changes and unknown.summary.startswith("Nothing to change: unknown CA No Such CA")

    workers = Workers(redis_url, live["env"])
    workers.start(1)
    try:
        request = approvals.open(plan.action, person(live, CHRISTIE), plan.target, plan, {}, "console")
        assert request.required == 2 and request.approver_role == "admin"
        first = approvals.decide(request.id, person(live, ADELE), True)
        assert first.state == "pending" and "1 more needed" in first.message["en"]
        assert approvals.decide(request.id, person(live, ADELE), True).state == "pending"  # same admin again
        assert state(live, request.id).state == "pending"
        assert approvals.decide(request.id, person(live, ALEX), True).state == "approved"
        wait_until(
            lambda: state(live, request.id).state in ("done", "failed"), 30, "the CA request to finish"
        )
        done = state(live, request.id)
        assert done.state == "done", done.result
        new = read_sst(sst_of(emu))
        assert read_sst(old) + [d for d in new if d not in read_sst(old)] == new
        assert len(new) == len(read_sst(old)) + 1
        backup = json.loads(live["redis"].get(f"smime:backup:{request.id}"))
        assert base64.b64decode(backup["values"]["exo.SMIMECertificateIssuingCA"][0]) == old

        # asking again: nothing to change
        assert not plan_for(live, FABRIKAM).plan.changes

        undo = undo_plan(done)
        undo_request = approvals.open("undo", person(live, CHRISTIE), done.target, undo, {}, "console")
        # undoing a tenant-wide change needs the same two distinct admins as making it
        assert undo_request.required == 2 and undo_request.approver_role == "admin"
        assert approvals.decide(undo_request.id, person(live, ALEX), True).state == "pending"
        assert approvals.decide(undo_request.id, person(live, ADELE), True).state == "approved"
        wait_until(lambda: state(live, undo_request.id).state in ("done", "failed"), 30, "the undo to finish")
        assert state(live, undo_request.id).state == "done", state(live, undo_request.id).result
        assert sst_of(emu) == old
    finally:
        workers.stop()


def test_changed_sst_after_the_plan_writes_nothing(live: dict[str, Any]) -> None:
    emu, approvals = live["emu"], live["approvals"]
    plan = plan_for(live, FABRIKAM).plan
    request = approvals.open(plan.action, person(live, CHRISTIE), plan.target, plan, {}, "console")
    approvals.on_approved = None  # run the execution here
    approvals.decide(request.id, person(live, ADELE), True)
    assert approvals.decide(request.id, person(live, ALEX), True).state == "approved"
    meanwhile = write_sst(read_sst(sst_of(emu))[:1])
    emu.emulator.tenant.smime_config["SMIMECertificateIssuingCA"] = base64.b64encode(meanwhile).decode()
    assert run_execute(request.id) == "failed"
    assert "changed after the plan was made" in state(live, request.id).result["message"]["en"]
    assert sst_of(emu) == meanwhile


def test_an_sst_with_an_expired_certificate_is_refused(live: dict[str, Any]) -> None:
    emu = live["emu"]
    now = datetime.now(UTC)
    expired = pki_factory.make_ca(
        "Old Expired CA", not_before=now - timedelta(days=800), not_after=now - timedelta(days=10)
    )
    with_expired = write_sst([*read_sst(sst_of(emu)), expired.der])
    with pytest.raises(SmimeDoctorError, match="has expired"):
        emu.exchange().set_smime_issuing_ca(with_expired)  # Exchange Online refuses it

    emu.emulator.tenant.smime_config["SMIMECertificateIssuingCA"] = base64.b64encode(with_expired).decode()
    answer = plan_for(live, FABRIKAM)
    assert not answer.plan.changes
    assert "expired certificate Old Expired CA" in answer.summary, answer.summary
    assert "Set-SmimeConfig refuses" in answer.summary
