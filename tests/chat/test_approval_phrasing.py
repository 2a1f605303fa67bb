"""Approvers decide the way they talk: by id, by who asked, with a reason that reaches the requester."""

from __future__ import annotations

import pytest

from bot.console import render_answer
from bot.render.blocks import approval_state_line
from handlers.chat import Dispatcher
from handlers.types import ChatRequest, Reply
from tests.support.understanding import chat_core
from workers.answers import ApprovalUpdateAnswer
from workers.plan_types import Change, Plan


def plan_for(target: str, sha: str) -> Plan:
    return Plan(
        action="prune_certificates",
        target=target,
        changes=(Change(attribute="ad.userCertificate", sha256=sha, reason="expired"),),
        digest=sha,
    )


@pytest.fixture
def core() -> Dispatcher:
    return chat_core()


def open_for(core: Dispatcher, who: str, sha: str) -> str:
    requester = core.identity.resolve("console", who)
    request = core.approvals.open(
        "prune_certificates", requester, requester.key, plan_for(requester.key, sha), {}, "console"
    )
    return str(request.id)


def ask(core: Dispatcher, who: str, text: str, session: str = "s") -> Reply:
    return core.handle(ChatRequest("console", who, text, {"session": session}, None, "r"))


def test_approve_the_request_from_someone_when_exactly_one_is_pending(core: Dispatcher) -> None:
    rid = open_for(core, "stale.smime", "aa")
    reply = ask(core, "alex.wilber", "approve the request from stella")
    assert reply.kind == "answer" and reply.intent is not None and reply.intent.request_id == rid
    assert core.approvals.get(rid).state == "approved"


def test_with_two_pending_the_approver_is_asked_which_and_picks_by_number(core: Dispatcher) -> None:
    first, second = open_for(core, "stale.smime", "aa"), open_for(core, "stale.smime", "bb")
    question = ask(core, "alex.wilber", "genehmige den Antrag von Stella", "q")
    assert question.kind == "question" and first in question.text and second in question.text
    assert ask(core, "alex.wilber", "2", "q").kind == "answer"
    assert core.approvals.get(second).state == "approved" and core.approvals.get(first).state == "pending"


def test_nothing_pending_from_that_person_is_said_so(core: Dispatcher) -> None:
    open_for(core, "stale.smime", "aa")
    reply = ask(core, "alex.wilber", "approve toms request")
    assert reply.kind == "answer" and "Nothing from ts.user@contoso.example waits" in reply.text


def test_a_denial_reason_is_kept_and_shown_to_the_requester(core: Dispatcher) -> None:
    rid = open_for(core, "stale.smime", "aa")
    reply = ask(core, "alex.wilber", f"deny {rid} because the old certificate is still needed")
    assert reply.kind == "answer"
    request = core.approvals.get(rid)
    assert (
        request.state == "denied" and request.decisions[-1]["reason"] == "the old certificate is still needed"
    )
    shown = render_answer(ApprovalUpdateAnswer(request.to_json(), "denied"), "en")
    assert "Reason: the old certificate is still needed" in shown
    assert "Grund: the old certificate is still needed" in approval_state_line(request.to_json(), "de")


def test_the_requester_may_not_decide_by_name_either(core: Dispatcher) -> None:
    rid = open_for(core, "alex.wilber", "aa")  # the approver's own request
    reply = ask(core, "alex.wilber", "approve the request from alex")
    assert reply.kind == "answer" and "Nothing from alex.wilber@contoso.example waits" in reply.text
    assert core.approvals.get(rid).state == "pending"
