"""workers/plan_types.py: the Plan a remediation is, and its JSON inside approval requests.

Requests already stored in Redis (and plan answers on the outbox) were written by the dict code
before the type existed, so every kind of plan reads back and writes out to the same JSON — the
same keys in the same order, byte for byte — and the digest that identifies a plan in the audit
trail does not change. What is not a plan is refused with the key it gets wrong.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from workers.approvals_store import ApprovalRequest
from workers.audit import AuditTrail
from workers.config import load_settings
from workers.plan_types import Change, MalformedPlan, Plan, changes_of
from workers.remediation.plan import plan_action, plan_digest, plan_reset, plan_upload_issuing_ca
from workers.remediation.states import expected_states, undo_plan
from workers.sources.directory import directory_for

CERT = {
    "attribute": "ad.userCertificate",
    "sha256": "ab" * 32,
    "subject": "CN=Stella Stale",
    "emails": ["s@contoso.example"],
    "not_after": "2025-01-01",
}
TEXT_CHANGE: dict[str, Any] = {
    "attribute": "ad.mailNickname",
    "sha256": "cd" * 32,
    "from": "",
    "to": "no.nickname",
    "subject": "(empty) → no.nickname",
    "emails": [],
    "not_after": None,
    "reason": "mailNickname is empty",
}
WHO = {
    "target": "stale.smime",
    "target_display": "Stella Stale",
    "primary_smtp": "s@contoso.example",
    "dn": "CN=Stella Stale,OU=Users,DC=contoso,DC=example",
    "where": "ad",
}
TENANT = {
    "target": "(tenant)",
    "target_display": "SMIMECertificateIssuingCA",
    "primary_smtp": None,
    "dn": None,
    "where": "exo-tenant",
}
SST = "exo.SMIMECertificateIssuingCA"
CA = {**CERT, "attribute": SST, "emails": [], "subject": "CN=Fabrikam Mail CA"}

# Each kind of plan exactly as its producer wrote it before workers/plan_types.py (key order too).
STORED: dict[str, dict[str, Any]] = {
    "prune_certificates (build_plan)": {
        "action": "prune_certificates",
        **WHO,
        "changes": [{**CERT, "reason": "expired 2025-01-01"}],
        "keep": [{**CERT, "sha256": "ef" * 32, "not_after": "2030-01-01"}],
        "before": {"ad.userCertificate": ["MAMCAQc=", "MAMCAQg="]},
        "digest": "0123456789abcdef",
        "usable_after": True,
    },
    "an unreadable value (no certificate: subject and not_after null)": {
        "action": "reset_published",
        **WHO,
        "where": "exo",
        "dn": None,
        "changes": [
            {
                "attribute": "exo.UserCertificate",
                "sha256": "12" * 32,
                "subject": None,
                "emails": [],
                "not_after": None,
                "reason": "unreadable value",
            }
        ],
        "keep": [],
        "before": {"exo.UserCertificate": ["MAMCAQc="]},
        "digest": "0123456789abcdef",
        "usable_after": False,
    },
    "set_mail_nickname (build_text_plan)": {
        "action": "set_mail_nickname",
        "scope": "attributes",
        **WHO,
        "changes": [TEXT_CHANGE],
        "keep": [],
        "before": {"ad.mailNickname": []},
        "after": {"ad.mailNickname": ["no.nickname"]},
        "digest": "0123456789abcdef",
        "usable_after": True,
    },
    "upload_issuing_ca (plan_upload_issuing_ca)": {
        "action": "upload_issuing_ca",
        "scope": "smime_config",
        **TENANT,
        "requested": "Fabrikam Mail CA",
        "changes": [{**CA, "reason": "add issuing CA"}],
        "keep": [{**CA, "sha256": "34" * 32, "subject": "CN=Contoso Root"}],
        "before": {SST: ["c3N0LW9sZA=="]},
        "after": {SST: ["c3N0LW5ldw=="]},
        "refusal": None,
        "usable_after": True,
        "digest": "0123456789abcdef",
        "ca": CA,
    },
    "upload_issuing_ca refused before the CA was found (no ca key)": {
        "action": "upload_issuing_ca",
        "scope": "smime_config",
        **TENANT,
        "requested": "No Such CA",
        "changes": [],
        "keep": [],
        "before": {},
        "after": {},
        "refusal": {"en": "unknown CA No Such CA", "de": "unbekannte CA No Such CA"},
        "usable_after": True,
        "digest": "0123456789abcdef",
    },
    "undo of a clean-up (undo_plan)": {
        "action": "undo",
        "undo_of": "R-0123abcd",
        "undoes_action": "prune_certificates",
        **WHO,
        "changes": [{**CERT, "reason": "restore (undo of R-0123abcd)"}],
        "keep": [],
        "before": {"ad.userCertificate": ["MAMCAQg="]},
        "restore": {"ad.userCertificate": ["MAMCAQc="]},
        "digest": "0123456789abcdef",
        "usable_after": True,
    },
    "undo of a clean-up from before undoes_action existed": {
        "action": "undo",
        "undo_of": "R-0123abcd",
        **WHO,
        "changes": [{**CERT, "reason": "restore (undo of R-0123abcd)"}],
        "keep": [],
        "before": {},
        "restore": {"ad.userCertificate": ["MAMCAQc="]},
        "digest": "0123456789abcdef",
        "usable_after": True,
    },
    "undo of upload_issuing_ca (_undo_sst_plan)": {
        "scope": "smime_config",
        **TENANT,
        "action": "undo",
        "undo_of": "R-0123abcd",
        "undoes_action": "upload_issuing_ca",
        "undo_of_action": "upload_issuing_ca",
        "changes": [{**CA, "reason": "restore (undo of R-0123abcd)"}],
        "keep": [],
        "before": {SST: ["c3N0LW5ldw=="]},
        "after": {SST: ["c3N0LW9sZA=="]},
        "digest": "0123456789abcdef",
        "usable_after": True,
    },
    "undo of set_mail_nickname (_undo_text_plan)": {
        "action": "undo",
        "scope": "attributes",
        "undo_of": "R-0123abcd",
        "undoes_action": "set_mail_nickname",
        "undo_of_action": "set_mail_nickname",
        **WHO,
        "changes": [
            {
                **TEXT_CHANGE,
                "from": "no.nickname",
                "to": "",
                "subject": "no.nickname → (empty)",
                "reason": "x",
            }
        ],
        "keep": [],
        "before": {"ad.mailNickname": ["no.nickname"]},
        "after": {"ad.mailNickname": []},
        "digest": "0123456789abcdef",
        "usable_after": True,
    },
}


@pytest.mark.parametrize("stored", list(STORED.values()), ids=list(STORED))
def test_every_stored_kind_of_plan_round_trips_to_the_same_json(stored: dict[str, Any]) -> None:
    plan = Plan.from_json(json.loads(json.dumps(stored)))  # as read from Redis
    assert json.dumps(plan.to_json(), ensure_ascii=False) == json.dumps(stored, ensure_ascii=False)
    assert Plan.from_json(plan.to_json()) == plan


def test_attributes_read_what_the_dicts_held() -> None:
    plan = Plan.from_json(STORED["set_mail_nickname (build_text_plan)"])
    assert (plan.action, plan.scope, plan.where, plan.who) == (
        "set_mail_nickname",
        "attributes",
        "ad",
        "s@contoso.example",
    )
    assert plan.before == {"ad.mailNickname": ()} and plan.after == {"ad.mailNickname": ("no.nickname",)}
    change = plan.changes[0]
    assert (change.from_, change.to, change.reason) == ("", "no.nickname", "mailNickname is empty")
    legacy_undo = Plan.from_json(STORED["undo of a clean-up from before undoes_action existed"])
    assert legacy_undo.undoes_action is None and legacy_undo.restore == {"ad.userCertificate": ("MAMCAQc=",)}
    tenant = Plan.from_json(STORED["upload_issuing_ca (plan_upload_issuing_ca)"])
    assert tenant.ca is not None and tenant.ca.subject == "CN=Fabrikam Mail CA" and tenant.who == "(tenant)"


def test_the_digest_is_the_one_the_dicts_had() -> None:
    """plan_digest over Change objects: the same value as over the dicts (the audit trail names it)."""
    changes = [{**CERT, "reason": "expired"}, {**CERT, "attribute": "ad.userSMIMECertificate"}]
    basis = "prune_certificates|stale.smime|" + "|".join(
        sorted(f"{c['attribute']}:{c['sha256']}" for c in changes)
    )
    expected = hashlib.sha256(basis.encode()).hexdigest()[:16]
    typed = [Change.from_json(c) for c in changes]
    assert (
        plan_digest("prune_certificates", "stale.smime", typed) == expected == "5098f2595b549829"
    )  # the dict code gave this too


def test_keys_a_newer_version_wrote_survive() -> None:
    stored = {**STORED["prune_certificates (build_plan)"], "registry": {"v": 2}}
    stored["changes"] = [{**stored["changes"][0], "risk": "low"}]
    plan = Plan.from_json(stored)
    assert plan.extra == {"registry": {"v": 2}} and plan.changes[0].extra == {"risk": "low"}
    assert plan.to_json() == stored


def test_a_field_set_outside_its_usual_kind_is_not_lost() -> None:
    plan = dataclasses.replace(Plan.from_json(STORED["prune_certificates (build_plan)"]), undo_of="R-1")
    assert Plan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (None, "must be an object"),
        (["plan"], "must be an object"),
        ({}, "'action'"),
        ({"action": "undo", "target": "x", "changes": []}, "'digest'"),
        ({"action": "undo", "target": "x", "digest": "d"}, "'changes' must be a list, not missing"),
        (
            {"action": "undo", "target": 7, "changes": [], "digest": "d"},
            "'target' must be a string, not a int",
        ),
        ({**STORED["prune_certificates (build_plan)"], "changes": ["x"]}, "changes[0] must be an object"),
        (
            {**STORED["prune_certificates (build_plan)"], "changes": [{"attribute": "a"}]},
            "changes[0]: 'sha256'",
        ),
        (
            {**STORED["prune_certificates (build_plan)"], "keep": [{**CERT, "emails": "s@x"}]},
            "keep[0]: 'emails'",
        ),
        ({**STORED["prune_certificates (build_plan)"], "where": "moon"}, "'where' must be one of"),
        ({**STORED["prune_certificates (build_plan)"], "scope": "all"}, "'scope' must be one of"),
        ({**STORED["prune_certificates (build_plan)"], "before": {"ad.x": "MAM="}}, "'before'"),
        ({**STORED["prune_certificates (build_plan)"], "usable_after": "yes"}, "'usable_after'"),
        ({**STORED["undo of a clean-up (undo_plan)"], "undo_of": 5}, "'undo_of'"),
        ({**STORED["upload_issuing_ca (plan_upload_issuing_ca)"], "refusal": "no"}, "'refusal'"),
        ({**STORED["upload_issuing_ca (plan_upload_issuing_ca)"], "ca": {"sha256": "ab"}}, "ca: 'attribute'"),
    ],
)
def test_malformed_plans_are_refused_naming_the_key(data: Any, names: str) -> None:
    with pytest.raises(MalformedPlan, match="plan") as caught:
        Plan.from_json(data)
    assert names in str(caught.value)


def test_changes_of_reads_only_the_changes_of_a_requests_plan() -> None:
    assert changes_of(None) == () and changes_of({}) == ()
    assert changes_of({"changes": [{**CERT, "reason": "r"}]}) == (Change.from_json({**CERT, "reason": "r"}),)
    with pytest.raises(MalformedPlan, match="changes"):
        changes_of({"changes": "x"})


def request_of(plan: Plan, **fields: Any) -> ApprovalRequest:
    return ApprovalRequest(
        id="R-0123abcd",
        action=plan.action,
        requester="stale.smime",
        target=plan.target,
        plan=plan,
        notify={},
        platform="console",
        created=1.0,
        expires=2.0,
        **fields,
    )


def test_a_stored_request_reads_and_writes_back_the_same_json() -> None:
    """An ApprovalRequest record from before canonical ids (no requester_ids / requester_via)."""
    stored = {
        "id": "R-0123abcd",
        "action": "prune_certificates",
        "requester": "stale.smime",
        "target": "stale.smime",
        "plan": STORED["prune_certificates (build_plan)"],
        "notify": {"platform": "console", "session": "s"},
        "platform": "console",
        "created": 1.0,
        "expires": 2.0,
        "state": "done",
        "decisions": [{"actor": "alex.wilber", "approve": True, "at": 1.5}],
        "result": {"ok": True},
    }
    request = ApprovalRequest.from_json(json.loads(json.dumps(stored)))
    assert isinstance(request.plan, Plan) and request.requester_identity == ["key:stale.smime"]
    assert json.dumps(request.to_json()) == json.dumps({**stored, "requester_ids": [], "requester_via": []})
    with pytest.raises(MalformedPlan, match="'digest'"):
        ApprovalRequest.from_json({**stored, "plan": {"action": "x", "target": "y", "changes": []}})


def test_the_audit_trail_digests_stay_the_same() -> None:
    plan = Plan.from_json(STORED["prune_certificates (build_plan)"])
    entry = AuditTrail().record("requested", request_of(plan))
    before = json.dumps(STORED["prune_certificates (build_plan)"]["before"], sort_keys=True)
    assert entry["plan_digest"] == "0123456789abcdef"
    assert entry["before_digest"] == hashlib.sha256(before.encode()).hexdigest()[:16]


def test_the_demo_tenants_plans_and_their_undo_round_trip() -> None:
    """Every plan the producers make for the demo tenant, and the undo of each that changes
    something: through JSON and back to an equal Plan, and to the same bytes."""
    directory = directory_for(load_settings(demo=True))
    now = directory.tenant.collected_at or datetime.now(UTC)
    plans: list[Plan] = []
    for user in directory.iter_users():
        for at in (now, now + timedelta(days=800)):
            plans.append(plan_reset(user, at))
            plans += [plan_action(a, user, at) for a in ("set_mail_nickname", "clear_smime_attribute")]
    roots = list(directory.tenant.trusted_roots)
    plans.append(plan_upload_issuing_ca(None, b"", "No Such CA", now))
    plans.append(plan_upload_issuing_ca(roots[0], b"", roots[0].subject_cn or "x", now))
    undone = 0
    for plan in list(plans):
        if plan.changes and plan.scope != "smime_config":
            done = request_of(plan, state="done")
            if plan.scope is None:
                expected_states(done)  # the plan's own before-state holds what it removes
            plans.append(undo_plan(done))
            undone += 1
    assert undone > 10 and {p.scope for p in plans} == {None, "attributes", "smime_config"}
    for plan in plans:
        wire = json.loads(json.dumps(plan.to_json(), ensure_ascii=False))
        again = Plan.from_json(wire)
        assert again == plan
        assert json.dumps(again.to_json(), ensure_ascii=False) == json.dumps(wire, ensure_ascii=False)
