"""One question from Slack, after the ack: who asks, what they asked, where the answer goes.

Answers go to the asker's direct messages with the bot: a "working on it" message now,
replaced by the answer later. Questions asked in a channel (a mention, a slash command)
get only a pointer there, visible to the asker alone — a report names certificates and
addresses, which do not belong in a channel.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.slack.home import Home
from bot.slack.people import SlackPeople
from bot.slack.text import plain_text
from bot.slack.transport import SlackTransport
from handlers.chat import locale_lang
from handlers.identity import IdentityError
from handlers.outage import UNAVAILABLE
from handlers.types import ChatRequest, Reply
from handlers.understanding.recognise import read
from workers.errors import ServiceUnavailable

log = logging.getLogger("smime_doctor.slack")

POINTER = {
    "en": "On it — I answer in our direct messages.",
    "de": "Bin dran — die Antwort kommt in unseren Direktnachrichten.",
}


class Conversation:
    def __init__(self, core: Any, people: SlackPeople, transport: SlackTransport, home: Home) -> None:
        self.core = core
        self.people = people
        self.transport = transport
        self.home = home
        self.client = transport.client

    def guess_lang(self, user: str, text: str = "") -> str:
        """The language for text sent before any API call: the wording, a cached locale, the default."""

        return read(text).lang or locale_lang(self.people.cached_locale(user)) or self.core.settings.lang

    def ask(
        self,
        user: str,
        text: str,
        *,
        request_id: str,
        channel: str | None = None,
        pointer: bool = False,
    ) -> Reply | None:
        """Handle one question; `channel` is where it was asked, `pointer` whether to leave a note there."""
        profile = self.people.profile(user)
        if profile.is_bot:
            return None
        dm = self.people.dm_channel(user)
        conversation = {"platform": "slack", "user": user, "channel": dm}
        text = plain_text(text, self.people.mention_email)  # <mailto:…|…>, <@U…>: what was typed
        req = ChatRequest("slack", user, text, conversation, profile.locale, request_id)
        reply = self.core.dispatcher.handle(req)
        if pointer and channel and channel != dm:
            self.client.chat_postEphemeral(channel=channel, user=user, text=POINTER[reply.lang])
        if reply.job is None:
            self.transport.say(dm, reply.text)
            return reply
        ts = self.transport.say(dm, reply.text)
        target = {
            "platform": "slack",
            "target_id": request_id,
            "lang": reply.lang,
            "user": user,
            "channel": dm,
            "ts": ts,
            "text": text[:500],
            "home_cache": self._about_self(user, reply),
            "viewer": self._viewer(user),
        }
        try:
            self.core.dispatcher.submit(reply.job, target)
        except ServiceUnavailable:
            self.transport.say(dm, UNAVAILABLE[reply.lang], ts=ts)
        return reply

    def refresh_home(self, user: str, request_id: str) -> None:
        """App Home opened: show the cached status now, queue a fresh one if it is old."""
        self.home.publish(user)
        if not self.home.stale(user):
            return
        profile = self.people.profile(user)
        req = ChatRequest(
            "slack", user, "status", {"platform": "slack", "user": user}, profile.locale, request_id
        )
        reply = self.core.dispatcher.handle(req)
        if reply.job is None:
            return  # no directory match: publish() already shows why
        target = {
            "platform": "slack",
            "target_id": request_id,
            "lang": reply.lang,
            "user": user,
            "home": True,
        }
        try:
            self.core.dispatcher.submit(reply.job, target)
        except ServiceUnavailable:
            log.warning("App Home refresh not queued: the job queue is unavailable")

    def _viewer(self, user: str) -> str | None:
        try:
            return self.core.dispatcher.identity.resolve("slack", user).primary_smtp
        except IdentityError:
            return None

    def _about_self(self, user: str, reply: Reply) -> bool:
        job = reply.job
        if job is None or job.kind != "diagnose" or not job.subject:
            return False
        try:
            return job.subject.lower() in self.core.dispatcher.identity.resolve("slack", user).names
        except IdentityError:
            return False
