"""Answers from the outbox → Slack messages, where the target says.

A target with `ts` replaces the "working on it" message (approval news to the requester is
posted anew instead, so they are notified of each step) (chat.update on the stored channel
and ts — the response_url would allow only 5 uses in 30 minutes); `ephemeral` posts only
the asker can see; `home` re-publishes the asker's App Home. Approval requests to the
approvers' channel are posted once and then updated in place, so the buttons disappear
once someone decided. Folded detail goes into the message's thread.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.render.blocks import Message, esc, render
from bot.slack.people import SlackPeople
from bot.slack.store import SlackStore
from workers.answers import (
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
    ReportAnswer,
    answer_from_json,
    to_json,
)
from workers.targets import SlackTarget

log = logging.getLogger("smime_doctor.slack")

GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}


class SlackTransport:
    platform = "slack"

    def __init__(self, client: Any, people: SlackPeople, default_lang: str = "en") -> None:
        self.client = client
        self.people = people
        self.default_lang = default_lang
        self.store = SlackStore()
        self.home: Any = None  # bot.slack.home.Home, bound once the core app exists

    def bind(self, store: SlackStore, home: Any) -> None:
        self.store = store
        self.home = home

    def deliver(self, target_json: dict[str, Any], answer_json: dict[str, Any]) -> None:
        """The outbox JSON, read into its types here (bot.delivery.Transport)."""
        target = SlackTarget.from_json(target_json)
        lang = target.lang or self.default_lang
        answer = answer_from_json(answer_json)
        approval = isinstance(answer, ApprovalRequestAnswer | ApprovalUpdateAnswer)
        user = target.user
        if user and isinstance(answer, ReportAnswer) and (target.home or target.home_cache):
            self.store.put_home(user, to_json(answer))
        if target.home:
            if self.home is not None and user:
                self.home.publish(user)
            return
        if isinstance(answer, ApprovalRequestAnswer | ApprovalUpdateAnswer) and not user:
            self._to_approvers(target, answer, lang)
            return
        message = render(
            answer, lang, buttons=not approval, again=target.text or "status", viewer=target.viewer
        )
        if target.ephemeral and target.channel and user:
            for blocks in [message.blocks, *message.detail]:
                self.client.chat_postEphemeral(
                    channel=target.channel, user=user, text=message.text, blocks=blocks
                )
            return
        channel = target.channel or self.people.dm_channel(str(user))
        ts = None
        if target.ts and not approval:
            ts = self._replace(channel, target.ts, message)
        if ts is None:
            ts = self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)["ts"]
        self._thread(channel, ts, message)

    def _replace(self, channel: str, ts: str, message: Message) -> str | None:
        """chat.update the "working on it" message; None if it is gone (then post a new one —
        retrying an update that can never succeed would block the answer forever)."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=message.text, blocks=message.blocks)
            return ts
        except SlackApiError as exc:
            if exc.response.get("error") in GONE:
                return None
            raise

    def _thread(self, channel: str, ts: str, message: Message) -> None:
        for blocks in message.detail:
            self.client.chat_postMessage(channel=channel, thread_ts=ts, text=message.text, blocks=blocks)

    def _to_approvers(
        self, target: SlackTarget, answer: ApprovalRequestAnswer | ApprovalUpdateAnswer, lang: str
    ) -> None:
        request = answer.request
        channel = str(target.channel)
        message = render(answer, lang, buttons=True)
        posted = [r for r in self.store.approval_messages(request["id"]) if r["channel"] == channel]
        if posted:
            self.client.chat_update(
                channel=channel, ts=posted[0]["ts"], text=message.text, blocks=message.blocks
            )
            return
        ts = self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)["ts"]
        self.store.add_approval_message(request["id"], channel, ts)

    def say(self, channel: str, text: str, ts: str | None = None) -> str:
        """A plain sentence (escaped): post it, or replace the message at `ts`."""
        if ts:
            self.client.chat_update(channel=channel, ts=ts, text=esc(text), blocks=[])
            return ts
        return str(self.client.chat_postMessage(channel=channel, text=esc(text))["ts"])
