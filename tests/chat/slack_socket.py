"""A local Slack Socket Mode server for tests: an aiohttp WebSocket endpoint on loopback that
speaks the protocol a Socket Mode app sees (https://api.slack.com/apis/connections/socket-implement):

- the app calls `apps.connections.open` with its app-level token (xapp-…) and gets a one-time
  URL; `issue_url()` makes those (MockSlack hands them out) and a ticket works only once, as a
  fresh URL per connection is what Slack gives;
- on connect the server says `{"type": "hello", ...}`;
- it sends envelopes `{"envelope_id", "type": events_api|slash_commands|interactive, "payload",
  "accepts_response_payload", ...}` and records the app's acks `{"envelope_id", "payload"?}`
  with the seconds between sending and the ack (Slack wants them within 3 s);
- `refresh()` sends `{"type": "disconnect", "reason": "refresh_requested"}` and closes the
  socket, as Slack does when it rotates connections;
- WebSocket pings are answered with pongs (aiohttp's autoping), as Slack's servers do.

The server runs its own asyncio loop in a daemon thread; every method is called from the test's
thread. By default it speaks plain ws:// on a free loopback port: slack_sdk's builtin client uses
TLS only for port 443 (or through a proxy) and plain WebSocket on any other port. With an
``ssl_context`` and port 443 it serves wss:// as Slack does, so the client's TLS path (and its
certificate verification) is exercised too.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "A0SMIME"


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None  # what the app answered with (a slash command's text, say)
    seconds: float  # from sending the envelope to receiving this ack
    connection: int  # the connection number that carried it


@dataclass
class Connection:
    number: int  # 1, 2, ... in the order the app connected
    ticket: str
    ws: web.WebSocketResponse = field(repr=False)
    opened_at: float = field(default_factory=time.monotonic)
    closed_at: float | None = None
    other: list[str] = field(default_factory=list)  # text frames that were not acks

    @property
    def open(self) -> bool:
        return self.closed_at is None


class SocketModeServer:
    def __init__(
        self, app_id: str = APP_ID, *, port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.app_id = app_id
        self.ssl_context = ssl_context
        self.connections: list[Connection] = []
        self.acks: list[Ack] = []
        self.refused: list[str] = []  # tickets that were unknown or used twice
        self._tickets: set[str] = set()
        self._sent: dict[str, tuple[float, int]] = {}  # envelope_id -> (monotonic, connection)
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="socket-mode-server", daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = port

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SocketModeServer:
        self._thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._stop(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _stop(self) -> None:
        for conn in list(self.connections):
            if conn.open:
                await conn.ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- what apps.connections.open hands out ----------------------------------------------
    def issue_url(self) -> str:
        ticket = uuid.uuid4().hex
        with self._changed:
            self._tickets.add(ticket)
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # -- the WebSocket endpoint ------------------------------------------------------------
    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._changed:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
            if not valid:
                self.refused.append(ticket)
                self._changed.notify_all()
        if not valid:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self._changed:
            open_now = 1 + sum(1 for c in self.connections if c.open)
        hello = {
            "type": "hello",
            "num_connections": open_now,
            "debug_info": {"host": "applink-test", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        with self._changed:  # envelopes go only to connections that got their hello
            conn = Connection(len(self.connections) + 1, ticket, ws)
            self.connections.append(conn)
            self._changed.notify_all()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self._received(conn, msg.data)
        finally:
            with self._changed:
                conn.closed_at = time.monotonic()
                self._changed.notify_all()
        return ws

    def _received(self, conn: Connection, text: str) -> None:
        now = time.monotonic()
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        with self._changed:
            if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                sent_at, _ = self._sent.get(data["envelope_id"], (now, 0))
                self.acks.append(Ack(data["envelope_id"], data.get("payload"), now - sent_at, conn.number))
            else:
                conn.other.append(text)
            self._changed.notify_all()

    # -- what Slack sends ------------------------------------------------------------------
    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> str:
        """Send one envelope on the newest open connection; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        conn = self.current()
        assert conn is not None, "no app is connected"

        async def _send() -> None:
            with self._changed:
                self._sent[envelope_id] = (time.monotonic(), conn.number)
            await conn.ws.send_str(json.dumps(envelope))

        self._call(_send())
        return envelope_id

    def refresh(self) -> Connection:
        """Slack rotating the connection: `disconnect` (refresh_requested), then the socket closes.
        Returns the connection that was closed."""
        conn = self.current()
        assert conn is not None, "no app is connected"
        message = {
            "type": "disconnect",
            "reason": "refresh_requested",
            "debug_info": {"host": "applink-test"},
        }

        async def _refresh() -> None:
            await conn.ws.send_str(json.dumps(message))
            await conn.ws.close(code=1000, message=b"refresh_requested")

        self._call(_refresh(), timeout=30)
        self.wait_until(lambda: not conn.open, what=f"connection {conn.number} to close")
        return conn

    # -- waiting and looking ---------------------------------------------------------------
    def current(self) -> Connection | None:
        with self._changed:
            live = [c for c in self.connections if c.open]
            return live[-1] if live else None

    def wait_until(self, ready: Callable[[], bool], timeout: float = 30.0, what: str = "a condition") -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {what}; connections: {self.connections}, "
                        f"acks: {self.acks}, refused tickets: {len(self.refused)}"
                    )
                self._changed.wait(min(left, 0.2))

    def wait_connected(self, count: int = 1, timeout: float = 30.0) -> Connection:
        """Wait until the app has opened `count` connections in all and one is open; the newest."""
        self.wait_until(
            lambda: len(self.connections) >= count and any(c.open for c in self.connections),
            timeout,
            f"connection {count}",
        )
        conn = self.current()
        assert conn is not None
        return conn

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        self.wait_until(
            lambda: any(a.envelope_id == envelope_id for a in self.acks), timeout, f"the ack of {envelope_id}"
        )
        with self._changed:
            return next(a for a in self.acks if a.envelope_id == envelope_id)

    def wait_all_closed(self, timeout: float = 15.0) -> None:
        self.wait_until(
            lambda: all(not c.open for c in self.connections), timeout, "every connection to close"
        )

    def acks_of(self, envelope_id: str) -> list[Ack]:
        with self._changed:
            return [a for a in self.acks if a.envelope_id == envelope_id]
