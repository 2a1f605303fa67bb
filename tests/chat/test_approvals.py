"""Approvals as approvers and requesters meet them: nothing is decided twice, by the wrong person,
after expiry, or lost when Redis restarts."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

import pytest
from redis import Redis

from handlers.approvals import Approvals
from handlers.identity import Person
from handlers.policy import Policy
from tests.chat.test_pipeline import chat
from tests.support.services import RedisServer, Workers
from tests.support.waiting import wait_until
from workers.config import Roles
from workers.plan_types import Change, Plan


def person(key: str, display: str | None = None) -> Person:
    return Person(
        key, f"{key}@contoso.example", display or key, frozenset({key, f"{key}@contoso.example"}), frozenset()
    )


ROLES = Roles.model_validate(
    {
        "approver": {"users": ["alex.wilber", "megan.bowen"]},
        "admin": {"users": ["diego.siciliani", "lynne.robbins"]},
    }
)
PLAN = Plan(
    action="prune_certificates",
    target="ts.user",
    changes=(Change(attribute="ad.userCertificate", sha256="ab", reason="expired"),),
    digest="d",
)


@pytest.fixture(params=["memory", "redis"])
def approvals(request: pytest.FixtureRequest) -> Approvals:
    if request.param == "memory":
        return Approvals(Policy(ROLES))
    url = request.getfixturevalue("redis_url")
    return Approvals(Policy(ROLES), Redis.from_url(url))


def test_requester_cannot_decide_and_non_approver_is_refused(approvals: Approvals) -> None:
    r = approvals.open("prune_certificates", person("ts.user"), "ts.user", PLAN, {}, "console")
    mine = approvals.decide(r.id, person("ts.user"), True)
    assert not mine.ok and "your own request" in mine.message["en"]
    stranger = approvals.decide(r.id, person("adele.vance"), True)
    assert not stranger.ok and "approver role" in stranger.message["en"]
    assert approvals.get(r.id).state == "pending"  # type: ignore[union-attr]
    ok = approvals.decide(r.id, person("alex.wilber", "Alex Wilber"), True)
    assert ok.ok and ok.state == "approved"
    replay = approvals.decide(r.id, person("megan.bowen"), False)
    assert not replay.ok and "already approved (Alex Wilber)" in replay.message["en"]


def test_forged_and_malformed_ids_find_nothing(approvals: Approvals) -> None:
    for forged in ("R-doesnotexist", "R-../../etc", "*", "", "x" * 500):
        outcome = approvals.decide(forged, person("alex.wilber"), True)
        assert not outcome.ok and outcome.request is None


def test_two_approvers_racing_yield_one_decision(approvals: Approvals) -> None:
    r = approvals.open("prune_certificates", person("ts.user"), "ts.user", PLAN, {}, "console")
    results = []
    barrier = threading.Barrier(8)

    def click(who: str, approve: bool) -> None:
        barrier.wait()
        results.append(approvals.decide(r.id, person(who), approve))

    threads = [
        threading.Thread(target=click, args=(w, i % 2 == 0))
        for i, w in enumerate(["alex.wilber", "megan.bowen"] * 4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for o in results if o.ok) == 1
    final = approvals.get(r.id)
    assert final is not None and final.state in ("approved", "denied") and len(final.decisions) == 1


def test_tenant_wide_upload_needs_two_distinct_admins(approvals: Approvals) -> None:
    plan = replace(PLAN, action="upload_issuing_ca", target="(tenant)")
    r = approvals.open("upload_issuing_ca", person("adele.vance"), "(tenant)", plan, {}, "console")
    assert not approvals.decide(r.id, person("alex.wilber"), True).ok  # an approver is not enough
    first = approvals.decide(r.id, person("diego.siciliani"), True)
    assert first.ok and first.state == "pending" and "1 more needed" in first.message["en"]
    again = approvals.decide(r.id, person("diego.siciliani"), True)
    assert not again.ok  # the same admin twice does not count twice
    second = approvals.decide(r.id, person("lynne.robbins"), True)
    assert second.ok and second.state == "approved"


def test_expired_requests_move_to_expired_and_refuse_decisions(approvals: Approvals) -> None:
    events: list[str] = []
    approvals.on_change = lambda req, event: events.append(event)
    approvals.ttl_s = 1
    r = approvals.open("prune_certificates", person("ts.user"), "ts.user", PLAN, {}, "console")
    time.sleep(1.2)
    outcome = approvals.decide(r.id, person("alex.wilber"), True)
    assert not outcome.ok and outcome.state == "expired"
    assert events == ["requested", "expired"]
    assert approvals.pending() == []


def test_pending_request_survives_a_redis_restart(redis_server: RedisServer) -> None:
    r0 = Redis.from_url(redis_server.url)
    r0.flushall()
    approvals = Approvals(Policy(ROLES), r0)
    request = approvals.open("prune_certificates", person("ts.user"), "ts.user", PLAN, {}, "console")
    redis_server.restart()  # AOF on: the request is still there afterwards
    after = Approvals(Policy(ROLES), Redis.from_url(redis_server.url))
    assert [p.id for p in after.pending()] == [request.id]
    assert after.decide(request.id, person("alex.wilber"), True).state == "approved"


def test_reset_request_end_to_end_through_workers(redis_url: str, workers: Workers) -> None:
    """A user with 20 autoenrolled certificates asks to reset: the plan names the 19 superseded ones,
    the requester cannot approve it, an approver can, and the requester is told."""
    workers.start(1)
    user, user_out = chat(redis_url, "ts.user")
    approver, approver_out = chat(redis_url, "alex.wilber")
    try:
        assert user.say("reset my published certs").reply.kind == "ack"
        text = user_out.getvalue()
        assert "remove 19 value(s), keep 1" in text and text.count("superseded by a newer certificate") == 19
        request_id = re.search(r"Request (R-[\w-]+) waits for an approver", text).group(1)  # type: ignore[union-attr]
        assert user.say(f"approve {request_id}").reply.kind == "refusal"
        approver.say("pending")
        assert request_id in approver_out.getvalue()
        assert approver.say(f"approve {request_id}").reply.kind == "answer"
        wait_until(lambda: "is now approved" in user_out.getvalue(), 10, "the requester to be told")
    finally:
        user.close()
        approver.close()
    assert f"Request {request_id} is now approved (Alex Wilber)." in user_out.getvalue()
    helpdesk, helpdesk_out = chat(redis_url, "adele.vance")
    try:
        helpdesk.say("history of ts.user")
    finally:
        helpdesk.close()
    history = helpdesk_out.getvalue()
    assert f"requested prune_certificates {request_id} (pending)" in history
    assert f"approved prune_certificates {request_id} (approved, by alex.wilber)" in history
    # the same trail on the command line, for the SIEM-minded admin
    import json as _json
    import os
    import subprocess
    import sys

    env = {**os.environ, "SMIME_DOCTOR_REDIS_URL": redis_url, "SMIME_DOCTOR_DEMO": "true"}
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit-log", "--user", "Tom Terminal", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    records = _json.loads(out.stdout)
    assert [r["event"] for r in records][:2] == ["requested", "approved"] and {
        r["request"] for r in records
    } == {request_id}
    later = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit-log", "--since", "2999-01-01T00:00:00Z"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert later.stdout.strip() == "no matching records"
    r = Redis.from_url(redis_url)
    events = [e[1][b"e"] for e in r.xrange("smime:audit")]
    assert any(b'"event": "requested"' in e for e in events) and any(
        b'"event": "approved"' in e for e in events
    )
    assert all(b"BEGIN CERTIFICATE" not in e and b"MII" not in e for e in events)  # digests, not certificates


def test_nothing_to_reset_opens_no_request(redis_url: str, workers: Workers) -> None:
    workers.start(1)
    c, out = chat(redis_url, "adele.vance")
    try:
        c.say("reset my published certs")
    finally:
        c.close()
    assert "Nothing to clean up for adele.vance@contoso.example." in out.getvalue()
    assert Approvals(Policy(ROLES), Redis.from_url(redis_url)).pending() == []


def test_one_pending_request_per_plan_asking_again_returns_the_open_one(approvals: Approvals) -> None:
    events: list[tuple[str, str]] = []
    approvals.on_change = lambda r, e: events.append((r.id, e))
    first = approvals.open("prune_certificates", person("ts.user"), "ts.user", PLAN, {}, "console")
    again = approvals.open("prune_certificates", person("ts.user"), "ts.user", replace(PLAN), {}, "slack")
    by_helpdesk = approvals.open(
        "prune_certificates", person("adele.vance"), "ts.user", replace(PLAN), {}, "teams"
    )
    assert first.id == again.id == by_helpdesk.id
    assert [e for e in events if e[1] == "requested"] == [(first.id, "requested")]
    assert [r.id for r in approvals.pending()] == [first.id]
    other = approvals.open(
        "prune_certificates", person("ts.user"), "ts.user", replace(PLAN, digest="e"), {}, "console"
    )
    assert other.id != first.id  # another plan is another request
    approvals.decide(first.id, person("alex.wilber"), False)
    fresh = approvals.open("prune_certificates", person("ts.user"), "ts.user", replace(PLAN), {}, "console")
    assert fresh.id not in (first.id, other.id) and fresh.state == "pending"  # the old one was decided


def test_the_same_approver_under_another_lookup_key_is_one_person(approvals: Approvals) -> None:
    """Keys differ by path (sAMAccountName via AD, address via Exchange Online); the canonical id does not."""
    guid = "ad:98cc6c71-43ba-5c0f-810b-6b62c472cea4"
    as_sam = Person("ts.user", "ts.user@contoso.example", "TS", frozenset({"ts.user"}), frozenset(), (guid,))
    as_smtp = Person(
        "ts.user@contoso.example",
        "ts.user@contoso.example",
        "TS",
        frozenset({"ts.user"}),
        frozenset(),
        (guid,),
    )
    roles = Roles.model_validate(
        {"approver": {"users": ["ts.user"]}, "admin": {"users": ["diego.siciliani"]}}
    )
    approvals.policy = Policy(roles)
    r = approvals.open("prune_certificates", as_sam, "ts.user", replace(PLAN, digest="self"), {}, "console")
    mine = approvals.decide(r.id, as_smtp, True)
    assert not mine.ok and "your own request" in mine.message["en"]
    d1 = Person(
        "diego.siciliani", None, "Diego", frozenset({"diego.siciliani"}), frozenset(), ("ad:d1", "upn:d@x")
    )
    d2 = Person("d@x", None, "Diego", frozenset({"diego.siciliani"}), frozenset(), ("entra:e1", "upn:d@x"))
    ca = approvals.open(
        "upload_issuing_ca",
        as_sam,
        "(tenant)",
        replace(PLAN, action="upload_issuing_ca", target="(tenant)", digest="ca"),
        {},
        "console",
    )
    assert approvals.decide(ca.id, d1, True).state == "pending"
    twice = approvals.decide(ca.id, d2, True)  # same UPN: the same admin, however they were found
    assert not twice.ok and "already approved" in twice.message["en"]
