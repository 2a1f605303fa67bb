"""A large audit forks workers; what it writes must be what one process writes.

The demo tenant (43 recipients) is below PARALLEL_MIN_USERS, so the threshold is lowered
here; the chunk size is lowered too, so the 43 reports come back in several chunks whose
order the parent has to keep, and workers are replaced every two chunks, so replacement
workers (forked later, from a parent that is busy writing) must give the same answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import cli
from workers.demo_tenant import COLLECTED_AT


def _audit(tmp_path: Path, fmt: str, workers: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes]:
    monkeypatch.setattr(cli, "PARALLEL_MIN_USERS", 0)
    monkeypatch.setattr(cli, "_CHUNK", 5)
    monkeypatch.setattr(cli, "_CHUNKS_PER_WORKER", 2)
    monkeypatch.setenv("SMIME_DOCTOR_WORKERS", workers)
    out = tmp_path / f"audit-{workers}.{fmt}"
    code = cli.main(["audit", "--demo", "--at", COLLECTED_AT, "--format", fmt, "--out", str(out)])
    return code, out.read_bytes()


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_forked_audit_writes_the_same_bytes_as_one_process(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    single_code, single = _audit(tmp_path, fmt, "1", monkeypatch)
    forked_code, forked = _audit(tmp_path, fmt, "3", monkeypatch)
    assert forked == single
    assert forked_code == single_code == 1  # the demo tenant has failing users
    if fmt == "jsonl":
        lines = [json.loads(line) for line in single.splitlines()]
        assert lines[0]["kind"] == "tenant" and len(lines) == 1 + 43
        users = [line["subject"]["query"] for line in lines[1:]]
        assert len(set(users)) == 43
    else:
        doc = json.loads(single)
        assert doc["summary"]["users"] == len(doc["reports"]) == 43
        assert sum(doc["summary"]["verdicts"].values()) == 43


def test_audit_lines_are_the_reports_diagnose_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The compact bytes a forked audit writes parse to the report `diagnose --format json`
    gives for the same user, less the tenant-level findings (an audit reports those once)."""
    _, data = _audit(tmp_path, "jsonl", "3", monkeypatch)
    audited = {r["subject"]["query"]: r for r in map(json.loads, data.splitlines()[1:])}
    capsys.readouterr()
    cli.main(["diagnose", "stale.smime", "--demo", "--at", COLLECTED_AT, "--format", "json"])
    one = json.loads(capsys.readouterr().out)
    mine = audited["stale.smime"]
    assert mine["findings"] == [f for f in one["findings"] if f in mine["findings"]]
    assert len(mine["findings"]) > 30
    for key in ("verdict", "certificates", "outlook_choice", "evaluated_at", "kind"):
        assert mine[key] == one[key], key
