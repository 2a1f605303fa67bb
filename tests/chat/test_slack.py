"""The Slack bot as a workspace meets it: the real Bolt app behind its HTTP endpoint, signed
requests, a local mock of the Slack Web API, real Redis and real RQ worker processes.

What people notice: only Slack can talk to the bot (bad or stale signatures, malformed
payloads go nowhere); a question is acknowledged at once and its "working on it" message
turns into the answer; Germans get German; reports never land in a channel; App Home shows
one's status; approvals are decided only by approvers, and everyone sees who decided.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from redis import Redis
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import SlackBot, build_slack
from bot.slack.config import SlackConfig
from bot.slack.http import make_http_server
from tests.chat.slack_mock import BOT_USER, MockSlack
from tests.support.services import ROOT, RedisServer, Workers, settled_jobs
from workers.config import load_settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVERS = "C0APPROVERS"
ROLES = {"helpdesk": {"users": ["adele.vance@contoso.example"]}, "approver": {"users": ["alex.wilber"]}}
USERS = {
    "U0STALE": {"email": "stale.smime@contoso.example", "locale": "en-US"},
    "U0NORA": {"email": "no.nickname@contoso.example", "locale": "de-DE"},
    "U0ADELE": {"email": "adele.vance@contoso.example", "locale": "en-GB"},
    "U0ALEX": {"email": "alex.wilber@contoso.example", "locale": "en-US"},
    "U0GHOST": {"email": "ghost@contoso.example", "locale": "en-US"},
}


class Slack:
    """The bot under test, its HTTP endpoint, and a way to send it signed requests."""

    def __init__(self, bot: SlackBot, api: MockSlack, port: int) -> None:
        self.bot = bot
        self.api = api
        self.url = f"http://127.0.0.1:{port}/slack/events"

    def post(
        self,
        body: str,
        content_type: str,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, float]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        h = {"Content-Type": content_type, **(headers or {})}
        if signed:
            h["X-Slack-Request-Timestamp"] = ts
            h["X-Slack-Signature"] = (
                SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
            )
        request = urllib.request.Request(self.url, data=body.encode(), headers=h, method="POST")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode(), time.perf_counter() - start
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), time.perf_counter() - start

    def command(self, user: str, text: str, channel: str = "C0GENERAL", **kw: Any) -> tuple[int, str, float]:
        form = {
            "token": "legacy-unused",
            "team_id": "T0TEST",
            "channel_id": channel,
            "user_id": user,
            "command": "/smime",
            "text": text,
            "response_url": "https://hooks.slack.invalid/commands/1",
            "trigger_id": f"trig-{time.monotonic_ns()}",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def event(self, event: dict[str, Any], event_id: str | None = None, **kw: Any) -> tuple[int, str, float]:
        body = {
            "token": "legacy-unused",
            "team_id": "T0TEST",
            "api_app_id": "A0SMIME",
            "type": "event_callback",
            "event_id": event_id or f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0TEST", "user_id": BOT_USER, "is_bot": True}],
            "event": event,
        }
        return self.post(json.dumps(body), "application/json", **kw)

    def dm(self, user: str, text: str, event_id: str | None = None, **kw: Any) -> tuple[int, str, float]:
        event = {
            "type": "message",
            "channel_type": "im",
            "channel": "D" + user[1:],
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
        }
        return self.event(event, event_id, **kw)

    def click(self, user: str, action_id: str, value: str, channel: str, ts: str) -> tuple[int, str, float]:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0TEST"},
            "user": {"id": user},
            "api_app_id": "A0SMIME",
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "container": {"type": "message", "channel_id": channel, "message_ts": ts},
            "channel": {"id": channel},
            "message": {"ts": ts, "text": "approval"},
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


@pytest.fixture()
def slack_api() -> Iterator[MockSlack]:
    api = MockSlack(dict(USERS)).start()
    yield api
    api.stop()


@pytest.fixture()
def slack(redis_url: str, slack_api: MockSlack) -> Iterator[Slack]:
    settings = load_settings(
        redis_url=redis_url,
        demo=True,
        roles=ROLES,
        approvers_targets=[{"platform": "slack", "channel": APPROVERS}],
    )
    config = SlackConfig(bot_token="xoxb-test-token", signing_secret=SECRET, api_url=slack_api.url)
    bot = build_slack(settings, config, consumer="slack-test")
    bot.core.delivery.start()
    server = make_http_server(bot.bolt, SECRET, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Slack(bot, slack_api, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        bot.close()


def section_texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for b in blocks:
        if b.get("text"):
            out.append(b["text"]["text"])
        out.extend(e.get("text", "") for e in b.get("elements", []) if isinstance(e.get("text"), str))
    return "\n".join(out)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def queued_jobs(redis_url: str) -> int:
    r = Redis.from_url(redis_url)
    return sum(int(r.llen(f"rq:queue:{q}")) for q in ("interactive", "bulk")) + len(r.keys("smime:job:*"))


def nothing_happened(s: Slack, redis_url: str) -> None:
    s.bot.wait_idle()
    assert [c.method for c in s.api.calls] == ["auth.test"]  # only Bolt's start-up check
    assert queued_jobs(redis_url) == 0


# -- only Slack gets in ----------------------------------------------------------------------


def test_wrong_missing_or_stale_signatures_are_rejected(slack: Slack, redis_url: str) -> None:
    assert slack.command("U0STALE", "status", secret="not-the-secret")[0] == 401
    assert slack.command("U0STALE", "status", signed=False)[0] == 401
    assert slack.command("U0STALE", "status", timestamp=int(time.time()) - 600)[0] == 401
    assert slack.dm("U0STALE", "status", secret="not-the-secret")[0] == 401
    nothing_happened(slack, redis_url)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('["a list"]', "application/json"),
        ('{"type": "event_callback", "event": {"type": "message"}}', "application/json"),  # no event_id
        ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ('payload={"type":"block_actions","actions":[]}', "application/x-www-form-urlencoded"),  # no user
        ("command=%2Fsmime&text=status&channel_id=C1", "application/x-www-form-urlencoded"),  # no user_id
        ("\xff\xfe", "application/x-www-form-urlencoded"),
    ],
)
def test_signed_but_malformed_payloads_get_400_and_nothing_else(
    slack: Slack, redis_url: str, body: str, content_type: str
) -> None:
    status, _, _ = slack.post(body, content_type)
    assert status == 400
    nothing_happened(slack, redis_url)


def test_url_verification_is_answered(slack: Slack) -> None:
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "token": "x",
        }
    )
    status, text, _ = slack.post(body, "application/json")
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


# -- questions and answers ---------------------------------------------------------------------


def test_slash_command_acks_at_once_and_the_working_message_becomes_the_answer(
    slack: Slack, redis_url: str, workers: Workers
) -> None:
    workers.start(1)
    status, body, elapsed = slack.command("U0STALE", "status")
    assert status == 200 and elapsed < 1.0
    assert "direct messages" in body  # the pointer rides on the ack, visible to the asker only
    working = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0STALE")[0]
    assert "one moment" in working.args["text"]
    update = slack.api.wait_for("chat.update", lambda c: c.args["ts"] == working.ts)[0]
    assert update.args["channel"] == "D0STALE"
    blocks = update.args["blocks"]
    assert blocks[0]["text"]["text"].startswith(":x: *No — stale.smime@contoso.example")
    # her own status: the short answer — why, what to do in chat, when it works
    assert "*Why:*" in section_texts(blocks) and "reset my published certs" in section_texts(blocks)
    assert action_ids(blocks) == ["smime_check_again", "smime_why_me", "smime_reset"]
    assert len(blocks) <= 50
    assert not slack.api.of(
        "chat.postMessage", lambda c: c.args["channel"] == "C0GENERAL"
    )  # never in the channel
    assert settled_jobs(redis_url, at_least=1) == 1  # a worker did the work


def test_helpdesk_viewing_someones_report_gets_buttons_for_that_person(
    slack: Slack, redis_url: str, workers: Workers
) -> None:
    """Never "reset my published certs" on Stella's report for the helpdesk person reading it."""
    workers.start(1)
    slack.dm("U0ADELE", "check stale.smime")
    working = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0ADELE")[0]
    update = slack.api.wait_for("chat.update", lambda c: c.args["ts"] == working.ts)[0]
    buttons = [e for b in update.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["value"]) for e in buttons] == [
        ("smime_check_again", "check stale.smime"),
        ("smime_history", "history of stale.smime@contoso.example"),
    ]


