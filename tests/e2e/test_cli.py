"""The command line as an admin uses it: answers, formats, languages, and clear errors on bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workers.demo_tenant import COLLECTED_AT, DATA_DIR


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
    )


@pytest.fixture()
def snapshot(tmp_path: Path) -> Path:
    """A private copy of the demo tenant that a test may damage."""
    target = tmp_path / "snap"
    shutil.copytree(DATA_DIR, target)
    return target


def test_healthy_user_text_answer_leads_with_yes() -> None:
    out = cli("diagnose", "adele.vance@contoso.example", "--demo")
    assert out.returncode == 0, out.stderr
    first = out.stdout.splitlines()[0]
    assert "Yes" in first and "adele.vance@contoso.example" in first


def test_broken_user_exits_1_and_says_what_to_do() -> None:
    out = cli("diagnose", "STALE.SMIME@contoso.example", "--demo")  # addresses match case-insensitively
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].startswith("✗ No")
    assert "What to do" in out.stdout and "clear_smime_attribute" in out.stdout


def test_german_answer() -> None:
    out = cli("diagnose", "no.nickname", "--demo", "--lang", "de", "--format", "json")
    report = json.loads(out.stdout)
    assert report["headline"].startswith("Nein")
    nick = next(f for f in report["findings"] if f["check"] == "sync.mailnickname")
    assert nick["title"] == "mailNickname ist leer" and "set_mail_nickname" in nick["remedy"]


def _guid_of_nora() -> str:
    from workers.sources.snapshot import Snapshot

    ad = Snapshot(DATA_DIR).entries["no.nickname"].ad
    assert ad is not None and ad.object_guid
    return "{" + ad.object_guid.upper() + "}"


@pytest.mark.parametrize(
    "name", ["Nora Nickless", "CONTOSO\\no.nickname", "SMTP:no.nickname@contoso.example", "guid"]
)
def test_user_found_by_any_name(name: str) -> None:
    # display name, DOMAIN\sam, a proxy address as written in AD, and the objectGUID all name the same person.
    out = cli("diagnose", _guid_of_nora() if name == "guid" else name, "--demo", "--format", "json")
    if out.returncode == 2:
        pytest.fail(out.stderr)
    assert json.loads(out.stdout)["subject"]["primary_smtp"] == "no.nickname@contoso.example"


def test_unknown_user_is_one_line_with_near_matches() -> None:
    out = cli("diagnose", "adele.vanse", "--demo")
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "adele.vanse" in lines[0] and "adele.vance" in lines[0]


def test_ambiguous_name_lists_the_candidates(snapshot: Path) -> None:
    ldif = (snapshot / "ad.ldif").read_text()
    # Give two users the same display name; looking them up by it must ask which one.
    ldif = ldif.replace("displayName: Alex Wilber", "displayName: Adele Vance")
    (snapshot / "ad.ldif").write_text(ldif)
    out = cli("diagnose", "Adele Vance", "--snapshot", str(snapshot))
    assert out.returncode == 2
    assert "matches 2 users" in out.stderr and "adele.vance@" in out.stderr and "alex.wilber@" in out.stderr


def test_bad_snapshot_inputs_are_one_line_errors(snapshot: Path, tmp_path: Path) -> None:
    out = cli("diagnose", "x", "--snapshot", str(tmp_path / "missing"))
    assert out.returncode == 2 and "does not exist" in out.stderr
    (snapshot / "exo-recipients.json").write_text('{"value": [ {"Identity": ')
    out = cli("audit", "--snapshot", str(snapshot))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "exo-recipients.json is not valid JSON" in out.stderr
    out = cli("diagnose", "adele.vance", "--demo", "--at", "yesterday")
    assert out.returncode == 2 and "--at" in out.stderr


def test_trusted_root_outside_the_snapshot_is_refused(snapshot: Path) -> None:
    meta = json.loads((snapshot / "snapshot.json").read_text())
    meta["trusted_roots"] = ["../../../etc/passwd"]
    (snapshot / "snapshot.json").write_text(json.dumps(meta))
    out = cli("diagnose", "adele.vance", "--snapshot", str(snapshot))
    assert out.returncode == 2 and "outside the snapshot directory" in out.stderr


def test_corrupt_value_does_not_stop_the_user_or_the_audit(snapshot: Path) -> None:
    recipients = json.loads((snapshot / "exo-recipients.json").read_text())
    adele = next(r for r in recipients["value"] if r.get("Alias") == "adele.vance")
    adele["UserCertificate"] = ["%%% not base64 %%%"]
    (snapshot / "exo-recipients.json").write_text(json.dumps(recipients))
    out = cli(
        "diagnose", "adele.vance", "--snapshot", str(snapshot), "--at", COLLECTED_AT, "--format", "json"
    )
    report = json.loads(out.stdout)
    parse = [f for f in report["findings"] if f["check"] == "cert.parse" and f["status"] == "fail"]
    assert parse and "exo.UserCertificate" in parse[0]["title"]
    assert any(f["check"] == "publish.ad_present" and f["status"] == "pass" for f in report["findings"])
    audit = cli("audit", "--snapshot", str(snapshot), "--at", COLLECTED_AT, "--format", "jsonl")
    assert len(audit.stdout.splitlines()) == 1 + 43


def test_audit_formats(tmp_path: Path) -> None:
    base = ["audit", "--demo"]
    full = json.loads(cli(*base, "--format", "json").stdout)
    assert full["kind"] == "audit" and len(full["reports"]) == 43
    assert full["summary"]["users"] == 43 and full["summary"]["verdicts"]["fail"] >= 10
    rows = list(csv.DictReader(io.StringIO(cli(*base, "--format", "csv").stdout)))
    assert {"user", "check", "status", "remedy"} <= set(rows[0])
    assert any(r["user"] == "stale.smime" and r["check"] == "publish.smime_precedence" for r in rows)
    out_file = tmp_path / "audit.html"
    done = cli(*base, "--format", "html", "--out", str(out_file))
    assert done.returncode == 1 and done.stdout == ""
    page = out_file.read_text()
    assert page.startswith("<!doctype html>") and "stale.smime@contoso.example" in page
    # summary first (tests/e2e/test_audit_html.py looks at the page in a browser)
    assert (
        page.index('id="verdict-counts"') < page.index("<thead>") < page.index("stale.smime@contoso.example")
    )
    text = cli(*base)
    assert "Audit: 43 users" in text.stdout and "Most common problems" in text.stdout


def test_why_cant_encrypt_internal_and_external_sender() -> None:
    out = cli(
        "why-cant-encrypt",
        "--sender",
        "alex.wilber",
        "--recipient",
        "stale.smime",
        "--demo",
        "--format",
        "json",
    )
    report = json.loads(out.stdout)
    assert out.returncode == 1 and report["kind"] == "encrypt_to"
    assert report["sender"]["primary_smtp"] == "alex.wilber@contoso.example"
    assert report["findings"][0]["check"] == "sender.lookup" and report["findings"][0]["status"] == "fail"
    ext = cli(
        "why-cant-encrypt",
        "--sender",
        "partner@fabrikam.example",
        "--recipient",
        "adele.vance",
        "--demo",
        "--format",
        "json",
    )
    report = json.loads(ext.stdout)
    assert ext.returncode == 0 and report["sender"]["external"] is True
    assert any(f["check"] == "sender.external" and f["status"] == "info" for f in report["findings"])


def test_checks_lists_the_catalogue() -> None:
    out = cli("checks", "--lang", "de")
    assert out.returncode == 0 and "publish.ad_present" in out.stdout and "Zertifikat" in out.stdout


def test_demo_tour_runs() -> None:
    out = cli("demo")
    assert out.returncode == 0, out.stderr
    for step in (
        "adele.vance",
        "stale.smime",
        "no.nickname",
        "ts.user",
        "why-cant-encrypt",
        "--lang de",
        "Audit: 43 users",
    ):
        assert step in out.stdout


def test_check_config_says_what_is_wrong(tmp_path: Path) -> None:
    import os

    good = tmp_path / "good.toml"
    good.write_text('lang = "de"\n[roles.helpdesk]\nusers = ["adele.vance"]\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMIME_DOCTOR_")}
    run = lambda extra: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot.cli", "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, **extra},
    )
    ok = run({"SMIME_DOCTOR_CONFIG": str(good)})
    assert ok.returncode == 0 and "language de" in ok.stdout and "helpdesk 1" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('lang = "fr"\n')
    out = run({"SMIME_DOCTOR_CONFIG": str(bad)})
    assert (
        out.returncode == 2
        and "configuration error in lang" in out.stderr
        and len(out.stderr.strip().splitlines()) == 1
    )
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("redis_ulr = 'x'\n")
    assert "redis_ulr" in run({"SMIME_DOCTOR_CONFIG": str(unknown)}).stderr
    down = run({"SMIME_DOCTOR_REDIS_URL": "redis://:secret@127.0.0.1:1/0"})
    assert down.returncode == 2 and "FAIL" in down.stdout.upper() and "secret" not in down.stdout


def test_chat_script_through_the_command_line(tmp_path: Path) -> None:
    script = tmp_path / "conversation.txt"
    script.write_text(
        "# a comment\nis my cert published?\nwarum kann alex mir nicht verschlüsselt schreiben?\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--as", "stale.smime", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert "stale.smime> is my cert published?" in out.stdout
    assert (
        "✗ No — stale.smime@contoso.example" in out.stdout
        and "Nein — alex.wilber@contoso.example" in out.stdout
    )
