"""The Bolt listeners: each acknowledges at once and hands the rest to a worker thread.

Bolt runs a listener on a small pool, and with process_before_response the HTTP response
leaves when the listener returns — so a listener that only acks and hands off answers
Slack in well under a millisecond of our own time, whatever the directory or Redis do.
Events API retries (same event_id) are dropped after the ack (the check needs Redis);
the bot's own messages never reach here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App as BoltApp

from bot.render.blocks import APPROVE, CHECK_AGAIN, DENY, HISTORY, RESET, WHY_ME
from bot.slack.conversation import POINTER

MENTION = re.compile(r"^\s*<@[A-Z0-9]+>\s*[:,]?\s*")
ACTION_TEXT = {WHY_ME: "why can't people encrypt to me", RESET: "reset my published certs"}


def register(bolt: BoltApp, bot: Any) -> None:
    """Attach every listener to `bolt`; `bot` is the SlackBot holding the conversation parts."""
    later: Callable[..., Any] = bot.later
    conv = bot.conversation

    @bolt.command("/smime")
    def smime(ack: Any, command: dict[str, Any]) -> None:
        user, channel = command["user_id"], command["channel_id"]
        if channel == bot.people.known_dm(user):
            ack()
        else:  # the pointer rides on the ack: no API call, and it works where the bot is no member
            ack(text=POINTER[conv.guess_lang(user, command.get("text", ""))])
        later(conv.ask, user, command.get("text", ""), request_id=command["trigger_id"], channel=channel)

    @bolt.event("message")
    def direct_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if (
            event.get("channel_type") != "im"
            or event.get("subtype")
            or event.get("bot_id")
            or not event.get("user")
        ):
            return
        later(
            bot.once,
            body["event_id"],
            conv.ask,
            event["user"],
            event.get("text", ""),
            request_id=body["event_id"],
            channel=event["channel"],
        )

    @bolt.event("app_mention")
    def mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("bot_id") or not event.get("user") or not event.get("channel"):
            return
        text = MENTION.sub("", event.get("text", ""))
        later(
            bot.once,
            body["event_id"],
            conv.ask,
            event["user"],
            text,
            request_id=body["event_id"],
            channel=event["channel"],
            pointer=True,
        )

    @bolt.event("app_home_opened")
    def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home" or not event.get("user"):
            return
        later(bot.once, body["event_id"], conv.refresh_home, event["user"], body["event_id"])

    def next_step(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        # "check again" carries the question to repeat; it runs as the clicker, like typed text
        text = ACTION_TEXT.get(action["action_id"]) or str(action.get("value") or "status")[:500]
        channel = (body.get("channel") or {}).get("id")
        later(conv.ask, body["user"]["id"], text, request_id=body["trigger_id"], channel=channel)

    for action_id in (CHECK_AGAIN, WHY_ME, RESET, HISTORY):
        bolt.action(action_id)(next_step)

    @bolt.action(APPROVE)
    def approve(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        later(bot.clicks.click, body, action, True)

    @bolt.action(DENY)
    def deny(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        later(bot.clicks.click, body, action, False)
