"""What Slack makes of what people type — a typed address becomes <mailto:…|…>, a mention <@U…> —
still reaches the parser as what they typed: the helpdesk can check a person by address or by
@-mentioning them. Through the real Bolt app, the mock Slack Web API and real RQ workers.
"""

from __future__ import annotations

from typing import Any

from tests.chat.test_slack import Slack, slack, slack_api  # noqa: F401  (fixtures)
from tests.support.services import Workers


def test_check_a_typed_address_answers_about_that_person(slack: Slack, workers: Workers) -> None:  # noqa: F811
    workers.start(1)
    slack.dm("U0ADELE", "check <mailto:stale.smime@contoso.example|stale.smime@contoso.example>")
    working = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0ADELE")[0]
    assert working.args["text"] == "Checking stale.smime@contoso.example … one moment."
    update = slack.api.wait_for("chat.update", lambda c: c.args["ts"] == working.ts)[0]
    assert update.args["blocks"][0]["text"]["text"].startswith(":x: *No — stale.smime@contoso.example")
    again = [e for b in update.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert again[0]["value"] == "check stale.smime@contoso.example"  # "check again" asks the plain question


def test_check_a_mentioned_user_uses_their_verified_email(slack: Slack) -> None:  # noqa: F811
    event: dict[str, Any] = {
        "type": "app_mention",
        "channel": "C0GENERAL",
        "user": "U0ADELE",
        "text": "<@UBOT0SMIME> check <@U0STALE|stella> <#C0GENERAL|general> <!here>",
        "ts": "1.000002",
    }
    assert slack.event(event)[0] == 200
    working = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0ADELE")[0]
    assert working.args["text"] == "Checking stale.smime@contoso.example … one moment."
    assert slack.api.of("users.info", lambda c: c.args["user"] == "U0STALE")  # the identity lookup
    # a mention of someone Slack cannot tell us about stays a name, and the directory says so
    slack.dm("U0ADELE", "check <@U0NOBODY>")
    slack.api.wait_for(
        "chat.postMessage", lambda c: c.args["channel"] == "D0ADELE" and "U0NOBODY" in c.args["text"].upper()
    )
    slack.bot.wait_idle()
