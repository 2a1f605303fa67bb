"""Four-eyes across platforms, against a real Samba AD DC and the Microsoft 365 emulator together
(the live sources a hybrid installation runs): one person is one person whether they arrive by
Slack (verified e-mail), Teams (Entra object id), the console (a name) or as a plan's asker;
roles come only from exactly the configured security group; and the worker re-checks all of it
right before writing, so a request recorded by a faulty or older bot still cannot pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis

from handlers.approvals import Approvals
from handlers.identity import IdentityResolver
from handlers.policy import Policy
from tests.emulators.m365 import RunningEmulator, start_emulator
from tests.integration.test_remediation_exo import m365_env
from tests.samba import dc as samba
from tests.samba.helpers import admin_connection
from tests.support.remediation import ad_env, certs_of, reset_directory_cache
from tests.support.services import start_demo_dc
from workers.answers import PlanAnswer
from workers.approvals_store import ApprovalRequest, ApprovalStore
from workers.audit import AuditTrail
from workers.config import Roles
from workers.jobs import answer_or_error
from workers.plan_types import Plan
from workers.remediation.execute import run_execute
from workers.remediation.plan import plan_reset
from workers.roles import RoleBook
from workers.sources.live import LiveDirectory, live_from_env

ROOT = Path(__file__).resolve().parents[2]
BASE = "OU=Contoso,DC=contoso,DC=example"
GROUPS = f"OU=Groups,{BASE}"
ENTRA_ID = {  # the demo tenant's Entra object ids (what Teams sends as the AAD object id)
    "ts.user": "ed0d0459-1e8b-51db-b966-a16e81160b29",
    "alex.wilber": "402e4e30-ab5a-524c-80a2-0ceb6fac128c",
    "diego.siciliani": "aab0a45b-fbc2-5d01-881f-85d42077c5df",
    "christie.cline": "3f5824d6-fb9a-52a3-976f-15d36b8a161a",  # cloud-only
}
ROLES: dict[str, Any] = {
    "helpdesk": {"users": ["adele.vance"]},
    "approver": {"users": ["ts.user", "alex.wilber"]},
    "admin": {"users": ["diego.siciliani", "megan.bowen"]},
}


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.DomainController]:
    """A DC of this module's own: a failed defence would write to it."""
    own = start_demo_dc(tmp_path_factory.mktemp("four-eyes-dc"))
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator() as running:
        yield running


