"""Input an admin or a colleague hands us cannot hang, flood or misdirect the tool.

- A snapshot path that is not a regular file (FIFO, directory, socket, device) is refused
  with one line naming it, before anything is opened: a FIFO would block the read forever.
- A name given for a directory lookup is bounded in length and escaped in LDAP filters.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import live_ad_at
from workers.answers import TextAnswer
from workers.demo_tenant import DATA_DIR
from workers.errors import InputError, UserLookupError
from workers.sources.snapshot import Snapshot

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    # A FIFO opened for reading without a writer blocks forever: the timeout turns that into a failure.
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=REPO,
    )


@pytest.fixture()
def snapshot(tmp_path: Path) -> Path:
    target = tmp_path / "snap"
    shutil.copytree(DATA_DIR, target)
    return target


def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def _audit_refuses(snapshot: Path, tmp_path: Path, name: str) -> str:
    out = tmp_path / "audit.jsonl"
    result = cli("audit", "--snapshot", str(snapshot), "--format", "jsonl", "--out", str(out))
    assert result.returncode == 2, result.stdout[-500:] + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("smime-doctor: "), result.stderr
    assert name in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()  # nothing written
    return result.stderr


def test_a_fifo_named_as_trusted_root_is_refused_not_read(snapshot: Path, tmp_path: Path) -> None:
    meta = json.loads((snapshot / "snapshot.json").read_text())
    _fifo(snapshot / "root.pem")
    meta["trusted_roots"] = ["root.pem"]
    (snapshot / "snapshot.json").write_text(json.dumps(meta))
    stderr = _audit_refuses(snapshot, tmp_path, "root.pem")
    assert "not a regular file" in stderr


@pytest.mark.parametrize(
    "name", ["ad.ldif", "exo-recipients.json", "entra-users.json", "smime-issuing-ca.sst", "snapshot.json"]
)
def test_a_fifo_in_place_of_an_export_is_refused(snapshot: Path, tmp_path: Path, name: str) -> None:
    _fifo(snapshot / name)
    assert "not a regular file" in _audit_refuses(snapshot, tmp_path, name)


def test_a_directory_in_place_of_an_export_is_refused(snapshot: Path, tmp_path: Path) -> None:
    (snapshot / "entra-users.json").unlink()
    (snapshot / "entra-users.json").mkdir()
    assert "directory" in _audit_refuses(snapshot, tmp_path, "entra-users.json")


def test_a_socket_or_device_in_place_of_an_export_is_refused(snapshot: Path) -> None:
    (snapshot / "exo-recipients.json").unlink()
    cwd = os.getcwd()
    os.chdir(snapshot)  # AF_UNIX paths are limited to about 100 bytes: bind by a relative name
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind("exo-recipients.json")
            with pytest.raises(InputError, match=r"exo-recipients\.json is a socket"):
                Snapshot(snapshot)
    finally:
        os.chdir(cwd)
    (snapshot / "exo-recipients.json").unlink()
    (snapshot / "exo-recipients.json").symlink_to("/dev/zero")  # a device, reached through a symlink
    with pytest.raises(InputError, match=r"exo-recipients\.json is a character device"):
        Snapshot(snapshot)


def test_a_trusted_root_symlinked_outside_the_snapshot_is_refused(snapshot: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.pem"
    outside.write_bytes(b"not inside")
    (snapshot / "root.pem").symlink_to(outside)
    meta = json.loads((snapshot / "snapshot.json").read_text())
    for roots in (["root.pem"], ["../elsewhere.pem"]):
        meta["trusted_roots"] = roots
        (snapshot / "snapshot.json").write_text(json.dumps(meta))
        with pytest.raises(InputError, match="outside the snapshot directory"):
            Snapshot(snapshot)


# -- names and error sentences -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _technical(text: str, port: int) -> list[str]:
    return [t for t in ("127.0.0.1", str(port), "SMIME_DOCTOR_", "ldaps://") if t in text]


def test_chat_answers_name_no_host_port_or_setting_when_the_dc_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from workers import jobs

    port = _closed_port()  # nothing listens there
    directory = live_ad_at(port, monkeypatch)
    caplog.set_level("INFO")
    try:
        for spec in (
            {"kind": "diagnose", "subject": "alice", "lang": "en"},
            {"kind": "diagnose", "subject": "*)(objectClass=*", "lang": "de"},
            {"kind": "encrypt_to", "sender": "bob@fabrikam.example", "recipient": "alice", "lang": "en"},
            {"kind": "plan_reset", "subject": "alice", "asker": "alice", "lang": "en"},
        ):
            caplog.clear()
            answer = jobs.answer_or_error(spec, directory)
            assert isinstance(answer, TextAnswer), answer
            text = answer.text
            assert text
            assert not _technical(text, port), (spec, text)
            assert "Active Directory" in text
            # the operator's detail is in the log: which DC, and why
            logged = "\n".join(r.getMessage() for r in caplog.records)
            assert f"127.0.0.1:{port}" in logged and "connection refused" in logged, logged

        # a 300-character name is refused in one line before any LDAP query: no connection attempt
        caplog.clear()
        connects_before = directory.ad.stats.setup_operations + directory.ad.stats.operations
        answer = jobs.answer_or_error({"kind": "diagnose", "subject": "a" * 300, "lang": "en"}, directory)
        assert isinstance(answer, TextAnswer), answer
        assert answer.text.startswith("That name is too long to look up (300 characters")
        assert "\n" not in answer.text and "a" * 40 not in answer.text
        assert not _technical(answer.text, port)
        assert directory.ad.stats.setup_operations + directory.ad.stats.operations == connects_before
        assert not [r for r in caplog.records if "connect_failed" in r.getMessage()]
    finally:
        directory.close()


def test_an_unreachable_dc_error_keeps_the_host_for_operators_only() -> None:
    from workers.errors import AdConnectionError, admin_text
    from workers.sources.ad import AdSettings, AdSource

    port = _closed_port()
    settings = AdSettings(
        servers=(f"ldaps://127.0.0.1:{port}",), user="svc", password="x", connect_timeout=1.0
    )
    with AdSource(settings) as src, pytest.raises(AdConnectionError) as err:
        src.find_user("alice")
    assert str(err.value) == "no domain controller could be reached (connection refused)"
    assert (
        err.value.admin_detail
        == f"no domain controller could be reached: 127.0.0.1:{port} (connection refused)"
    )
    assert f"127.0.0.1:{port}" in admin_text(err.value)
    err.match(f"reached: 127.0.0.1:{port}")  # the detail is an exception note: tracebacks show it


def test_a_sentence_naming_a_host_or_setting_never_reaches_a_user() -> None:
    """The chat boundary's safety net for sentences raised before this rule (or sent by a service)."""
    from workers.errors import AdAuthError, GraphError, InputError, user_sentence

    kerberos = AdAuthError(
        "Kerberos bind to 10.0.0.5:636 (service principal ldap/10.0.0.5) failed: check SMIME_DOCTOR_AD_KERBEROS_HOSTS"
    )
    assert user_sentence(kerberos).startswith("Active Directory could not answer this right now.")
    assert user_sentence(kerberos, "de").startswith("Active Directory konnte das gerade nicht beantworten.")
    graph = GraphError("GET https://graph.microsoft.com/v1.0/users failed")
    assert user_sentence(graph).startswith("Microsoft 365 could not answer this right now.")
    config = InputError("set SMIME_DOCTOR_M365_CERTIFICATE_FILE")
    assert user_sentence(config).startswith("This could not be answered right now.")
    plain = InputError(
        "no user named 'alice@contoso.example' (template 1.3.6.1.4.1.311.21.8) at 2026-11-20T08:00:00Z"
    )
    assert user_sentence(plain) == str(plain)


