"""Checks whose failures the demo tenant cannot show without breaking every demo user.

Each test damages a private copy of the demo snapshot the way a real tenant breaks and
asserts what an admin would then be told.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from workers.demo_tenant import DATA_DIR
from workers.diagnosis import Engine
from workers.report import Finding
from workers.sources.parsing import parse_time
from workers.sources.snapshot import Snapshot

AT = parse_time("2026-11-20T06:00:00Z")


@pytest.fixture()
def snap(tmp_path: Path) -> Path:
    target = tmp_path / "snap"
    shutil.copytree(DATA_DIR, target)
    return target


def tenant_findings(directory: Path, lang: str = "en") -> dict[str, list[Finding]]:
    assert AT is not None
    engine = Engine(Snapshot(directory).tenant, AT, lang=lang)
    out: dict[str, list[Finding]] = {}
    for f in engine.tenant_findings():
        out.setdefault(f.check, []).append(f)
    return out


def edit_json(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_stale_directory_sync_warns(snap: Path) -> None:
    def stale(org: Any) -> None:
        target = (
            org["value"][0]
            if isinstance(org, dict) and "value" in org
            else (org[0] if isinstance(org, list) else org)
        )
        target["onPremisesLastSyncDateTime"] = "2026-11-19T20:00:00Z"

    edit_json(snap / "entra-organization.json", stale)
    [finding] = tenant_findings(snap)["sync.freshness"]
    assert finding.status == "warn" and "600 minutes" in finding.detail


def test_certificates_not_flowing_to_exchange_online_fails(snap: Path) -> None:
    def strip(recipients: Any) -> None:
        for r in recipients["value"]:
            r["UserCertificate"] = []

    edit_json(snap / "exo-recipients.json", strip)
    [finding] = tenant_findings(snap)["sync.cert_flow"]
    assert finding.status == "fail"
    assert finding.evidence["without_certs_in_exo"] * 2 >= finding.evidence["synced_with_certs"] >= 5


def test_no_template_publishing_to_ad_fails(snap: Path) -> None:
    text = (snap / "ad-config.ldif").read_text()
    text = re.sub(
        r"msPKI-Enrollment-Flag: (\d+)", lambda m: f"msPKI-Enrollment-Flag: {int(m.group(1)) & ~0x8}", text
    )
    (snap / "ad-config.ldif").write_text(text)
    [finding] = tenant_findings(snap)["pki.template_publish_to_ds"]
    assert finding.status == "fail"


def test_expired_certificate_in_tenant_sst_fails_and_empty_store_fails(snap: Path) -> None:
    assert AT is not None
    later = parse_time("2027-02-01T00:00:00Z")  # Contoso Issuing CA 00 in the SST has expired by then
    assert later is not None
    engine = Engine(Snapshot(snap).tenant, later)
    [finding] = [f for f in engine.tenant_findings() if f.check == "trust.exo_issuing_ca_health"]
    assert finding.status == "fail" and "Contoso Issuing CA 00" in finding.detail
    from workers.certs.sst import write_sst

    (snap / "smime-issuing-ca.sst").write_bytes(write_sst([]))
    [finding] = tenant_findings(snap)["trust.exo_issuing_ca_health"]
    assert finding.status == "fail"


def test_missing_files_skip_with_the_file_named(snap: Path) -> None:
    for name in ("entra-users.json", "entra-organization.json", "ad-config.ldif"):
        (snap / name).unlink()
    snapshot = Snapshot(snap)
    assert AT is not None
    report = Engine(snapshot.tenant, AT).diagnose(snapshot.find("adele.vance"))
    skips = {f.check: f.detail for f in report.findings if f.status == "skip"}
    assert "entra-users.json" in skips["sync.in_scope"]
    assert "entra-organization.json" in skips["sync.freshness"]
    assert "ad-config.ldif" in skips["pki.template_key_params"]


def test_german_texts_exist_for_every_finding() -> None:
    """Every finding the demo tenant produces has a German sentence, not the English fallback."""
    assert AT is not None
    snapshot = Snapshot(DATA_DIR)
    en, de = Engine(snapshot.tenant, AT, lang="en"), Engine(snapshot.tenant, AT, lang="de")
    for user in snapshot.iter_users():
        for f_en, f_de in zip(en.diagnose(user).findings, de.diagnose(user).findings, strict=True):
            assert f_en.check == f_de.check
            if f_en.title and f_en.status not in ("skip", "error"):
                assert f_de.title != f_en.title or f_de.title.startswith(
                    ("Private CA", "Autoenrollment", "Template")
                ), f_en.check
