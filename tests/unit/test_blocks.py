"""Block Kit rendering: what a Slack user sees first, and that Slack accepts every message
(50 blocks, 3000 characters a section, 10 context elements), however long the report."""

from __future__ import annotations

import json
from typing import Any

from bot.render.blocks import (
    APPROVE,
    DENY,
    MAX_BLOCKS,
    approval_blocks,
    esc,
    home_view,
    render,
)
from workers.answers import answer_from_json


def finding(status: str, check: str, title: str, **kw: Any) -> dict[str, Any]:
    return {
        "check": check,
        "status": status,
        "certificate": None,
        "title": title,
        "detail": kw.get("detail", f"{title} — detail"),
        "remedy": kw.get("remedy", f"fix {title}"),
        "evidence": {},
    }


def report(
    findings: list[dict[str, Any]], certs: int = 2, headline: str = "No — a@contoso.example: broken."
) -> dict[str, Any]:
    return {
        "type": "report",
        "report": {
            "schema": 1,
            "kind": "diagnosis",
            "evaluated_at": "2026-11-20T06:00:00Z",
            "subject": {"query": "a", "primary_smtp": "a@contoso.example", "display_name": "Ann A"},
            "sender": None,
            "verdict": "fail",
            "headline": headline,
            "findings": findings,
            "certificates": [
                {
                    "sha256": f"{i:064x}",
                    "emails": ["a@contoso.example"],
                    "not_before": "2025-01-01T00:00:00Z",
                    "not_after": "2027-01-01T00:00:00Z",
                    "locations": ["ad.userCertificate"],
                }
                for i in range(certs)
            ],
            "outlook_choice": {"attribute": "ad.userSMIMECertificate", "certificate": f"{0:064x}"},
        },
    }


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out.extend(e["text"] for e in b.get("elements", []) if isinstance(e.get("text"), str))
    return out


def assert_within_limits(blocks: list[dict[str, Any]], max_blocks: int = MAX_BLOCKS) -> None:
    assert len(blocks) <= max_blocks
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
        if b["type"] == "context":
            assert len(b["elements"]) <= 10
            assert all(len(e["text"]) <= 2000 for e in b["elements"])
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150
        if b["type"] == "actions":
            assert all(len(e["text"]["text"]) <= 75 for e in b["elements"])


def test_headline_first_then_findings_by_severity_with_remedies() -> None:
    m = render(
        answer_from_json(
            report(
                [
                    finding("warn", "publish.clutter", "Clutter"),
                    finding("pass", "cert.parse", "Readable"),
                    finding("fail", "cert.validity", "Expired"),
                    finding("info", "cert.template", "Template noted"),
                ]
            )
        ),
        "en",
    )
    t = texts(m.blocks)
    assert t[0] == ":x: *No — a@contoso.example: broken.*"
    assert m.text == "No — a@contoso.example: broken."
    order = [
        i for i, x in enumerate(t) if x.startswith(("*Must be fixed*", "*Should be fixed*", "*Good to know*"))
    ]
    assert [t[i].split("*")[1] for i in order] == ["Must be fixed", "Should be fixed", "Good to know"]
    expired = next(x for x in t if "*Expired*" in x)
    assert "fix Expired" in expired and ":arrow_right:" in expired
    assert not any("Readable" in x for x in t)  # passes are counted, not listed
    assert any("1 checks passed" in x for x in t)
    certs = next(b for b in m.blocks if b["type"] == "context" and "Certificates" in b["elements"][0]["text"])
    assert ":arrow_right:" in certs["elements"][1]["text"]  # the one Outlook picks
    actions = m.blocks[-1]
    assert [e["action_id"] for e in actions["elements"]] == [
        "smime_check_again",
        "smime_why_me",
        "smime_reset",
    ]
    assert "confirm" in actions["elements"][2]  # the destructive one asks first


def test_german_labels() -> None:
    m = render(
        answer_from_json(report([finding("fail", "cert.validity", "Abgelaufen")], headline="Nein — kaputt.")),
        "de",
    )
    joined = json.dumps(m.blocks, ensure_ascii=False)
    assert "Muss behoben werden" in joined and "Erneut prüfen" in joined and "Prüfungen bestanden" in joined


