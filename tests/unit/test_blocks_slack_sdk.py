"""Every Block Kit message the bot sends passes slack_sdk's own models (lengths, required
fields, element types) — the demo tenant's reports for the person themself and for helpdesk,
in both languages, the audit, approval requests, and App Home."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.render.blocks import approval_blocks, home_view, render
from workers.answers import AuditAnswer, ReportAnswer
from workers.diagnosis import Engine
from workers.report import AuditSummary
from workers.sources.directory import open_directory


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    directory = open_directory(demo=True)
    engine = Engine(directory.tenant, directory.tenant.collected_at, lang="en")
    try:
        return [engine.diagnose(u, u.key).to_json() for u in directory.iter_users()]
    finally:
        engine.close()


def valid(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError where Slack would refuse it


@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_report_message_passes_slack_sdks_models(reports: list[dict[str, Any]], lang: str) -> None:
    for report in reports:
        for shown in (report, {**report, "audience": "self"}):
            message = render(ReportAnswer(shown), lang, viewer="helpdesk@contoso.example")
            for blocks in [message.blocks, *message.detail]:
                valid(blocks)


def test_audit_approval_and_home_pass_slack_sdks_models(reports: list[dict[str, Any]]) -> None:
    summary = AuditSummary()
    for report in reports:
        summary.add(report)
    for lang in ("en", "de"):
        valid(render(AuditAnswer(summary.to_json(), ()), lang).blocks)
        request = {
            "id": "R-0123456789abcdef01234567",
            "action": "prune_certificates",
            "requester": "ts.user",
            "target": "ts.user",
            "state": "pending",
            "expires": 1_795_945_055.0,
            "decisions": [],
            "plan": {"action": "prune_certificates", "target": "ts.user", "digest": "d", "changes": []},
        }
        valid(approval_blocks(request, lang)[0])
        home = home_view(
            lang, {"type": "report", "report": reports[0]}, 1_795_945_055.0, pending=[request] * 20
        )
        View(type="home", blocks=home["blocks"]).validate_json()
