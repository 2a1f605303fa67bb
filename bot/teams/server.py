"""The Teams endpoint: an aiohttp app with POST /api/messages (CloudAdapter) and GET /healthz.

The request is checked before the SDK sees it — JSON, an activity with a type, a conversation
and a serviceUrl (else 400, and nothing else happens) — then authenticated (Bot Framework JWT;
any failure is a 401 that names no token), and only then handed to the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from bot.app import App, build_app
from bot.teams.activities import GUID
from bot.teams.auth import make_authentication
from bot.teams.bot import TeamsBot
from bot.teams.config import TeamsConfig
from bot.teams.transport import ApprovalCards, TeamsTransport
from workers.config import Settings

log = logging.getLogger("smime_doctor.teams")

APP_KEY: web.AppKey[App] = web.AppKey("smime_app", App)
BOT_KEY: web.AppKey[TeamsBot] = web.AppKey("smime_bot", TeamsBot)


def teams_stream(settings: Settings) -> str | None:
    """Teams answers travel on their own outbox stream, so no other transport's bot reads them."""
    return f"{settings.outbox_stream}:teams" if settings.redis_url else None


def teams_lookup(user_id: str) -> str | None:
    """Teams user id → directory name: the AAD object id is the Entra user id the directory indexes."""
    return user_id if GUID.match(user_id or "") else None


def bad_activity(body: Any) -> str | None:
    """Why `body` is not an activity we can answer, or None."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if not isinstance(body.get("type"), str) or not body["type"]:
        return "no activity type"
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url.startswith(("https://", "http://")):
        return "no serviceUrl"
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str):
        return "no conversation"
    if not isinstance(body.get("channelId"), str):
        return "no channelId"
    for key in ("from", "recipient"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            return f"bad {key}"
    return None


def make_web_app(
    settings: Settings, config: TeamsConfig, *, consumer: str | None = None, app: App | None = None
) -> web.Application:
    """The aiohttp application; the delivery loop starts and stops with it."""
    authentication = make_authentication(config)
    adapter = CloudAdapter(authentication)
    transport = TeamsTransport(adapter, config.app_id, ApprovalCards())
    stream = teams_stream(settings)
    if app is None:
        app = build_app(
            settings,
            {"teams": transport},
            stream=stream,
            consumer=consumer or f"teams-{socket.gethostname()}",
        )
    else:
        app.delivery.transports["teams"] = transport
    transport.cards = ApprovalCards(app.redis, settings.key_prefix)
    app.dispatcher.identity.register("teams", teams_lookup)
    bot = TeamsBot(app, transport, bot_app_id=config.app_id, tenant_id=config.tenant_id, stream=stream)

    async def on_error(turn: TurnContext, error: Exception) -> None:
        if isinstance(error, PermissionError) and str(error).startswith("Failed to get access token"):
            # botbuilder's words for "Entra refused the app's credentials"; Entra's reason (an
            # AADSTS code and sentence, no secret) is what the operator needs, not a traceback
            log.error(
                "turn failed: the bot could not get its Bot Framework token (%s); check "
                "MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TYPE and MICROSOFT_APP_TENANT_ID",
                " ".join(str(error).split())[:300],
            )
        else:
            log.error("turn failed: %s", type(error).__name__, exc_info=error)
        with contextlib.suppress(Exception):
            await turn.send_activity(
                "Sorry — something went wrong on my side. / Leider ist ein Fehler aufgetreten."
            )

    adapter.on_turn_error = on_error

    async def messages(request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body is not JSON"}, status=400)
        if reason := bad_activity(body):
            return web.json_response({"error": reason}, status=400)
        try:
            activity = Activity().deserialize(body)
        except Exception:
            return web.json_response({"error": "not an activity"}, status=400)
        header = request.headers.get("Authorization") or None
        try:
            auth = await authentication.authenticate_request(activity, header)
        except Exception as exc:  # PermissionError, and jwt/requests errors on garbage tokens
            log.info("rejected an activity: %s", type(exc).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        response = await adapter.process_activity(auth, activity, bot.on_turn)
        if response is not None:
            return web.json_response(response.body, status=response.status)
        return web.Response(status=201)

    async def health(request: web.Request) -> web.Response:
        """For load balancers: 200 while the process serves; Redis state is reported, not gated on
        (without Redis the bot still answers "the service is unavailable")."""
        redis = "off"
        if app.redis is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, app.redis.ping)
                redis = "ok"
            except Exception:
                redis = "down"
        return web.json_response({"status": "ok", "redis": redis})

    async def start(_: web.Application) -> None:
        transport.loop = asyncio.get_running_loop()
        app.delivery.start()

    async def stop(_: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, app.close)

    web_app = web.Application(client_max_size=256 * 1024)
    web_app[APP_KEY] = app
    web_app[BOT_KEY] = bot
    web_app.router.add_post("/api/messages", messages)
    web_app.router.add_get("/healthz", health)
    web_app.on_startup.append(start)
    web_app.on_cleanup.append(stop)
    return web_app


def run_teams(settings: Settings, port: int, emulator: bool, host: str | None = None) -> int:
    """`smime-doctor teams --port N [--emulator]`. The emulator mode listens on loopback only."""
    config = TeamsConfig.from_env()
    config.check(emulator)
    bind = "127.0.0.1" if emulator else (host or "0.0.0.0")
    mode = "emulator (no token check, loopback only)" if emulator else f"app {config.app_id}"
    log.info("Teams endpoint on %s:%d/api/messages, %s", bind, port, mode)
    web.run_app(make_web_app(settings, config), host=bind, port=port, print=None)
    return 0
