"""workers/answers.py: the typed answers and their wire format on the outbox.

The JSON must not change (a worker and a bot of different versions share one Redis stream), so
every answer shape the producers built as a dict before the types existed round-trips to an
equal dict — same keys, same order, same bytes — and anything else reads as a sentence, never
as a KeyError in a renderer.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console import ConsoleTransport, render_answer
from bot.render.blocks import render
from bot.render.cards import answer_card, answer_summary
from workers.answers import (
    UNREADABLE,
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
    AuditAnswer,
    PlanAnswer,
    ReportAnswer,
    TextAnswer,
    answer_from_json,
    to_json,
)
from workers.approvals_store import ApprovalRequest
from workers.plan_types import Plan

REPORT: dict[str, Any] = {
    "headline": "No — the certificate has expired.",
    "subject": {"query": "stale.smime", "display_name": "Stella Stale", "primary_smtp": "s@contoso.example"},
    "evaluated_at": "2026-01-01T00:00:00Z",
    "findings": [
        {"check": "cert.validity", "status": "fail", "title": "Expired", "detail": "", "remedy": ""}
    ],
    "certificates": [],
}
PLAN: dict[str, Any] = {  # as workers/remediation/plan.py build_plan writes it
    "action": "prune_certificates",
    "target": "stale.smime",
    "target_display": "Stella Stale",
    "primary_smtp": "s@contoso.example",
    "dn": "CN=Stella Stale,OU=Users,DC=contoso,DC=example",
    "where": "ad",
    "changes": [
        {
            "attribute": "ad.userCertificate",
            "sha256": "ab" * 32,
            "subject": "CN=x",
            "emails": ["s@contoso.example"],
            "not_after": "2025-01-01",
            "reason": "expired 2025-01-01",
        }
    ],
    "keep": [],
    "before": {"ad.userCertificate": ["MAMCAQc="]},
    "digest": "0123456789abcdef",
    "usable_after": False,
}
REQUEST: dict[str, Any] = {
    "id": "R-0123abcd",
    "action": "prune_certificates",
    "requester": "stale.smime",
    "target": "stale.smime",
    "plan": PLAN,
    "state": "pending",
    "decisions": [],
}

# Each dict exactly as its producer built it before workers/answers.py (and an older worker still does).
LEGACY: dict[str, dict[str, Any]] = {
    "report (jobs: diagnose, encrypt_to)": {"type": "report", "report": REPORT},
    "audit (jobs)": {
        "type": "audit",
        "summary": {"users": 3, "verdicts": {"fail": 1}, "checks": [["cert.validity", 1]], "worst_users": []},
        "tenant": [{"check": "exo.smime_config", "status": "warn", "title": "SMIME config"}],
    },
    "plan (jobs: plan_reset, plan_action)": {
        "type": "plan",
        "plan": PLAN,
        "summary": "1 value would be removed.",
        "summaries": {"en": "1 value would be removed.", "de": "1 Wert würde entfernt."},
        "asker": "stale.smime",
    },
    "plan with its request (bot: App.open_plan)": {
        "type": "plan",
        "plan": PLAN,
        "summary": "1 value would be removed.",
        "summaries": {"en": "1 value would be removed.", "de": "1 Wert würde entfernt."},
        "asker": "stale.smime",
        "request": REQUEST,
    },
    "text: a name that matched several (jobs)": {
        "type": "text",
        "text": "Several people match 'alex'.",
        "candidates": ["alex.wilber", "alex.w"],
    },
    "text: a name that matched nobody (jobs)": {"type": "text", "text": "Nobody 'x'.", "candidates": []},
    "text: an error (jobs, InProcessQueue, on_job_failure)": {"type": "text", "text": "Sorry — no."},
    "text: news of a request (Notifier.tell_requester)": {
        "type": "text",
        "text": "Done.",
        "request_id": "R-0123abcd",
    },
    "approval_request (App.notify)": {"type": "approval_request", "request": REQUEST},
    "approval_update (Notifier)": {"type": "approval_update", "request": REQUEST, "event": "approved"},
}


@pytest.mark.parametrize("legacy", list(LEGACY.values()), ids=list(LEGACY))
def test_todays_dicts_round_trip_to_the_same_json(legacy: dict[str, Any]) -> None:
    answer = answer_from_json(json.loads(json.dumps(legacy)))  # as read from the stream
    assert not (isinstance(answer, TextAnswer) and answer.text == UNREADABLE)
    out = to_json(answer)
    assert out == legacy
    assert json.dumps(out, ensure_ascii=False) == json.dumps(legacy, ensure_ascii=False)  # key order too
    assert answer_from_json(out) == answer


def test_each_type_reads_into_its_class() -> None:
    kinds = {type(answer_from_json(d)) for d in LEGACY.values()}
    assert kinds == {
        ReportAnswer,
        AuditAnswer,
        PlanAnswer,
        TextAnswer,
        ApprovalRequestAnswer,
        ApprovalUpdateAnswer,
    }
    for d in LEGACY.values():
        assert answer_from_json(d).kind == d["type"]


def test_the_answers_are_frozen() -> None:
    answer = answer_from_json(LEGACY["plan (jobs: plan_reset, plan_action)"])
    assert isinstance(answer, PlanAnswer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        answer.asker = "someone.else"  # type: ignore[misc]
    opened = dataclasses.replace(answer, request=REQUEST)
    assert to_json(opened) == LEGACY["plan with its request (bot: App.open_plan)"]


def test_real_job_answers_keep_their_wire_format() -> None:
    """The demo tenant through the job code: what goes on the outbox reads back to the same JSON."""
    from workers.config import load_settings
    from workers.jobs import answer_or_error, compute_answer, directory_for

    directory = directory_for(load_settings(demo=True))
    specs = [
        ({"kind": "diagnose", "subject": "stale.smime", "lang": "en"}, ReportAnswer, ["type", "report"]),
        (
            {"kind": "plan_reset", "subject": "stale.smime", "asker": "stale.smime", "lang": "de"},
            PlanAnswer,
            ["type", "plan", "summary", "summaries", "asker"],
        ),
        (
            {"kind": "diagnose", "subject": "nobody.here", "lang": "en"},
            TextAnswer,
            ["type", "text", "candidates"],
        ),
    ]
    for spec, cls, keys in specs:
        assert isinstance(compute_answer(spec, directory), cls)
        answer = answer_or_error(spec, directory)  # typed; its JSON is made for the outbox
        assert isinstance(answer, cls)
        wire = json.loads(json.dumps(to_json(answer), ensure_ascii=False))
        assert list(wire) == keys
        assert to_json(answer_from_json(wire)) == wire
        assert answer_from_json(wire) == answer


class _Outbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def publish(self, message: dict[str, Any], stream: str | None = None) -> None:
        self.messages.append(json.loads(json.dumps(message)))


def test_the_notifier_publishes_todays_json() -> None:
    from workers.config import load_settings
    from workers.notify import Notifier

    settings = load_settings(approvers_targets=[{"platform": "console", "session": "approvers"}])
    outbox = _Outbox()
    request = ApprovalRequest(
        id="R-0123abcd",
        action="prune_certificates",
        requester="stale.smime",
        target="stale.smime",
        plan=Plan.from_json(PLAN),
        notify={"platform": "console", "session": "requester", "lang": "de"},
        platform="console",
        created=1.0,
        expires=2.0,
    )
    notifier = Notifier(settings, outbox, None)
    notifier(request, "approved")
    notifier.tell_requester(request, "done", {"en": "Done.", "de": "Erledigt."})
    answers = [m["answer"] for m in outbox.messages]
    assert answers[:2] == [{"type": "approval_update", "request": request.to_json(), "event": "approved"}] * 2
    assert answers[0]["request"]["plan"] == PLAN  # the plan inside, as it always was
    assert answers[2] == {"type": "text", "text": "Erledigt.", "request_id": "R-0123abcd"}
    assert all(list(a) == list(to_json(answer_from_json(a))) for a in answers)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "report",
        ["type", "report"],
        {},
        {"type": None},
        {"type": 7},
        {"type": "report"},  # no report
        {"type": "report", "report": "No — expired."},
        {"type": "audit", "summary": [1, 2]},
        {"type": "audit", "summary": {}, "tenant": ["warn"]},
        {"type": "plan", "plan": ["x"]},
        {"type": "plan", "summaries": {"en": 3}},
        {"type": "plan", "summary": "no plan"},  # a plan answer carries a plan
        {"type": "plan", "plan": {}},
        {"type": "plan", "plan": {**PLAN, "changes": [{"attribute": "ad.userCertificate"}]}},
        {"type": "plan", "plan": {**PLAN, "where": "moon"}},
        {"type": "text"},
        {"type": "text", "text": 42},
        {"type": "text", "text": "hi", "candidates": "alex"},
        {"type": "text", "text": "hi", "request_id": 5},
        {"type": "approval_request"},
        {"type": "approval_update", "request": "R-1"},
        {"type": "approval_update", "request": {}, "event": 1},
        {"type": "something_new"},
    ],
)
def test_unknown_or_malformed_data_is_a_sentence(data: Any) -> None:
    answer = answer_from_json(data)
    assert answer == TextAnswer(UNREADABLE)
    # and every renderer shows that sentence instead of failing
    assert UNREADABLE in render(answer).text
    assert answer_card(answer) is None and UNREADABLE.split(" — ")[0] in answer_summary(answer)
    assert render_answer(answer, "en") == UNREADABLE


def test_an_unknown_type_from_a_newer_worker_shows_its_text() -> None:
    assert answer_from_json({"type": "poll", "text": "Pick one", "options": [1]}) == TextAnswer("Pick one")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
TYPES = st.sampled_from(["report", "audit", "plan", "text", "approval_request", "approval_update", "x"])
FIELDS = st.sampled_from(
    [
        "report",
        "summary",
        "tenant",
        "plan",
        "summaries",
        "asker",
        "request",
        "text",
        "candidates",
        "request_id",
        "event",
    ]
)


@settings(max_examples=300, deadline=None)
@given(kind=TYPES, fields=st.dictionaries(FIELDS, JSONISH, max_size=5))
def test_reading_any_json_never_raises_and_is_stable(kind: str, fields: dict[str, Any]) -> None:
    answer = answer_from_json({"type": kind, **fields})
    again = answer_from_json(json.loads(json.dumps(to_json(answer))))
    assert again == answer and to_json(again) == to_json(answer)


def test_render_takes_typed_answers_only() -> None:
    """The JSON is read where it arrives (answer_from_json); blocks.render takes the typed answer."""
    legacy = LEGACY["approval_update (Notifier)"]
    with pytest.raises(AssertionError):
        render(legacy, "en")  # type: ignore[arg-type]


def test_a_slack_click_shows_the_decided_request_as_an_approval_update() -> None:
    """bot/slack/approvals.py renders the decided request as a typed ApprovalUpdateAnswer: the same
    message the approval_update JSON of the Notifier renders to."""
    from bot.slack.approvals import ApprovalClicks
    from handlers.approvals import Outcome
    from workers.config import load_settings

    request = ApprovalRequest(
        id="R-0123abcd",
        action="prune_certificates",
        requester="stale.smime",
        target="stale.smime",
        plan=Plan.from_json(PLAN),
        notify={},
        platform="slack",
        created=1.0,
        expires=2.0,
        state="approved",
        decisions=[{"actor": "alex.wilber", "display": "Alex Wilber", "approve": True, "at": 1.5}],
    )
    calls: list[tuple[str, dict[str, Any]]] = []

    class Core:
        settings = load_settings(lang="en")

        def decide(self, **_: Any) -> Outcome:
            return Outcome(
                True, "approved", {"en": "Request approved.", "de": "Antrag freigegeben."}, request
            )

    class Recorder:
        def __getattr__(self, name: str) -> Any:
            return lambda *args, **kwargs: calls.append((name, kwargs if kwargs else {"args": args}))

    class People:
        def profile(self, user: str) -> Any:
            return type("Profile", (), {"locale": None})()

    body = {"user": {"id": "U1"}, "channel": {"id": "C1"}, "message": {"ts": "1.2"}}
    ApprovalClicks(Core(), Recorder(), People(), Recorder(), None).click(body, {"value": request.id}, True)
    shared = render(
        answer_from_json({"type": "approval_update", "request": request.to_json(), "event": "approved"}), "en"
    )
    assert calls[0] == (
        "chat_update",
        {"channel": "C1", "ts": "1.2", "text": shared.text, "blocks": shared.blocks},
    )
    assert calls[1] == ("add_approval_message", {"args": (request.id, "C1", "1.2")})
    assert "Approved by Alex Wilber" in json.dumps(shared.blocks)


def test_the_console_transport_reads_the_outbox_json() -> None:
    out = io.StringIO()
    transport = ConsoleTransport(out, "s1")
    target = {"platform": "console", "session": "s1", "target_id": "t1", "lang": "en"}
    transport.deliver(target, LEGACY["text: a name that matched several (jobs)"])
    transport.deliver({**target, "target_id": "t2"}, {"type": "report"})
    assert out.getvalue() == f"bot> Several people match 'alex'.\n\nbot> {UNREADABLE}\n\n"