def test_direct_message_in_german_gets_a_german_answer_once_despite_retries(
    slack: Slack, workers: Workers
) -> None:
    workers.start(1)
    assert slack.dm("U0NORA", "ist mein Zertifikat veröffentlicht?", event_id="Ev0GERMAN")[0] == 200
    # Slack's retry of the same event (it thought the ack was lost) changes nothing
    retry = slack.dm(
        "U0NORA",
        "ist mein Zertifikat veröffentlicht?",
        event_id="Ev0GERMAN",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry[0] == 200
    working = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0NORA")
    assert "einen Moment" in working[0].args["text"]
    update = slack.api.wait_for("chat.update", lambda c: c.args["channel"] == "D0NORA")[0]
    text = section_texts(update.args["blocks"])
    assert "mailNickname" in text and "Erneut prüfen" in json.dumps(update.args["blocks"], ensure_ascii=False)
    slack.bot.wait_idle()
    time.sleep(0.5)
    assert len(slack.api.of("chat.postMessage", lambda c: c.args["channel"] == "D0NORA")) == 1


def test_mention_in_a_channel_answers_by_dm_and_leaves_only_a_private_pointer(
    slack: Slack, workers: Workers
) -> None:
    workers.start(1)
    event = {
        "type": "app_mention",
        "channel": "C0GENERAL",
        "user": "U0ADELE",
        "text": f"<@{BOT_USER}> check stale.smime",
        "ts": "1.000001",
    }
    assert slack.event(event)[0] == 200
    pointer = slack.api.wait_for("chat.postEphemeral", lambda c: c.args["channel"] == "C0GENERAL")[0]
    assert pointer.args["user"] == "U0ADELE" and "direct messages" in pointer.args["text"]
    update = slack.api.wait_for("chat.update", lambda c: c.args["channel"] == "D0ADELE")[0]
    assert "stale.smime@contoso.example" in update.args["blocks"][0]["text"]["text"]
    again = next(e for b in update.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert again["value"] == "check stale.smime"  # "check again" repeats the question (as whoever clicks)
    assert not slack.api.of("chat.postMessage", lambda c: c.args["channel"] == "C0GENERAL")


def test_a_slack_user_whose_email_matches_nobody_is_told_which_address_was_tried(
    slack: Slack, redis_url: str
) -> None:
    slack.dm("U0GHOST", "status")
    message = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0GHOST")[0]
    assert "ghost@contoso.example" in message.args["text"]
    slack.bot.wait_idle()
    assert queued_jobs(redis_url) == 0


def test_refusals_are_immediate_and_private(slack: Slack, redis_url: str) -> None:
    slack.command("U0STALE", "check adele.vance", channel="D0STALE")
    message = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0STALE")[0]
    assert "Only helpdesk staff" in message.args["text"]
    slack.bot.wait_idle()
    assert queued_jobs(redis_url) == 0


# -- App Home ----------------------------------------------------------------------------------


def test_app_home_shows_status_at_once_then_the_fresh_diagnosis(slack: Slack, workers: Workers) -> None:
    workers.start(1)
    event = {"type": "app_home_opened", "user": "U0STALE", "channel": "D0STALE", "tab": "home"}
    assert slack.event(event)[0] == 200
    first = slack.api.wait_for("views.publish")[0]
    assert first.args["user_id"] == "U0STALE"
    assert "No diagnosis yet" in section_texts(first.args["view"]["blocks"])
    second = slack.api.wait_for("views.publish", count=2)[1]
    blocks = second.args["view"]["blocks"]
    assert "No — stale.smime@contoso.example" in section_texts(blocks)
    assert "smime_reset" in action_ids(blocks) and "Approvals waiting" not in section_texts(blocks)
    # opened again: the cached diagnosis is there immediately, no new job
    slack.event(event)
    third = slack.api.wait_for("views.publish", count=3)[2]
    assert "No — stale.smime@contoso.example" in section_texts(third.args["view"]["blocks"])


def test_app_home_of_an_approver_lists_pending_approvals(slack: Slack) -> None:
    slack.event({"type": "app_home_opened", "user": "U0ALEX", "channel": "D0ALEX", "tab": "home"})
    view = slack.api.wait_for("views.publish", lambda c: c.args["user_id"] == "U0ALEX")[0].args["view"]
    assert "Approvals waiting" in json.dumps(view)


# -- approvals ---------------------------------------------------------------------------------


def test_approval_clicks_requester_and_non_approver_refused_approver_recorded(
    slack: Slack, workers: Workers
) -> None:
    workers.start(1)
    slack.dm("U0STALE", "reset my published certs")
    posted = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == APPROVERS)[0]
    request_id = next(
        e["value"] for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    assert request_id.startswith("R-")
    buttons = [e for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == ["smime_approve", "smime_deny"]
    assert all(
        b["value"] == request_id and "confirm" in b for b in buttons
    )  # only the opaque id, and a dialog
    assert "userSMIMECertificate" in section_texts(posted.args["blocks"])  # the preview
    ts = posted.ts
    # the requester sees the plan with its id
    plan = slack.api.wait_for("chat.update", lambda c: c.args["channel"] == "D0STALE")[0]
    assert request_id in section_texts(plan.args["blocks"])

    slack.click("U0STALE", "smime_approve", request_id, APPROVERS, ts)
    own = slack.api.wait_for("chat.postEphemeral", lambda c: c.args["user"] == "U0STALE")[0]
    assert "your own request" in own.args["text"]
    slack.click("U0ADELE", "smime_approve", request_id, APPROVERS, ts)
    stranger = slack.api.wait_for("chat.postEphemeral", lambda c: c.args["user"] == "U0ADELE")[0]
    assert "approver role" in stranger.args["text"]
    assert slack.bot.core.approvals.get(request_id).state == "pending"  # type: ignore[union-attr]
    assert not slack.api.of(
        "chat.update", lambda c: c.args["channel"] == APPROVERS
    )  # refusals change nothing

    slack.click("U0ALEX", "smime_approve", request_id, APPROVERS, ts)
    ok = slack.api.wait_for("chat.postEphemeral", lambda c: c.args["user"] == "U0ALEX")[0]
    assert "approved" in ok.args["text"].lower()
    updated = slack.api.wait_for(
        "chat.update",
        lambda c: (
            c.args["channel"] == APPROVERS and c.args["ts"] == ts and "Approved by" in json.dumps(c.args)
        ),
    )[0]
    assert "Approved by Alex Wilber" in section_texts(updated.args["blocks"])
    assert action_ids(updated.args["blocks"]) == []  # the buttons are gone
    told = slack.api.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == "D0STALE" and "Approved by" in json.dumps(c.args)
    )
    assert told


# -- resilience ----------------------------------------------------------------------------------


def test_rate_limited_web_api_calls_are_retried(slack: Slack) -> None:
    slack.api.fail_next["chat.postMessage"] = [
        (429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})
    ]
    slack.bot.transport.say("D0STALE", "hello")
    assert slack.api.of("chat.postMessage", lambda c: c.args["text"] == "hello")


def test_redis_outage_turns_the_working_message_into_a_polite_sentence(
    slack: Slack, redis_server: RedisServer
) -> None:
    redis_server.stop()
    try:
        status, _, elapsed = slack.dm("U0STALE", "status")
        assert status == 200 and elapsed < 1.0  # the ack does not wait for Redis
        update = slack.api.wait_for("chat.update", lambda c: c.args["channel"] == "D0STALE")[0]
        assert "unavailable" in update.args["text"]
    finally:
        redis_server.start()


# -- the manifest asks for exactly what the code uses --------------------------------------------


def manifest_list(key: str) -> set[str]:
    text = (ROOT / "deploy/slack/manifest.yml").read_text()
    block = re.search(rf"^\s*{key}:\n((?:\s+- .*\n)+)", text, re.M)
    assert block, key
    return {line.split("- ", 1)[1].split("#")[0].strip() for line in block.group(1).splitlines()}


def test_manifest_matches_the_code() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "bot/slack").glob("*.py"))
    events = set(re.findall(r'@bolt\.event\("(\w+)"\)', source))
    assert manifest_list("bot_events") == {"message.im" if e == "message" else e for e in events}
    methods = set(re.findall(r"client\.(\w+)\(", source))
    needs = {
        "chat_postMessage": "chat:write",
        "chat_update": "chat:write",
        "chat_postEphemeral": "chat:write",
        "conversations_open": "im:write",
        "users_info": "users:read.email",
        "views_publish": None,  # no scope needed beyond the App Home feature
    }
    assert methods <= set(needs), methods - set(needs)
    scopes = {needs[m] for m in methods if needs[m]} | {
        "commands",
        "im:history",
        "app_mentions:read",
        "users:read",
    }
    assert manifest_list("bot") == scopes
    text = (ROOT / "deploy/slack/manifest.yml").read_text()
    assert "socket_mode_enabled: true" in text and "command: /smime" in text and "is_enabled: true" in text


