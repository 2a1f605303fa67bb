"""One certificate published on many objects: the audit stays linear in size.

Each holder's publish.foreign_cert finding used to list every other holder, in the evidence
and again in the detail sentence, so n holders wrote n² names (2,000 holders: gigabytes).
The finding now names the first few other holders and says how many there are in all.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from bot import cli
from tests.support import pki_factory as pf
from workers.checks.publish import SHOWN_HOLDERS

AT = "2026-11-20T06:00:00Z"
NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def shared_der() -> bytes:
    root = pf.make_ca(
        "Shared Test Root", not_before=NOW - timedelta(days=900), not_after=NOW + timedelta(days=3000)
    )
    leaf = pf.make_leaf(
        root,
        "Shared Mailbox",
        not_before=NOW - timedelta(days=10),
        not_after=NOW + timedelta(days=300),
        emails=["shared.mailbox@contoso.example"],
    )
    return leaf.cert.public_bytes(Encoding.DER)


def _name(i: int) -> str:
    return f"employee.number{i:05d}"  # keys as long as real sAMAccountNames


def _snapshot(directory: Path, n: int, der: bytes) -> Path:
    directory.mkdir(parents=True)
    entries = [
        (
            f"CN={_name(i)},OU=Staff,DC=contoso,DC=example",
            {
                "objectClass": ["top", "person", "organizationalPerson", "user"],
                "sAMAccountName": [_name(i)],
                "userPrincipalName": [f"{_name(i)}@contoso.example"],
                "mail": [f"{_name(i)}@contoso.example"],
                "mailNickname": [_name(i)],
                "objectGUID": [pf.guid_bytes(uuid.UUID(int=i + 1))],
                "userCertificate": [der],
            },
        )
        for i in range(n)
    ]
    (directory / "ad.ldif").write_bytes(pf.ldif_bytes(entries))
    return directory


def _audit(tmp_path: Path, n: int, der: bytes, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv("SMIME_DOCTOR_WORKERS", "1")
    snap = _snapshot(tmp_path / f"snap{n}", n, der)
    out = tmp_path / f"audit{n}.jsonl"
    assert (
        cli.main(["audit", "--snapshot", str(snap), "--at", AT, "--format", "jsonl", "--out", str(out)]) == 1
    )
    return out.read_bytes()


def test_audit_output_grows_linearly_with_holders_of_one_certificate(
    tmp_path: Path, shared_der: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 150
    small, large = (
        _audit(tmp_path, n, shared_der, monkeypatch),
        _audit(tmp_path, 4 * n, shared_der, monkeypatch),
    )
    # linear: 4x the users, about 4x the bytes (listing every holder made it about 9x here, 16x in the limit)
    assert len(large) / len(small) < 4.5, (len(small), len(large))

    reports = [json.loads(line) for line in large.splitlines()[1:]]
    assert len(reports) == 4 * n
    first = next(r for r in reports if r["subject"]["query"] == _name(0))
    shared = [f for f in first["findings"] if f["check"] == "publish.foreign_cert"]
    assert len(shared) == 1 and shared[0]["status"] == "fail"
    evidence = shared[0]["evidence"]
    # still says who else holds it: the first few others by name, and how many in all
    assert evidence["also_on_count"] == 4 * n - 1
    assert evidence["also_on"] == [_name(i) for i in range(1, SHOWN_HOLDERS + 1)]
    assert _name(1) in shared[0]["detail"] and f"{4 * n - 1 - SHOWN_HOLDERS} more" in shared[0]["detail"]
    assert _name(SHOWN_HOLDERS + 1) not in json.dumps(shared[0])


def test_a_certificate_on_two_objects_names_the_other_one(
    tmp_path: Path, shared_der: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _audit(tmp_path, 2, shared_der, monkeypatch)
    reports = {r["subject"]["query"]: r for r in map(json.loads, data.splitlines()[1:])}
    finding = next(f for f in reports[_name(1)]["findings"] if f["check"] == "publish.foreign_cert")
    assert finding["evidence"]["also_on"] == [_name(0)] and finding["evidence"]["also_on_count"] == 1
    assert finding["detail"].endswith(f"is also published on {_name(0)}.")
