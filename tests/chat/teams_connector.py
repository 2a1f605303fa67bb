"""A local fake of the Bot Framework connector (the activity's serviceUrl) that records what
the bot sent, plus helpers to run aiohttp apps on loopback in a background thread.

It answers the calls botframework-connector makes: create a conversation, send / reply to an
activity (returns a new id), update an activity (PUT). Tests read `calls` and wait on them.
With `require_token="<token>"` it behaves like the real connector towards an unauthenticated
bot: a call without `Authorization: Bearer <token>` gets 401 and is only noted in `refused`.
Every call records the Authorization header it carried.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.services import free_port


class Served:
    """An aiohttp app on 127.0.0.1 in its own thread and event loop."""

    def __init__(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> None:
        self.app = app
        self.port = free_port()
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            self._runner = web.AppRunner(self.app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context).start()

        self.loop.run_until_complete(start())
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> Served:
        self.thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("server did not start")
        return self

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Call:
    method: str
    conversation: str
    activity_id: str | None  # the id in the path (reply-to or updated activity)
    body: dict[str, Any]
    new_id: str | None = None  # the id the connector gave a new activity
    authorization: str | None = None  # the Authorization header the call carried

    @property
    def text(self) -> str:
        """Text and every TextBlock of attached cards, for assertions."""
        parts = [str(self.body.get("text") or "")]
        for att in self.body.get("attachments") or []:
            parts.extend(_texts(att.get("content") or {}))
        return "\n".join(p for p in parts if p)

    @property
    def card(self) -> dict[str, Any] | None:
        for att in self.body.get("attachments") or []:
            if att.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(att["content"])
        return None


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = [str(node["text"])] if node.get("type") == "TextBlock" else []
        if node.get("type") == "FactSet":
            out += [f"{f['title']}: {f['value']}" for f in node.get("facts", [])]
        for key in ("body", "items", "columns"):
            out += _texts(node.get(key))
        return out
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    created_authorizations: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    served: Served | None = None
    require_token: str | None = None
    refused: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, header

    @property
    def url(self) -> str:
        assert self.served is not None
        return self.served.url + "/"

    def start(self) -> FakeConnector:
        app = web.Application(middlewares=[self._check_token])
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{cid}/activities", self._send)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self._send)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self._update)
        self.served = Served(app).start()
        return self

    def stop(self) -> None:
        if self.served is not None:
            self.served.stop()

    @web.middleware
    async def _check_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
        header = request.headers.get("Authorization")
        if self.require_token is not None and header != f"Bearer {self.require_token}":
            with self.lock:
                self.refused.append((request.method, request.path, header))
            return web.json_response(
                {"error": {"code": "Unauthorized", "message": "Authorization has been denied"}}, status=401
            )
        response: web.StreamResponse = await handler(request)
        return response

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        member = (body.get("members") or [{}])[0]
        cid = f"a:personal-{member.get('id', 'x')}"
        with self.lock:
            self.created.append(body)
            self.created_authorizations.append(request.headers.get("Authorization"))
        return web.json_response({"id": cid, "serviceUrl": self.url})

    async def _send(self, request: web.Request) -> web.Response:
        body = await request.json()
        new_id = f"act-{next(self._ids)}"
        with self.lock:
            self.calls.append(
                Call(
                    "POST",
                    request.match_info["cid"],
                    request.match_info.get("aid"),
                    body,
                    new_id,
                    request.headers.get("Authorization"),
                )
            )
        return web.json_response({"id": new_id})

    async def _update(self, request: web.Request) -> web.Response:
        body = await request.json()
        aid = request.match_info["aid"]
        with self.lock:
            self.calls.append(
                Call("PUT", request.match_info["cid"], aid, body, None, request.headers.get("Authorization"))
            )
        return web.json_response({"id": aid})

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def wait_for(self, predicate: Callable[[Call], bool], timeout: float = 60) -> Call:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.snapshot():
                if predicate(call):
                    return call
            time.sleep(0.05)
        raise AssertionError(
            "the bot never sent the expected activity; it sent:\n"
            + "\n".join(
                f"{c.method} {c.conversation} {c.activity_id}: {c.text[:200]}" for c in self.snapshot()
            )
        )


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