def test_next_step_button_asks_again_as_the_clicker(slack: Slack, redis_url: str) -> None:
    slack.click("U0STALE", "smime_check_again", "status", "D0STALE", "1.000001")
    working = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0STALE")[0]
    assert "stale.smime@contoso.example" in working.args["text"]
    slack.bot.wait_idle()
    assert queued_jobs(redis_url) > 0


def test_a_deleted_working_message_does_not_block_the_answer(slack: Slack) -> None:
    slack.api.fail_next["chat.update"] = [(200, {}, {"ok": False, "error": "message_not_found"})]
    target = {
        "platform": "slack",
        "target_id": "t1",
        "lang": "en",
        "user": "U0STALE",
        "channel": "D0STALE",
        "ts": "9.1",
    }
    slack.bot.transport.deliver(target, {"type": "text", "text": "the answer"})
    assert slack.api.of("chat.postMessage", lambda c: c.args["text"] == "the answer")


def test_run_slack_names_missing_settings_without_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.slack import run_slack

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    assert run_slack(load_settings(demo=True), http=False, port=0) == 2
    assert run_slack(load_settings(demo=True), http=True, port=0) == 2
    err = capsys.readouterr().err
    assert "SLACK_APP_TOKEN" in err and "SLACK_SIGNING_SECRET" in err and "xoxb-secret-value" not in err
