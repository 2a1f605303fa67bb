"""Redis goes away: every chat command and every approval click still gets an answer — the
"service unavailable" sentence, in the asker's language — and nothing raises out of a transport.
Redis comes back: the same commands and clicks work again, with the state from before.

Real pieces throughout: the private redis-server (stopped and started again, AOF on), the real
slack-bolt app behind its HTTP endpoint talking to the mock Slack Web API, the real Teams
aiohttp endpoint talking to the fake Bot Framework connector, and the console.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.console import ConsoleChat
from bot.render.cards import APPROVE_VERB, DENY_VERB
from handlers.outage import UNAVAILABLE
from tests.chat.slack_mock import Call as SlackCall
from tests.chat.teams_connector import Call as TeamsCall
from tests.chat.teams_connector import FakeConnector
from tests.chat.test_slack import APPROVERS, Slack, slack, slack_api  # noqa: F401  (fixtures)
from tests.chat.test_teams import (  # noqa: F401  (fixtures)
    ADELE,
    ALEX,
    APPROVERS_CHANNEL,
    NORA,
    STALE,
    TOM,
    Endpoint,
    activity,
    connector,
    endpoint,
    invoke,
)
from tests.support.services import RedisServer
from workers.config import load_settings
from workers.plan_types import Change, Plan

EN, DE = UNAVAILABLE["en"], UNAVAILABLE["de"]
NOT_AN_APPROVER = "Nur freigebende Personen dürfen Anträge entscheiden."
PLAN = Plan(
    action="prune_certificates",
    target="ts.user",
    changes=(Change(attribute="ad.userCertificate", sha256="ab", reason="expired"),),
    digest="d",
)
SECRET_PASSWORD = "s3cret-redis-password"


@pytest.fixture()
def outage(redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> Iterator[RedisServer]:
    """Yields the server still running; the test calls stop(). Whatever happens, Redis is back after."""
    caplog.set_level(logging.WARNING, logger="smime_doctor.dispatch")
    try:
        yield redis_server
    finally:
        if redis_server.proc is None or redis_server.proc.poll() is not None:
            redis_server.start()


def until(what: Callable[[], Any], timeout: float = 30.0, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(message or "condition not met in time")


# -- Slack -----------------------------------------------------------------------------------------


def said_to(api: Any, channel: str, sentence: str, user: str | None = None) -> list[SlackCall]:
    """Every message, update or ephemeral post in `channel` whose text holds `sentence`."""
    return [
        c
        for c in api.calls
        if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
        and c.args.get("channel") == channel
        and sentence in str(c.args.get("text", ""))
        and (user is None or c.args.get("user") == user)
    ]


def open_request(core: Any, platform: str, user_id: str, notify: dict[str, Any]) -> str:
    requester = core.identity.resolve(platform, user_id)
    return str(core.approvals.open("prune_certificates", requester, requester.key, PLAN, notify, platform).id)


def home_click(s: Slack, user: str, request_id: str) -> int:
    """An Approve click in App Home: no channel in the payload."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEST"},
        "user": {"id": user},
        "api_app_id": "A0SMIME",
        "trigger_id": f"trig-{time.monotonic_ns()}",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home"},
        "actions": [{"action_id": "smime_approve", "block_id": "b", "value": request_id, "type": "button"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    return s.post(body, "application/x-www-form-urlencoded")[0]


def test_slack_commands_and_clicks_answer_while_redis_is_down_and_work_again_after(
    slack: Slack,  # noqa: F811
    outage: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = slack.api
    request_id = open_request(slack.bot.core, "slack", "U0STALE", {"platform": "slack", "user": "U0STALE"})
    posted = api.wait_for("chat.postMessage", lambda c: c.args["channel"] == APPROVERS)[0]

    outage.stop()
    # (user, DM channel, text, the sentence expected): approvers, helpdesk, a German user, anyone
    asked = [
        ("U0ALEX", "D0ALEX", f"approve {request_id}", EN),
        ("U0ALEX", "D0ALEX", f"deny {request_id}", EN),
        ("U0ALEX", "D0ALEX", "pending", EN),
        ("U0ALEX", "D0ALEX", f"undo {request_id}", EN),
        ("U0ADELE", "D0ADELE", "history of stale.smime", EN),
        ("U0ADELE", "D0ADELE", "check stale.smime", EN),  # queued work: the job queue is Redis too
        ("U0ADELE", "D0ADELE", "audit", EN),
        ("U0ADELE", "D0ADELE", "request set_mail_nickname for stale.smime", EN),
        ("U0STALE", "D0STALE", "status", EN),
        ("U0STALE", "D0STALE", "reset my published certs", EN),
        ("U0NORA", "D0NORA", f"freigeben {request_id}", NOT_AN_APPROVER),  # refused before Redis
        ("U0NORA", "D0NORA", "ist mein Zertifikat veröffentlicht?", DE),
    ]
    for user, dm, text, sentence in asked:
        before = len(said_to(api, dm, sentence))
        status, _, elapsed = slack.dm(user, text)
        assert status == 200 and elapsed < 1.0, text  # the ack never waits for Redis
        until(lambda: len(said_to(api, dm, sentence)) > before, message=f"no answer to {text!r}")  # noqa: B023
    # the slash command: the pointer rides on the ack, the sentence comes in the DM
    before = len(said_to(api, "D0ALEX", EN))
    status, body, _ = slack.command("U0ALEX", "pending", channel="D0ALEX")
    assert status == 200
    until(lambda: len(said_to(api, "D0ALEX", EN)) > before, message="no answer to /smime pending")

    # approval buttons: in the approvers' channel an ephemeral sentence, in App Home a DM
    assert slack.click("U0ALEX", "smime_approve", request_id, APPROVERS, posted.ts)[0] == 200
    until(lambda: said_to(api, APPROVERS, EN, user="U0ALEX"), message="no ephemeral reply to the click")
    assert slack.click("U0NORA", "smime_deny", request_id, APPROVERS, posted.ts)[0] == 200
    until(lambda: said_to(api, APPROVERS, DE, user="U0NORA"), message="no German reply to the click")
    before = len(said_to(api, "D0ALEX", EN))
    assert home_click(slack, "U0ALEX", request_id) == 200
    until(lambda: len(said_to(api, "D0ALEX", EN)) > before, message="no reply to the App Home click")
    # App Home itself says why it is empty instead of failing
    slack.event({"type": "app_home_opened", "user": "U0ALEX", "channel": "D0ALEX", "tab": "home"})
    until(lambda: api.of("views.publish", lambda c: EN in json.dumps(c.args["view"])))
    slack.bot.wait_idle()  # re-raises anything that escaped a listener's hand-off
    assert not api.of("chat.update", lambda c: c.args["channel"] == APPROVERS)  # nothing was decided
    outages = [r.getMessage() for r in caplog.records if r.name == "smime_doctor.dispatch"]
    assert outages and all("ConnectionError" in m for m in outages)

    outage.start()
    # the same request, still pending (AOF), is listed and decided as if nothing had happened
    slack.dm("U0ALEX", "pending")
    until(lambda: said_to(api, "D0ALEX", request_id), message="pending does not list the request")
    slack.click("U0ALEX", "smime_approve", request_id, APPROVERS, posted.ts)
    until(lambda: said_to(api, APPROVERS, "Request approved.", user="U0ALEX"), message="approval failed")
    assert slack.bot.core.approvals.get(request_id).state in ("approved", "executing", "failed")
    slack.dm("U0ADELE", "history of stale.smime")
    until(lambda: said_to(api, "D0ADELE", f"approved prune_certificates {request_id}"))
    slack.bot.wait_idle()


# -- Teams -----------------------------------------------------------------------------------------


def teams_said(conn: FakeConnector, conversation: str, sentence: str) -> list[TeamsCall]:
    return [c for c in conn.snapshot() if c.conversation == conversation and sentence in c.text]


def test_teams_messages_and_card_clicks_answer_while_redis_is_down_and_work_again_after(
    endpoint: Endpoint,  # noqa: F811
    outage: RedisServer,
) -> None:
    conn = endpoint.connector
    notify = {
        "platform": "teams",
        "conversation_reference": {"serviceUrl": conn.url, "conversation": {"id": f"a:personal-29:{TOM}"}},
    }
    request_id = open_request(endpoint.app, "teams", TOM, notify)
    card = conn.wait_for(
        lambda c: (
            c.conversation == APPROVERS_CHANNEL and request_id in json.dumps((c.card or {}).get("actions"))
        )
    )

    outage.stop()
    asked = [
        (ALEX, f"approve {request_id}", "en-US", EN),
        (ALEX, f"deny {request_id}", "en-US", EN),
        (ALEX, "pending", "en-US", EN),
        (ALEX, f"undo {request_id}", "en-US", EN),
        (ADELE, "history of stale.smime", "en-US", EN),
        (ADELE, "check stale.smime", "en-US", EN),
        (STALE, "is my cert published?", "en-US", EN),
        (NORA, f"freigeben {request_id}", "de-DE", NOT_AN_APPROVER),  # refused before Redis
    ]
    for user, text, locale, sentence in asked:
        me = f"a:personal-29:{user}"
        before = len(teams_said(conn, me, sentence))
        assert endpoint.post(activity(conn, text, user=user, locale=locale)).status_code == 201, text
        until(lambda: len(teams_said(conn, me, sentence)) > before, message=f"no answer to {text!r}")  # noqa: B023
    # a channel mention: the sentence holds nothing personal, so it is said right there
    channel = "19:helpdesk@thread.tacv2;messageid=7"
    mention = activity(conn, "pending", user=ALEX, conversation=channel, kind="channel")
    assert endpoint.post(mention).status_code == 201
    until(lambda: teams_said(conn, channel, EN), message="no answer in the channel")

    # Action.Execute (Universal Actions): the sentence only the clicker sees; the card stays
    clicked = endpoint.post(invoke(conn, ALEX, APPROVE_VERB, request_id))
    assert clicked.status_code == 200
    assert clicked.json() == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": EN,
    }
    # Action.Submit (older clients): a reply in the conversation of the card
    submit = activity(
        conn,
        user=ALEX,
        conversation=APPROVERS_CHANNEL,
        kind="channel",
        replyToId=card.new_id,
        value={"verb": DENY_VERB, "request_id": request_id},
    )
    before = len(teams_said(conn, APPROVERS_CHANNEL, EN))
    assert endpoint.post(submit).status_code == 201
    until(lambda: len(teams_said(conn, APPROVERS_CHANNEL, EN)) > before, message="no reply to Action.Submit")
    assert not [c for c in conn.snapshot() if c.method == "PUT" and c.activity_id == card.new_id]
    assert not [c for c in conn.snapshot() if "something went wrong" in c.text]  # nothing reached on_error

    outage.start()
    alex = f"a:personal-29:{ALEX}"
    endpoint.post(activity(conn, "pending", user=ALEX))
    until(lambda: teams_said(conn, alex, request_id), message="pending does not list the request")
    submit["id"] = "again"
    assert endpoint.post(submit).status_code == 201
    until(
        lambda: [c for c in conn.snapshot() if c.method == "PUT" and "Denied by Alex Wilber" in c.text],
        message="the card was not refreshed after Redis came back",
    )
    assert endpoint.app.approvals.get(request_id).state == "denied"


# -- console ---------------------------------------------------------------------------------------


def test_console_commands_answer_while_redis_is_down(redis_url: str, outage: RedisServer) -> None:
    out = io.StringIO()
    roles = {"helpdesk": {"users": ["adele.vance"]}, "approver": {"users": ["alex.wilber"]}}
    settings = load_settings(redis_url=redis_url, demo=True, roles=roles)
    approver = ConsoleChat(settings, "alex.wilber", None, out=out)
    try:
        request_id = open_request(approver.app, "console", "ts.user", {"platform": "console"})
        outage.stop()
        for text in (f"approve {request_id}", f"deny {request_id}", "pending", f"undo {request_id}"):
            assert approver.say(text).reply.kind == "unavailable", text
        assert approver.say("history of alex.wilber").reply.kind == "unavailable"  # their own: allowed
        assert approver.say("help").reply.kind == "help"  # what needs no Redis still answers
        outage.start()
        assert approver.say("pending").reply.kind == "answer"
    finally:
        approver.close()
    assert out.getvalue().count(EN) == 5 and request_id in out.getvalue().rsplit(EN, 1)[1]


def test_outage_log_names_the_error_type_not_its_text(caplog: pytest.LogCaptureFixture) -> None:
    """The exception's text (host, port, maybe a URL with a password) never reaches the log."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from handlers.outage import log_outage

    caplog.set_level(logging.WARNING, logger="smime_doctor.dispatch")
    log_outage("chat command pending", RedisConnectionError(f"redis://:{SECRET_PASSWORD}@10.0.0.5:6379"))
    (record,) = caplog.records
    assert "ConnectionError" in record.getMessage() and SECRET_PASSWORD not in record.getMessage()
    assert "10.0.0.5" not in record.getMessage()