@pytest.fixture
def env(
    dc: samba.DomainController,
    emu: RunningEmulator,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """AD and Exchange Online + Graph at once, as a hybrid installation configures them."""
    values = {
        **m365_env(emu, tmp_path),
        **ad_env(dc),
        "SMIME_DOCTOR_ROLES": json.dumps(ROLES),
        "SMIME_DOCTOR_REDIS_URL": redis_url,
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    reset_directory_cache()
    yield values
    reset_directory_cache()


@pytest.fixture
def directory(env: dict[str, str]) -> Iterator[LiveDirectory]:
    live = live_from_env()
    assert live is not None and live.ad is not None and live.graph is not None
    try:
        yield live
    finally:
        live.close()


def resolver(directory: LiveDirectory) -> IdentityResolver:
    """The bot's resolver with each transport's lookup, as bot/slack, bot/teams and bot/app register them."""
    identity = IdentityResolver(directory)
    identity.register("directory", lambda key: key)
    identity.register("slack", lambda uid: uid.removeprefix("U-"))  # users.info → verified e-mail
    identity.register("teams", lambda aad: aad)  # the AAD object id
    return identity


def paths(who: str) -> list[tuple[str, str]]:
    """Every way `who` reaches the bot: console name, Slack e-mail, Teams object id, plan asker key."""
    return [
        ("console", who),
        ("slack", f"U-{who}@contoso.example"),
        ("teams", ENTRA_ID[who]),
        ("directory", who),
    ]


# -- one person, one id ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ts.user", "alex.wilber"])
def test_a_synced_person_has_one_canonical_id_and_the_same_roles_on_every_path(
    directory: LiveDirectory, who: str
) -> None:
    identity, policy = resolver(directory), Policy(Roles.model_validate(ROLES), directory)
    people = [identity.resolve(platform, uid) for platform, uid in paths(who)]
    guid = directory.ad.find_user(who)[1]["objectguid"][0]  # type: ignore[union-attr]
    from workers.sources.parsing import guid_from_bytes

    expected = f"ad:{guid_from_bytes(guid)[0]}"  # type: ignore[index]
    assert {p.id for p in people} == {expected}
    assert len({frozenset(policy.roles_of(p)) for p in people}) == 1
    assert "approver" in policy.roles_of(people[2])  # the Teams path too


def test_a_cloud_only_person_is_known_by_the_entra_object_id(directory: LiveDirectory) -> None:
    identity = resolver(directory)
    by_teams = identity.resolve("teams", ENTRA_ID["christie.cline"])
    by_mail = identity.resolve("slack", "U-christie.cline@contoso.example")
    assert by_teams.id == by_mail.id == f"entra:{ENTRA_ID['christie.cline']}"


def test_an_approver_cannot_approve_their_own_reset_from_teams(
    directory: LiveDirectory, redis_url: str
) -> None:
    """ts.user holds the approver role, asks for a reset (the plan's asker comes back as the AD key)
    and clicks Approve in Teams (the Entra object id): the same person, refused."""
    identity = resolver(directory)
    approvals = Approvals(Policy(Roles.model_validate(ROLES), directory), Redis.from_url(redis_url))
    user = directory.find("ts.user")
    plan = plan_reset(user, datetime.now(UTC))
    request = approvals.open(
        plan.action, identity.resolve("directory", "ts.user"), user.key, plan, {}, "teams"
    )
    for platform, uid in paths("ts.user"):
        outcome = approvals.decide(request.id, identity.resolve(platform, uid), True)
        assert not outcome.ok and "your own request" in outcome.message["en"], (platform, outcome)
    assert approvals.get(request.id).state == "pending"  # type: ignore[union-attr]
    ok = approvals.decide(request.id, identity.resolve("teams", ENTRA_ID["alex.wilber"]), True)
    assert ok.state == "approved"
    decision = ok.request.decisions[0]  # type: ignore[union-attr]
    assert decision["person"] == identity.resolve("slack", "U-alex.wilber@contoso.example").id
    assert (decision["platform"], decision["platform_user"]) == ("teams", ENTRA_ID["alex.wilber"])
    entry = AuditTrail().record("approved", ok.request)  # what the trail keeps of who acted
    assert entry["requester_id"] == identity.resolve("teams", ENTRA_ID["ts.user"]).id
    assert entry["deciders"] == [
        {
            "person": decision["person"],
            "platform": "teams",
            "platform_user": ENTRA_ID["alex.wilber"],
            "approve": True,
        }
    ]


def ca_plan(directory: LiveDirectory) -> Plan:
    """A worker's plan to add the Fabrikam CA to the tenant (two admins must approve it)."""
    spec = {"kind": "plan_action", "action": "upload_issuing_ca", "subject": "Fabrikam Mail CA"}
    answer = answer_or_error({**spec, "asker": "ts.user", "lang": "en"}, directory)
    assert isinstance(answer, PlanAnswer) and answer.plan.changes, answer
    return answer.plan


def test_one_admin_on_two_platforms_is_one_approval(directory: LiveDirectory, redis_url: str) -> None:
    identity = resolver(directory)
    approvals = Approvals(Policy(Roles.model_validate(ROLES), directory), Redis.from_url(redis_url))
    plan = ca_plan(directory)
    request = approvals.open(
        plan.action, identity.resolve("directory", "ts.user"), plan.target, plan, {}, "slack"
    )
    first = approvals.decide(request.id, identity.resolve("slack", "U-diego.siciliani@contoso.example"), True)
    assert first.state == "pending"
    again = approvals.decide(request.id, identity.resolve("teams", ENTRA_ID["diego.siciliani"]), True)
    assert not again.ok and "already approved" in again.message["en"]
    assert approvals.get(request.id).state == "pending"  # type: ignore[union-attr]


# -- the worker's own check, for records a bot should never have written ------------------------


def forged(redis: Redis, plan: Plan, action: str, requester: str, actors: list[str]) -> str:
    """An approved request as an older bot (comparing lookup keys) recorded it: no canonical ids."""
    now = time.time()
    request = ApprovalRequest(
        id=f"R-forged{int(now * 1000)}",
        action=action,
        requester=requester,
        target=plan.target,
        plan=plan,
        notify={},
        platform="teams",
        created=now,
        expires=now + 3600,
        state="approved",
        decisions=[{"actor": a, "display": a, "approve": True, "at": now} for a in actors],
    )
    redis.set(f"smime:approval:{request.id}", json.dumps(request.to_json()))
    return request.id


def test_the_worker_refuses_a_self_approval_it_is_handed_and_writes_nothing(
    directory: LiveDirectory, dc: samba.DomainController, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    user = directory.find("ts.user")
    before = certs_of(dc, user.ad.dn)  # type: ignore[union-attr]
    plan = plan_reset(user, datetime.now(UTC))
    # requester by AD key, approver = the same person by the key the Teams path used to give
    request_id = forged(redis, plan, plan.action, "ts.user", ["ts.user@contoso.example"])
    assert run_execute(request_id) == "failed"
    final = ApprovalStore(redis).get(request_id)
    assert final is not None and "cannot also approve it" in final.result["message"]["en"]  # type: ignore[index]
    assert certs_of(dc, user.ad.dn) == before  # type: ignore[union-attr]
    events = [json.loads(e[1][b"e"]) for e in redis.xrange("smime:audit")]
    assert any(e["request"] == request_id and e["event"] == "failed" for e in events)


def test_the_worker_counts_one_admin_once_and_set_smimeconfig_never_runs(
    directory: LiveDirectory, emu: RunningEmulator, redis_url: str
) -> None:
    redis = Redis.from_url(redis_url)
    plan = ca_plan(directory)
    sst = emu.emulator.tenant.smime_config.get("SMIMECertificateIssuingCA")
    request_id = forged(
        redis, plan, "upload_issuing_ca", "ts.user", ["diego.siciliani", "diego.siciliani@contoso.example"]
    )
    assert run_execute(request_id) == "failed"
    final = ApprovalStore(redis).get(request_id)
    assert "approved more than once" in final.result["message"]["en"]  # type: ignore[union-attr,index]
    assert emu.emulator.tenant.smime_config.get("SMIMECertificateIssuingCA") == sst


# -- roles by exact security group ---------------------------------------------------------------


@pytest.fixture
def groups(dc: samba.DomainController) -> Iterator[dict[str, str]]:
    """A security group "PKI Approvers" (alex through a nested group) and, in another OU, a
    distribution group of the same name holding ts.user."""
    conn = admin_connection(dc)
    sales = f"OU=Delegated Sales,{BASE}"
    names = {
        "real": f"CN=PKI Approvers,{GROUPS}",
        "nested": f"CN=PKI Tier 2,{GROUPS}",
        "fake": f"CN=PKI Approvers,{sales}",
    }
    alex = f"CN=Alex Wilber,OU=Users,{BASE}"
    ts_user = conn.search(BASE, "(sAMAccountName=ts.user)", attributes=["1.1"]) and conn.response[0]["dn"]
    assert conn.add(sales, "organizationalUnit"), conn.result
    assert conn.add(names["nested"], "group", {"member": [alex]}), conn.result
    assert conn.add(names["real"], "group", {"member": [names["nested"]]}), conn.result
    # groupType 8: universal *distribution* group (no security bit)
    assert conn.add(names["fake"], "group", {"groupType": 8, "member": [ts_user]}), conn.result
    try:
        yield names
    finally:
        for dn in (names["fake"], names["real"], names["nested"], sales):
            conn.delete(dn)
        conn.unbind()


def group_roles(cn_or_dn: str) -> Roles:
    return Roles.model_validate({"approver": {"groups": [cn_or_dn]}})


def test_a_distribution_group_with_the_approver_groups_name_grants_nothing(
    directory: LiveDirectory, groups: dict[str, str]
) -> None:
    identity = resolver(directory)
    policy = Policy(group_roles("PKI Approvers"), directory)
    policy.book.validate()  # exactly one *security* group has that CN
    assert "approver" not in policy.roles_of(identity.resolve("teams", ENTRA_ID["ts.user"]))
    for platform, uid in paths("alex.wilber"):  # nested membership, on every path
        assert "approver" in policy.roles_of(identity.resolve(platform, uid)), platform
    by_dn = Policy(group_roles(groups["fake"]), directory)
    assert [p for p in by_dn.book.check() if "distribution group" in p]


def test_a_cn_two_security_groups_share_is_refused_by_check_config_and_at_start(
    dc: samba.DomainController, env: dict[str, str], groups: dict[str, str], directory: LiveDirectory
) -> None:
    conn = admin_connection(dc)
    twin = f"CN=PKI Approvers,OU=Users,{BASE}"
    assert conn.add(twin, "group"), conn.result
    try:
        problems = RoleBook(group_roles("PKI Approvers"), directory).check()
        assert problems and "2 security groups are named 'PKI Approvers'" in problems[0]
        cli_env = {**env, "SMIME_DOCTOR_ROLES": json.dumps({"approver": {"groups": ["PKI Approvers"]}})}
        check = subprocess.run(
            [sys.executable, "-m", "bot.cli", "check-config"],
            cwd=ROOT,
            env={**_os_env(), **cli_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode != 0 and "2 security groups are named 'PKI Approvers'" in check.stdout
        worker = subprocess.run(
            [sys.executable, "-m", "bot.cli", "worker", "--burst"],
            cwd=ROOT,
            env={**_os_env(), **cli_env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 2
        lines = [line for line in worker.stderr.splitlines() if line.strip()]
        assert lines and "2 security groups are named" in lines[-1] and "Traceback" not in worker.stderr
        exact = RoleBook(group_roles(groups["real"]), directory)
        assert exact.check() == []  # naming it by DN is unambiguous
    finally:
        conn.delete(twin)
        conn.unbind()


def _os_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_a_cloud_only_person_gets_roles_from_entra_security_groups_only(
    directory: LiveDirectory, emu: RunningEmulator
) -> None:
    tenant = emu.emulator.tenant
    security, distribution, nested = (
        "9a1f4a4e-0000-4000-8000-000000000001",
        "9a1f4a4e-0000-4000-8000-000000000002",
        "9a1f4a4e-0000-4000-8000-000000000003",
    )
    tenant.groups[:] = [
        {
            "id": nested,
            "displayName": "Cloud Tier",
            "securityEnabled": True,
            "members": [ENTRA_ID["christie.cline"]],
        },
        {"id": security, "displayName": "Cloud Approvers", "securityEnabled": True, "members": [nested]},
        {
            "id": distribution,
            "displayName": "Cloud Approvers (mail)",
            "securityEnabled": False,
            "members": [ENTRA_ID["christie.cline"]],
        },
    ]
    try:
        identity = resolver(directory)
        christie = identity.resolve("teams", ENTRA_ID["christie.cline"])
        assert "approver" in Policy(group_roles(security), directory).roles_of(christie)
        assert "approver" not in Policy(group_roles(distribution), directory).roles_of(christie)
        assert RoleBook(group_roles(distribution), directory).check()  # refused as not a security group
    finally:
        tenant.groups.clear()
