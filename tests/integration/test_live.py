"""Live diagnosis: Samba AD and the Microsoft 365 emulator, asked concurrently, give every demo user
the same answer as the bundled snapshot — and a failing source degrades to `error` findings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.emulators.m365 import start_emulator
from tests.samba import dc as samba
from tests.samba.helpers import settings_for
from workers.demo_tenant import DATA_DIR, EXPECTED_FILE
from workers.diagnosis import Engine
from workers.sources.ad import AdSource
from workers.sources.live import LiveDirectory
from workers.sources.parsing import parse_time
from workers.sources.snapshot import Snapshot

AT = parse_time("2026-11-20T06:00:00Z")
EXPECTED = json.loads(EXPECTED_FILE.read_text())
# Only an index over every directory object can tell that the same certificate sits on two
# objects; a single live lookup reads one object (audits, which read everyone, do see it).
NEEDS_EVERYONE = {"publish.foreign_cert", "sync.cert_flow"}


def essence(report: Any) -> list[tuple[str, str, str | None]]:
    return sorted(
        (f.check, f.status, f.certificate) for f in report.findings if f.check not in NEEDS_EVERYONE
    )


@pytest.fixture(scope="module")
def live(samba_dc: samba.DomainController) -> Any:
    meta = json.loads((DATA_DIR / "snapshot.json").read_text())
    with start_emulator() as emulator:
        directory = LiveDirectory(
            AdSource(settings_for(samba_dc)),
            emulator.exchange(),
            emulator.graph(),
            sync_scope=meta["sync_scope"],
            clock=lambda: AT,
        )
        yield directory, emulator
        directory.close()


def test_every_demo_user_gets_the_same_report_live_as_from_the_snapshot(live: Any) -> None:
    directory, _ = live
    assert AT is not None
    snapshot = Snapshot(DATA_DIR)
    offline, online = Engine(snapshot.tenant, AT), Engine(directory.tenant, AT)
    differences = {}
    for key, spec in EXPECTED.items():
        if key == "tenant":
            continue
        expected = essence(offline.diagnose(snapshot.find(spec["query"])))
        got = essence(online.diagnose(directory.find(spec["query"])))
        if got != expected:
            differences[key] = sorted(set(got) ^ set(expected))
    assert not differences


def test_a_failing_source_becomes_error_findings_not_a_crash(live: Any) -> None:
    directory, emulator = live
    assert AT is not None
    emulator.fail_next("exo", 500, {"error": {"code": "InternalServerError", "message": "boom"}}, count=50)
    try:
        facts = directory.find("adele.vance@contoso.example")
    finally:
        emulator.reset()
    report = Engine(directory.tenant, AT).diagnose(facts)
    assert "exo" in facts.source_errors
    statuses = {f.check: f.status for f in report.findings}
    assert statuses["exo.recipient_found"] in ("error", "fail")
    assert statuses["publish.ad_present"] == "pass"  # AD still answered
