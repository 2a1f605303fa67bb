"""Loading a snapshot with an export read in a second process gives the same users.

Large snapshots (ad.ldif and exo-recipients.json over PARALLEL_LOAD_MIN_BYTES) read
exo-recipients.json in a forked process while the LDIF and entra-users.json are read; the
demo tenant is small, so the threshold is lowered here to exercise that path on it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workers.demo_tenant import DATA_DIR
from workers.errors import SmimeDoctorError
from workers.sources import snapshot as snapshot_module
from workers.sources.snapshot import Snapshot


def _load(path: Path, parallel: bool, monkeypatch: pytest.MonkeyPatch) -> Snapshot:
    monkeypatch.setattr(snapshot_module, "PARALLEL_LOAD_MIN_BYTES", 0 if parallel else 2**62)
    monkeypatch.setattr(snapshot_module.os, "cpu_count", lambda: 2)
    monkeypatch.delenv("SMIME_DOCTOR_WORKERS", raising=False)
    snap = Snapshot(path)
    assert snap._load_in_parallel() is parallel
    return snap


def test_parallel_load_matches_serial_load(monkeypatch: pytest.MonkeyPatch) -> None:
    serial = _load(DATA_DIR, False, monkeypatch)
    parallel = _load(DATA_DIR, True, monkeypatch)
    assert list(parallel.entries) == list(serial.entries)
    for key, entry in serial.entries.items():
        other = parallel.entries[key]
        assert (other.ad, other.exo, other.entra) == (entry.ad, entry.exo, entry.entra), key
        assert [(loc, str(v)) for loc, v in other.exo_values] == [
            (loc, str(v)) for loc, v in entry.exo_values
        ]
        assert other.ad_values == entry.ad_values
    assert parallel.tenant.cert_owners == serial.tenant.cert_owners
    assert parallel.tenant.sync_flow == serial.tenant.sync_flow
    assert parallel._names == serial._names
    # and the diagnosis a user gets is the same
    assert parallel.find("no.nickname") == serial.find("no.nickname")


BROKEN = {
    "exo-recipients.json": '{"value": [ {"Identity": "x", ',
    "entra-users.json": "[{]",
    "ad.ldif": "dn: CN=x,DC=example\nuserCertificate:: !!!\n bad continuation\n\nnot ldif at all\n",
}


@pytest.mark.parametrize(
    "broken_files",
    [
        ["exo-recipients.json"],
        ["entra-users.json"],
        ["ad.ldif"],
        ["entra-users.json", "ad.ldif"],
        list(BROKEN),
    ],
)
def test_parallel_load_reports_a_broken_export_like_a_serial_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken_files: list[str]
) -> None:
    """The same one-line error either way, and with several broken files the same one first."""
    broken = tmp_path / "snap"
    shutil.copytree(DATA_DIR, broken)
    for name in broken_files:
        (broken / name).write_text(BROKEN[name])
    messages = []
    for parallel in (False, True):
        with pytest.raises(SmimeDoctorError) as err:
            _load(broken, parallel, monkeypatch)
        messages.append(f"{type(err.value).__name__}: {err.value}")
    assert messages[0] == messages[1]
    assert broken_files[0] in messages[0]
