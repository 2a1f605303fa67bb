"""`smime-doctor chat --script FILE --format jsonl`: one JSON object per input line, in order, on
the bundled demo tenant with no services — the contract the understanding is measured by."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """\
is my cert published?
# comments and blank lines are not turns

wann läuft mein Zertifikat ab?
why cant alex send me encrypted mail
and diego?
check carl
2
what is s/mime?
"""


def chat(tmp_path: Path, *args: str, script: str = SCRIPT) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.txt"
    path.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMIME_DOCTOR_")}  # the embedded default
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--script", str(path), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_one_json_object_per_input_line_in_order(tmp_path: Path) -> None:
    done = chat(tmp_path, "--as", "adele.vance", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    turns = [json.loads(line) for line in done.stdout.splitlines()]
    inputs = [line for line in SCRIPT.splitlines() if line.strip() and not line.startswith("#")]
    assert [t["input"] for t in turns] == inputs
    for t in turns:
        assert {"input", "intent", "subject", "sender", "request_id", "lang", "text"} <= t.keys() and t[
            "text"
        ]
    me, carla = "adele.vance@contoso.example", "ca.true@contoso.example"
    got = [(t["intent"], t["subject"], t["sender"], t["lang"]) for t in turns]
    assert got == [
        ("diagnose", me, None, "en"),
        ("diagnose", me, None, "de"),
        ("why_cant_encrypt", me, "alex.wilber@contoso.example", "en"),
        ("why_cant_encrypt", me, "diego.siciliani@contoso.example", "en"),
        ("clarify", None, None, "en"),
        ("diagnose", carla, None, "en"),
        ("about", None, None, "en"),
    ]
    assert turns[1]["focus"] == "expiry" and "gilt" in turns[1]["text"]  # the answer leads with the date
    assert "1. Carl Clientauth" in turns[4]["text"]
    # understood, then refused: without a configuration nobody holds the helpdesk role
    assert turns[5]["reply"] == "refusal" and "Only helpdesk staff" in turns[5]["text"]


def test_jsonl_without_a_script_is_a_clear_one_line_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--as", "x", "--format", "jsonl"],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "--script" in done.stderr