def test_clean_up_refusals_name_no_setting() -> None:
    from workers.errors import leaks_technical_detail
    from workers.remediation.execute import EXO_ONLY, SNAPSHOT_ONLY, TENANT_EXO_ONLY

    for message in (SNAPSHOT_ONLY, EXO_ONLY, TENANT_EXO_ONLY):
        for lang in ("en", "de"):
            assert "SMIME_DOCTOR_" not in message[lang] and not leaks_technical_detail(message[lang])
            assert message[lang].startswith(
                "Nichts wurde geändert" if lang == "de" else "Nothing was changed"
            )


def test_overlong_names_are_refused_before_any_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    from workers.errors import InvalidNameError, UnknownUserError
    from workers.sources import ad
    from workers.sources.parsing import MAX_NAME_LENGTH

    snap = Snapshot(DATA_DIR)
    with pytest.raises(InvalidNameError) as err:
        snap.find("x" * 100_000)  # near-match search over this would take minutes
    assert "\n" not in str(err.value) and len(str(err.value)) < 120
    with pytest.raises(UnknownUserError):
        snap.find("x" * MAX_NAME_LENGTH)  # at the bound: an ordinary unknown name
    with pytest.raises(InvalidNameError):
        ad.user_filter("y" * (MAX_NAME_LENGTH + 1))
    assert isinstance(err.value, UserLookupError)  # answered like an unknown name, not as a failure


def test_overlong_name_on_the_command_line_is_one_line_exit_2() -> None:
    result = cli("diagnose", "z" * 300, "--demo")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "too long" in result.stderr and "z" * 40 not in result.stderr


def test_filter_syntax_in_a_name_is_escaped() -> None:
    from workers.sources.ad import user_filter

    flt = user_filter("*)(objectClass=*")
    assert "(objectClass=*" not in flt
    assert "(sAMAccountName=\\2a\\29\\28objectClass=\\2a)" in flt
    assert flt.count("(") == flt.count(")")