def test_a_huge_report_folds_into_a_summary_and_thread_detail_within_limits() -> None:
    many = [finding("fail", f"cert.c{i}", f"Problem {i}", detail="x" * 5000) for i in range(180)]
    m = render(answer_from_json(report(many, certs=30)), "en")
    assert_within_limits(m.blocks)
    assert m.blocks[0]["text"]["text"].startswith(":x: *No")  # the headline survives folding
    assert m.blocks[-1]["type"] == "actions"  # and so do the next steps
    assert "more — the full detail is in the thread" in json.dumps(m.blocks, ensure_ascii=False)
    assert m.detail and all(len(chunk) <= MAX_BLOCKS for chunk in m.detail)
    for chunk in m.detail:
        assert_within_limits(chunk)
    shown = sum(1 for x in texts(m.blocks + [b for c in m.detail for b in c]) if "*Problem " in x)
    assert shown == 180  # nothing is lost, only moved to the thread


def test_directory_text_cannot_mention_or_link() -> None:
    evil = "<!channel> <@U123> <https://evil.example|click> & co"
    m = render(answer_from_json(report([finding("fail", "cert.validity", evil)], headline=evil)), "en")
    raw = json.dumps(m.blocks)
    assert "<!channel>" not in raw and "<@U123>" not in raw and "<https://" not in raw
    assert esc(evil) in m.blocks[0]["text"]["text"]
    text_answer = render(
        answer_from_json({"type": "text", "text": "<!here> hi", "candidates": ["<@U1>"]}), "en"
    )
    assert "<!here>" not in json.dumps(text_answer.blocks) and "<@U1>" not in json.dumps(text_answer.blocks)


def test_audit_summary() -> None:
    answer = {
        "type": "audit",
        "summary": {
            "users": 43,
            "verdicts": {"fail": 25, "warn": 10, "info": 8},
            "checks": [["publish.clutter", 7]],
            "worst_users": [
                {"user": f"u{i}@contoso.example", "headline": "No — broken"} for i in range(2000)
            ],
        },
        "tenant": [finding("warn", "exo.smime_config", "SMIME config")],
    }
    m = render(answer_from_json(answer), "en")
    assert m.blocks[0]["text"]["text"] == "*Audit: 43 users — 25 fail, 10 warn, 8 ok*"
    assert_within_limits(m.blocks)
    assert m.detail  # 2000 users do not fit one message


REQUEST: dict[str, Any] = {
    "id": "R-abc123",
    "action": "prune_certificates",
    "requester": "stale.smime",
    "target": "stale.smime",
    "plan": {
        "action": "prune_certificates",
        "target": "stale.smime",
        "digest": "0123456789abcdef",
        "changes": [
            {
                "attribute": "ad.userSMIMECertificate",
                "sha256": "c0db7c" + "0" * 58,
                "subject": "CN=Stella Stale",
                "not_after": "2025-10-02",
                "reason": "expired 2025-10-02",
            }
        ],
    },
    "expires": 1_795_945_055,
    "state": "pending",
    "decisions": [],
}


def test_approval_request_shows_the_preview_and_buttons_carry_only_the_id() -> None:
    blocks, text = approval_blocks(REQUEST, "en")
    joined = json.dumps(blocks)
    assert (
        "ad.userSMIMECertificate" in joined
        and "expired 2025-10-02" in joined
        and "<!date^1795945055^" in joined
    )
    assert "|2026-11-29 09:37 UTC>" in joined and "|1795945055" not in joined  # the fallback is a date
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [APPROVE, DENY]
    assert [b["value"] for b in buttons] == ["R-abc123", "R-abc123"]
    assert all(b["confirm"]["title"]["text"] for b in buttons)
    assert_within_limits(blocks)


def test_a_decided_request_shows_who_decided_and_has_no_buttons() -> None:
    decided: dict[str, Any] = {
        **REQUEST,
        "state": "approved",
        "decisions": [{"actor": "alex.wilber", "display": "Alex Wilber", "approve": True, "at": 1}],
    }
    m = render(answer_from_json({"type": "approval_update", "request": decided, "event": "approved"}), "en")
    assert not [b for b in m.blocks if b["type"] == "actions"]
    assert "Approved by Alex Wilber" in json.dumps(m.blocks)
    denied = {**decided, "state": "denied", "decisions": [{**decided["decisions"][0], "approve": False}]}
    assert "Abgelehnt von Alex Wilber" in json.dumps(
        render(answer_from_json({"type": "approval_update", "request": denied}), "de").blocks,
        ensure_ascii=False,
    )


