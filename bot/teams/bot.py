"""The Teams conversation logic: messages (personal chat, or @mentions in channels and group
chats) → the shared Dispatcher; approval clicks → App.decide.

Everything personal goes to the asker's personal chat: in a channel the bot only says, in
the thread, that the answer is on its way there. Who asks is the AAD object id of the signed
activity (checked against our tenant), never the display name.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from botbuilder.core import ActivityHandler, InvokeResponse, MessageFactory, TurnContext
from botbuilder.schema import ChannelAccount, ConversationParameters

from bot.render.cards import APPROVE_VERB, CONTENT_TYPE, DENY_VERB, approval_update_card
from bot.teams.activities import (
    aad_object_id,
    conversation_type,
    mention_stripped_text,
    message,
    reference_json,
    tenant_of,
)
from bot.teams.transport import TeamsTransport
from handlers.chat import locale_lang
from handlers.outage import OUTAGE, UNAVAILABLE, log_outage
from handlers.types import ChatRequest, Reply
from workers.errors import ServiceUnavailable

log = logging.getLogger("smime_doctor.teams")

SENT_PERSONALLY = {
    "en": "I have sent you the answer in a personal chat.",
    "de": "Ich habe Ihnen die Antwort im persönlichen Chat geschickt.",
}
WHO_ARE_YOU = {
    "en": "I cannot tell who you are: your Teams account carries no Entra user id.",
    "de": "Ich kann Sie nicht zuordnen: Ihr Teams-Konto trägt keine Entra-Benutzer-ID.",
}
OTHER_TENANT = {
    "en": "This bot serves only its own organisation's tenant.",
    "de": "Dieser Bot bedient nur den Mandanten seiner eigenen Organisation.",
}


class TeamsBot(ActivityHandler):
    def __init__(
        self, app: Any, transport: TeamsTransport, *, bot_app_id: str, tenant_id: str, stream: str | None
    ) -> None:
        self.app = app
        self.transport = transport
        self.bot_app_id = bot_app_id
        self.tenant_id = tenant_id
        self.stream = stream

    async def _run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Dispatcher and approvals block on Redis and the directory: keep them off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))

    def _lang(self, turn: TurnContext) -> str:
        return locale_lang(turn.activity.locale) or self.app.settings.lang

    def _who(self, turn: TurnContext) -> tuple[str | None, dict[str, str] | None]:
        """(aad object id, None) or (None, the sentence that says why we cannot serve them)."""
        activity = turn.activity
        if self.tenant_id and tenant_of(activity) != self.tenant_id:
            return None, OTHER_TENANT
        user = aad_object_id(activity)
        return (user, None) if user else (None, WHO_ARE_YOU)

    # -- messages ---------------------------------------------------------------------------
    async def on_message_activity(self, turn: TurnContext) -> None:
        activity = turn.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        if value.get("verb") in (APPROVE_VERB, DENY_VERB):
            await self._submitted_decision(turn, value)
            return
        user, refusal = self._who(turn)
        if user is None:
            assert refusal is not None
            await turn.send_activity(refusal[self._lang(turn)])
            return
        text = mention_stripped_text(activity)
        if not text:
            return
        personal = conversation_type(activity) == "personal"
        request_id = activity.id or uuid.uuid4().hex
        req = ChatRequest(
            "teams",
            user,
            text,
            self._conversation(reference_json(activity)),
            activity.locale,
            request_id,
        )
        reply: Reply = await self._run(self.app.dispatcher.handle, req)
        if personal or (reply.job is None and reply.kind in ("help", "unavailable")):
            await self._answer(turn, reply, reference_json(activity), request_id)
            return
        # Channel or group chat: the details go to the asker alone.
        await turn.send_activity(SENT_PERSONALLY[reply.lang])
        await self._in_personal_chat(turn, user, partial(self._answer_there, reply, request_id))

    def _conversation(self, reference: dict[str, Any]) -> dict[str, Any]:
        """What ChatRequest.conversation carries: a Teams outbox target minus its target_id."""
        out: dict[str, Any] = {"platform": "teams", "conversation_reference": reference}
        if self.stream:
            out["stream"] = self.stream
        return out

    async def _answer_there(self, reply: Reply, request_id: str, turn: TurnContext) -> None:
        await self._answer(turn, reply, reference_json(turn.activity), request_id)

    async def _answer(
        self, turn: TurnContext, reply: Reply, reference: dict[str, Any], request_id: str
    ) -> None:
        """Say the immediate reply; if there is a job, queue it with this conversation as target
        and the reply's message id, so the answer replaces "one moment"."""
        sent = await turn.send_activity(MessageFactory.text(reply.text))
        if reply.job is None:
            return
        target = self.transport.target(
            reference, request_id, reply.lang, self.stream, activity_id=sent.id if sent else None
        )
        try:
            await self._run(self.app.dispatcher.submit, reply.job, target)
        except ServiceUnavailable:
            sorry = MessageFactory.text(UNAVAILABLE[reply.lang])
            if sent is not None and sent.id:
                sorry.id = sent.id
                await turn.update_activity(sorry)
            else:
                await turn.send_activity(sorry)

    async def _in_personal_chat(
        self, turn: TurnContext, user_id: str, then: Callable[[TurnContext], Awaitable[None]]
    ) -> None:
        """Open (or reopen: Teams returns the existing one) the 1:1 chat with the sender and run `then` in it."""
        activity = turn.activity
        tenant = tenant_of(activity)
        params = ConversationParameters(
            is_group=False,
            bot=activity.recipient,
            members=[ChannelAccount(id=activity.from_property.id, aad_object_id=user_id)],
            tenant_id=tenant,
            channel_data={"tenant": {"id": tenant}} if tenant else None,
        )
        await turn.adapter.create_conversation(
            self.bot_app_id, then, params, activity.channel_id, activity.service_url
        )

    # -- approvals ----------------------------------------------------------------------------
    async def _decide(self, turn: TurnContext, request_id: Any, approve: bool) -> Any:
        user, refusal = self._who(turn)
        if user is None or not isinstance(request_id, str):
            return None, (refusal or WHO_ARE_YOU)[self._lang(turn)]
        try:
            outcome = await self._run(
                self.app.decide, platform="teams", user_id=user, request_id=request_id, approve=approve
            )
        except OUTAGE as exc:  # the approvals live in Redis: the clicker is told, the card stays
            log_outage("teams approval click", exc)
            return None, UNAVAILABLE[self._lang(turn)]
        return outcome, outcome.message.get(self._lang(turn)) or outcome.message.get("en", "")

    async def on_invoke_activity(self, turn: TurnContext) -> InvokeResponse | None:
        """Action.Execute arrives as invoke `adaptiveCard/action`. Answered here rather than in
        on_adaptive_card_invoke: the SDK's response model cannot serialise the plain-string
        message value that Universal Actions use for "tell only the clicker"."""
        if turn.activity.name != "adaptiveCard/action":
            return await super().on_invoke_activity(turn)
        value = turn.activity.value if isinstance(turn.activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        return InvokeResponse(status=200, body=await self.card_action(turn, action or {}))

    async def card_action(self, turn: TurnContext, action: dict[str, Any]) -> dict[str, Any]:
        """The refreshed card (who decided, no buttons) or, when the click was refused, a message
        only the clicker sees; the card then stays as it was."""
        verb = action.get("verb")
        raw = action.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if action.get("type") != "Action.Execute" or verb not in (APPROVE_VERB, DENY_VERB):
            return {
                "statusCode": 400,
                "type": "application/vnd.microsoft.error",
                "value": {"code": "BadRequest", "message": "unknown action"},
            }
        outcome, sentence = await self._decide(turn, data.get("request_id"), verb == APPROVE_VERB)
        if outcome is not None and outcome.ok and outcome.request is not None:
            card = approval_update_card(_request_json(outcome.request), "", self._lang(turn))
            return {"statusCode": 200, "type": CONTENT_TYPE, "value": card}
        return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": sentence}

    async def _submitted_decision(self, turn: TurnContext, value: dict[str, Any]) -> None:
        """Action.Submit (clients without Universal Actions): refresh the card in place."""
        outcome, sentence = await self._decide(
            turn, value.get("request_id"), value.get("verb") == APPROVE_VERB
        )
        card_id = turn.activity.reply_to_id
        if outcome is not None and outcome.ok and outcome.request is not None and card_id:
            card = approval_update_card(_request_json(outcome.request), "", self._lang(turn))
            refreshed = message(card, sentence)
            refreshed.id = card_id
            try:
                await turn.update_activity(refreshed)
                return
            except Exception as exc:
                log.info("could not refresh the approval card (%s)", type(exc).__name__)
        await turn.send_activity(sentence)


def _request_json(request: Any) -> dict[str, Any]:
    return dict(request.to_json()) if hasattr(request, "to_json") else dict(request)
