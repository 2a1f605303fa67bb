"""The audit trail holds digests; the before-state backup lives apart, readable by its owner only.

An executed clean-up against a real Samba AD DC (this module's own, as in test_remediation.py)
with an audit file configured: the SIEM-facing JSON lines name the removed certificates by
sha256 only, the full values are in ``<audit>-backups/<request id>.json`` (0600, folder 0700,
whatever the umask), and undo still puts everything back from the approved plan and Redis —
with the backup file gone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from handlers.approvals import Approvals
from handlers.identity import person_of
from handlers.policy import Policy
from tests.samba.helpers import settings_for
from tests.support.remediation import ROLES, approved_request, certs_of, state
from workers.config import Roles
from workers.remediation.execute import run_execute, undo_plan
from workers.sources.ad import AdSource
from workers.sources.live import LiveDirectory

# this module runs on test_remediation's fixtures: its own DC, a private Redis, ts.user restored after


def sha(v: bytes) -> str:
    return hashlib.sha256(v).hexdigest()


def test_executed_clean_up_leaves_digests_in_the_trail_and_values_in_a_private_backup(
    live: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit_file = tmp_path / "log" / "audit.jsonl"
    audit_file.parent.mkdir()
    monkeypatch.setenv("SMIME_DOCTOR_AUDIT_LOG_FILE", str(audit_file))
    previous = os.umask(0)  # the most permissive umask: the modes must not depend on it
    try:
        request_id, plan = approved_request(live)
        assert run_execute(request_id) == "done"
    finally:
        os.umask(previous)
    removed_sha = {c.sha256 for c in plan.changes}
    removed = [v for v in live["original"]["userCertificate"] if sha(v) in removed_sha]
    assert len(removed) == 19

    trail = audit_file.read_text(encoding="utf-8")
    for value in removed:
        assert base64.b64encode(value).decode() not in trail
        assert base64.b64encode(value[:48]).decode() not in trail  # not even a prefix of one
    records = [json.loads(line) for line in trail.splitlines()]
    assert all(r["event"] != "backup" and "values" not in r for r in records)
    saved = next(r for r in records if r["event"] == "backup_saved" and r["request"] == request_id)
    assert removed_sha <= set(saved["values_sha256"]["ad.userCertificate"])

    folder = tmp_path / "log" / "audit-backups"
    backup_file = folder / f"{request_id}.json"
    assert saved["backup_file"] == str(backup_file)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(backup_file).st_mode) == 0o600
    assert os.stat(backup_file).st_uid == os.getuid()
    backup = json.loads(backup_file.read_text(encoding="utf-8"))
    assert backup["request"] == request_id and backup["dn"] == live["dn"]
    values = {base64.b64decode(v) for v in backup["values"]["ad.userCertificate"]}
    assert set(removed) <= values and len(values) == 20
    assert json.loads(live["redis"].get(f"smime:backup:{request_id}"))["values"] == backup["values"]

    # undo needs neither the file nor the trail: the approved plan and Redis carry what it restores
    backup_file.unlink()
    audit_file.unlink()
    done = state(live, request_id)
    directory = LiveDirectory(AdSource(settings_for(live["dc"])))
    try:
        approvals = Approvals(Policy(Roles.model_validate(ROLES)), live["redis"])
        approvals.on_approved = None  # execute here
        undo = approvals.open(
            "undo", person_of(directory.find("adele.vance")), done.target, undo_plan(done), {}, "console"
        )
        assert approvals.decide(undo.id, person_of(directory.find("alex.wilber")), True).state == "approved"
    finally:
        directory.close()
    assert run_execute(undo.id) == "done", state(live, undo.id).result
    assert sorted(certs_of(live["dc"], live["dn"])["userCertificate"]) == sorted(
        live["original"]["userCertificate"]
    )


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_backup_modes_do_not_depend_on_the_umask(tmp_path: Path, umask: int) -> None:
    from workers.audit import write_backup

    previous = os.umask(umask)
    try:
        path = write_backup(tmp_path / "backups", "R-test-1", {"values": {"ad.userCertificate": ["AAEC"]}})
        again = write_backup(tmp_path / "backups", "R-test-1", {"values": {}})  # a retried save replaces it
    finally:
        os.umask(previous)
    assert path == again == tmp_path / "backups" / "R-test-1.json"
    assert stat.S_IMODE(os.stat(tmp_path / "backups").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"values": {}}
    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["R-test-1.json"]  # no temporary left


def test_a_loose_existing_backup_folder_is_tightened_and_a_symlink_refused(tmp_path: Path) -> None:
    from workers.audit import write_backup

    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    write_backup(loose, "R-x", {})
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700
    (tmp_path / "link").symlink_to(loose)
    with pytest.raises(OSError):
        write_backup(tmp_path / "link", "R-y", {})


def test_where_backups_go() -> None:
    from workers.audit import backup_dir

    assert backup_dir("/var/log/smime/audit.jsonl", None) == Path("/var/log/smime/audit-backups")
    assert backup_dir("/var/log/smime/audit.jsonl", "/srv/backups") == Path("/srv/backups")
    assert backup_dir(None, None) is None