def test_plan_to_the_requester_names_the_request() -> None:
    answer = {
        "type": "plan",
        "plan": REQUEST["plan"],
        "summary": "1 value would be removed.",
        "summaries": {"en": "1 value would be removed.", "de": "1 Wert würde entfernt."},
        "request": REQUEST,
    }
    m = render(answer_from_json(answer), "de")
    joined = json.dumps(m.blocks, ensure_ascii=False)
    assert m.blocks[0]["text"]["text"] == "1 Wert würde entfernt." and "R-abc123" in joined


def test_home_view_within_limits_with_status_buttons_and_pending_work() -> None:
    many = [finding("fail", f"cert.c{i}", f"Problem {i}") for i in range(120)]
    view = home_view("en", report(many), 1_795_945_055.0, pending=[REQUEST] * 30)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    joined = json.dumps(view)
    assert (
        "Your S/MIME certificate" in joined
        and "smime_check_again" in joined
        and "Approvals waiting" in joined
    )
    assert "more waiting" in joined  # the queue says what it leaves out instead of being cut
    recent = [{"request": "R-x", "action": "prune_certificates", "target": "t", "state": "done", "at": "now"}]
    crowded = home_view("en", report(many), None, pending=[REQUEST] * 30, recent=recent)
    assert len(crowded["blocks"]) <= 100 and "R-x" in json.dumps(crowded)  # recent requests kept their place
    empty = home_view("de", None, None)
    assert "Noch keine Diagnose" in json.dumps(empty, ensure_ascii=False)
    error = home_view("en", None, None, error="no directory user matches ghost@contoso.example")
    assert "ghost@contoso.example" in json.dumps(error) and "smime_reset" not in json.dumps(error)


def test_app_home_lists_recent_requests_with_their_latest_state() -> None:
    from bot.render.blocks import home_view

    recent = [
        {
            "request": "R-abc",
            "action": "prune_certificates",
            "target": "ts.user",
            "state": "done",
            "at": "2026-11-28T10:00:00Z",
        },
        {
            "request": "R-def",
            "action": "undo",
            "target": "ts.user",
            "state": "pending",
            "at": "2026-11-28T10:05:00Z",
        },
    ]
    view = home_view("de", None, None, None, None, recent)
    text = json.dumps(view, ensure_ascii=False)
    assert (
        "Letzte Anträge" in text and "`R-abc` prune_certificates — ts.user: *erledigt*" in text
    )  # the state in German
    assert "Recent requests" not in json.dumps(home_view("en", None, None, None, None, []))


def test_a_clipped_section_never_ends_inside_an_entity_or_a_token() -> None:
    """A long hostile detail is cut before a half `&amp;` or `<!date…>`, never inside it."""
    for detail in ("&" * 4000, "*" * 400, "<@U1>" * 800):
        m = render(answer_from_json(report([finding("fail", "cert.expired", "X", detail=detail)])), "en")
        for b in m.blocks + [b for d in m.detail for b in d]:
            if b["type"] == "section":
                text = b["text"]["text"]
                assert len(text) <= 3000 and text.count("<") == text.count(">")
                assert text.rfind("&") < text.rfind(";") or "&" not in text


def _buttons(message_blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    actions = [b for b in message_blocks if b["type"] == "actions" and b.get("block_id") == "smime_next"]
    return [(e["action_id"], e["value"]) for a in actions for e in a["elements"]]


def test_buttons_on_someone_elses_report_act_on_that_person_never_on_the_reader() -> None:
    answer = answer_from_json(report([finding("fail", "publish.ad_present", "broken")]))
    own = _buttons(render(answer, "en", again="status", viewer="A@contoso.example").blocks)
    assert ("smime_reset", "self") in own and ("smime_why_me", "self") in own  # her own report
    helpdesk = _buttons(render(answer, "en", again="check a", viewer="helpdesk@contoso.example").blocks)
    assert helpdesk == [("smime_check_again", "check a"), ("smime_history", "history of a@contoso.example")]
    german = _buttons(render(answer, "de", again="", viewer="helpdesk@contoso.example").blocks)
    assert german == [
        ("smime_check_again", "check a@contoso.example"),
        ("smime_history", "verlauf von a@contoso.example"),
    ]


def test_many_certificates_say_how_many_are_not_shown() -> None:
    message = render(
        answer_from_json(report([finding("fail", "publish.ad_present", "broken")], certs=20)), "en"
    )
    facts = [b for b in message.blocks if b["type"] == "context" and "Certificates" in json.dumps(b)]
    assert facts and len(facts[0]["elements"]) <= 10
    assert "+12 more certificates" in json.dumps(facts[0])  # 8 shown of 20
