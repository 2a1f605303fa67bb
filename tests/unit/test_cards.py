"""Adaptive Cards as a Teams user sees them: headline first, the next step as buttons, both
languages, long reports folded under Teams' size limit, approval cards without buttons once decided."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.render.cards import (
    APPROVE_VERB,
    MAX_CARD_BYTES,
    answer_card,
    answer_summary,
    approval_request_card,
    approval_update_card,
    size_of,
)
from handlers.types import ChatRequest
from tests.support.understanding import chat_core
from workers.answers import answer_from_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "diagnose", "stale.smime", "--demo", "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


@pytest.fixture(scope="module")
def report_de() -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "diagnose",
            "stale.smime",
            "--demo",
            "--format",
            "json",
            "--lang",
            "de",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def texts(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card["body"] if b["type"] == "TextBlock"]


def test_report_card_leads_with_the_headline(report: dict[str, Any]) -> None:
    card = answer_card(answer_from_json({"type": "report", "report": report}), "en")
    assert card is not None and card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    head = card["body"][0]
    assert (
        head["text"] == "✗ " + report["headline"]
        and head["color"] == "attention"
        and head["weight"] == "Bolder"
    )
    assert texts(card)[2] == "What to do"
    assert size_of(card) <= MAX_CARD_BYTES


def test_report_buttons_are_commands_the_bot_understands(
    report: dict[str, Any], report_de: dict[str, Any]
) -> None:
    for rep, lang in ((report, "en"), (report_de, "de")):
        card = answer_card(answer_from_json({"type": "report", "report": rep}), lang)
        assert card is not None
        said = [a["data"]["msteams"]["text"] for a in card["actions"]]
        core = chat_core()
        replies = [
            core.handle(ChatRequest("console", "adele.vance", s, {"session": s}, None, "r")) for s in said
        ]
        kinds = [r.intent.kind if r.intent else None for r in replies]
        assert kinds[0] == "diagnose" and "explain" in kinds and kinds[-1] == "help"
        assert all(r.lang == lang for r in replies)


def test_german_report_card(report_de: dict[str, Any]) -> None:
    card = answer_card(answer_from_json({"type": "report", "report": report_de}), "de")
    assert card is not None
    assert card["body"][0]["text"].startswith("✗ Nein")
    assert "Was zu tun ist" in texts(card)
    assert card["actions"][0]["title"] == "Erneut prüfen"


def test_long_reports_are_folded_to_fit(report: dict[str, Any]) -> None:
    big = copy.deepcopy(report)
    finding = next(f for f in big["findings"] if f["status"] == "fail")
    big["findings"] = [
        {
            **finding,
            "check": "cert.validity",
            "title": f"Problem {i}",
            "detail": "x" * 1000,
            "remedy": "y" * 500,
        }
        for i in range(120)
    ]
    big["certificates"] = big["certificates"] * 40
    card = answer_card(answer_from_json({"type": "report", "report": big}), "en")
    assert card is not None
    assert size_of(card) <= MAX_CARD_BYTES
    assert card["body"][0]["text"].startswith("✗")  # the answer survives folding
    assert any("more not shown" in t and "smime-doctor diagnose" in t for t in texts(card))


def test_audit_and_text_answers() -> None:
    summary = {
        "users": 3,
        "verdicts": {"fail": 1, "pass": 2},
        "checks": [["cert.validity", 1]],
        "worst_users": [{"user": "a@x", "headline": "No"}],
    }
    card = answer_card(answer_from_json({"type": "audit", "summary": summary, "tenant": []}), "de")
    assert card is not None and texts(card)[0] == "Prüfung: 3 Benutzer"
    assert answer_card(answer_from_json({"type": "text", "text": "Hallo"}), "de") is None
    assert answer_summary(answer_from_json({"type": "text", "text": "Hallo"}), "de") == "Hallo"


REQUEST = {
    "id": "R-abc123",
    "action": "prune_certificates",
    "requester": "ts.user",
    "target": "ts.user",
    "plan": {
        "changes": [
            {
                "attribute": "ad.userCertificate",
                "sha256": "ab" * 32,
                "subject": "CN=Tom",
                "not_after": "2025-01-01T00:00:00Z",
                "reason": "superseded",
            }
        ]
    },
    "expires": 1_900_000_000,
    "state": "pending",
    "decisions": [],
}


def test_approval_card_carries_only_the_request_id() -> None:
    card = approval_request_card(REQUEST, "en")
    approve, deny = card["actions"]
    assert approve["type"] == "Action.Execute" and approve["verb"] == APPROVE_VERB
    assert approve["data"] == {"request_id": "R-abc123"}
    assert approve["fallback"] == {
        "type": "Action.Submit",
        "title": "Approve",
        "data": {"verb": APPROVE_VERB, "request_id": "R-abc123"},
        "style": "positive",
    }
    body = json.dumps(card)
    assert "ad.userCertificate" in body and "superseded" in body and "2030-03-17" in body  # plan and expiry


def test_decided_card_shows_who_and_has_no_buttons() -> None:
    decided = {
        **REQUEST,
        "state": "approved",
        "decisions": [
            {"actor": "alex.wilber", "display": "Alex Wilber", "approve": True, "at": 1_800_000_000}
        ],
    }
    card = approval_update_card(decided, "approved", "de")
    assert "actions" not in card
    assert any(t.startswith("✓ Freigegeben von Alex Wilber") for t in texts(card))


def test_teams_package(tmp_path: Path) -> None:
    app_id = "11111111-2222-3333-4444-555555555555"
    out = tmp_path / "app.zip"
    subprocess.run(
        [sys.executable, "scripts/teams_package.py", "--app-id", app_id, "--out", str(out)],
        cwd=ROOT,
        check=True,
    )
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["id"] == app_id and manifest["bots"][0]["botId"] == app_id
        assert z.read("color.png")[16:24] == (192).to_bytes(4, "big") * 2
        assert z.read("outline.png")[16:24] == (32).to_bytes(4, "big") * 2
    bad = subprocess.run(
        [sys.executable, "scripts/teams_package.py", "--app-id", "nope"], cwd=ROOT, capture_output=True
    )
    assert bad.returncode != 0


def _colours(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["color"]} if node.get("type") == "TextBlock" and "color" in node else set()
        return found.union(*(_colours(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_colours(v) for v in node))
    return set()


def test_text_colours_are_readable_on_teams_light_and_dark(
    report: dict[str, Any], report_de: dict[str, Any]
) -> None:
    """`warning` (1.47:1 on white) and `good` (2.07:1) never colour text; the symbols carry the status."""
    from workers.diagnosis import Engine
    from workers.sources.directory import open_directory

    directory = open_directory(demo=True)
    engine = Engine(directory.tenant, directory.tenant.collected_at, lang="en")
    used: set[str] = set()
    for user in directory.iter_users():
        rep = engine.diagnose(user, user.key).to_json()
        used |= _colours(answer_card(answer_from_json({"type": "report", "report": rep}), "en"))
    engine.close()
    used |= _colours(answer_card(answer_from_json({"type": "report", "report": report_de}), "de"))
    assert used and used <= {"default", "attention", "accent"}, used
