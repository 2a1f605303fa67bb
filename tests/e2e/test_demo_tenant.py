"""The bundled demo tenant, user by user: each field case produces the findings it was built for.

expected.json is written by the demo generator from docs/checks.md's rules; the engine is held to
it through the real command line (`smime-doctor diagnose USER --format json`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from workers.demo_tenant import COLLECTED_AT, DATA_DIR, EXPECTED_FILE

EXPECTED: dict[str, Any] = json.loads(EXPECTED_FILE.read_text())
USERS = sorted(k for k in EXPECTED if k != "tenant")
RANK = {"pass": 0, "info": 1, "warn": 2, "fail": 3, "skip": -1, "error": 4}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Any]]:
    """Every demo user diagnosed once, through an audit in JSON (one process, fast)."""
    out = cli("audit", "--snapshot", str(DATA_DIR), "--at", COLLECTED_AT, "--format", "jsonl")
    assert out.returncode in (0, 1), out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0]["kind"] == "tenant"
    by_key = {r["subject"]["query"]: r for r in lines[1:]}
    by_key["(tenant)"] = {"findings": lines[0]["findings"]}
    return by_key


def worst(findings: list[dict[str, Any]], check_id: str) -> str | None:
    statuses = [f["status"] for f in findings if f["check"] == check_id]
    return max(statuses, key=lambda s: RANK[s]) if statuses else None


@pytest.mark.parametrize("user", USERS)
def test_user_findings_match_the_field_case(user: str, reports: dict[str, dict[str, Any]]) -> None:
    spec = EXPECTED[user]
    report = reports.get(user)
    assert report is not None, f"{user} missing from the audit ({spec['description']})"
    findings = list(report["findings"])
    if any(c.startswith("sender.") for c in spec["expect"]):
        # sender.* checks answer "why can't X encrypt to me?": ask it with a healthy colleague as X.
        out = cli(
            "why-cant-encrypt",
            "--sender",
            "adele.vance",
            "--recipient",
            spec["query"],
            "--snapshot",
            str(DATA_DIR),
            "--at",
            COLLECTED_AT,
            "--format",
            "json",
        )
        findings += json.loads(out.stdout)["findings"]
    got = {check_id: worst(findings, check_id) for check_id in spec["expect"]}
    assert got == spec["expect"], spec["description"]


def test_tenant_level_findings(reports: dict[str, dict[str, Any]]) -> None:
    findings = reports["(tenant)"]["findings"]
    expect = EXPECTED["tenant"]["expect"]
    assert {c: worst(findings, c) for c in expect} == expect


def test_every_failable_check_fails_or_warns_somewhere(reports: dict[str, dict[str, Any]]) -> None:
    """The demo exercises the whole catalogue: each check that can fail or warn does so for someone."""
    from workers.checks import REGISTRY

    seen = {f["check"] for r in reports.values() for f in r["findings"] if f["status"] in ("fail", "warn")}
    info_only = {
        "advice.private_key",
        "exo.owa_policy",
        "exo.propagation",
        "publish.non_smime_certs",
        "sender.caches",
        "sender.external",
    }
    sender_only = {s.id for s in REGISTRY.values() if s.scope == "sender"}
    online_only = {"trust.revocation"}
    # Tenant-wide failures that would break every demo user; tests/unit/test_checks.py covers them.
    tenant_health = {"sync.freshness", "sync.cert_flow", "pki.template_publish_to_ds"}
    missing = set(REGISTRY) - seen - info_only - sender_only - online_only - tenant_health
    assert not missing, f"no demo user fails or warns: {sorted(missing)}"


@pytest.mark.parametrize("user", ["adele.vance", "stale.smime", "no.nickname"])
def test_diagnose_json_is_the_contract_report(user: str) -> None:
    out = cli(
        "diagnose",
        EXPECTED[user]["query"],
        "--snapshot",
        str(DATA_DIR),
        "--at",
        COLLECTED_AT,
        "--format",
        "json",
    )
    report = json.loads(out.stdout)
    assert set(report) >= {
        "schema",
        "kind",
        "evaluated_at",
        "subject",
        "sender",
        "verdict",
        "findings",
        "certificates",
        "outlook_choice",
    }
    assert report["schema"] == 1 and report["kind"] == "diagnosis" and report["sender"] is None
    assert report["evaluated_at"] == COLLECTED_AT
    assert out.returncode == (1 if report["verdict"] == "fail" else 0)
    for f in report["findings"]:
        assert set(f) == {"check", "status", "certificate", "title", "detail", "remedy", "evidence"}
        assert f["status"] in ("pass", "info", "warn", "fail", "skip", "error")
        assert f["status"] != "error", f
    shas = {c["sha256"] for c in report["certificates"]}
    assert report["outlook_choice"]["certificate"] in shas | {None}
