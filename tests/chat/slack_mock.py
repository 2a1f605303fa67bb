"""A local mock of the Slack Web API that records every call (in the style of Bolt's own
tests/mock_web_api_server): the real slack_sdk WebClient talks to it over HTTP on loopback.

Canned answers for the methods the bot uses; users come from `users`; `fail_next` injects
errors (a 429 with Retry-After, say) for one method. `socket_url`, when set, issues the
WebSocket URL `apps.connections.open` answers with (Socket Mode, tests/chat/slack_socket.py);
like Slack, that method takes only an app-level token (xapp-…) and every other method only
a bot token (xoxb-…). Every call is recorded with the token it carried.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BOT_USER = "UBOT0SMIME"


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    token: str
    ts: str  # the ts a chat.postMessage answered with


class MockSlack:
    def __init__(self, users: dict[str, dict[str, Any]] | None = None) -> None:
        self.users = users or {}
        self.calls: list[Call] = []
        self.fail_next: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = {}
        self.socket_url: Callable[[], str] | None = None
        self._ts = 1_700_000_000_000
        self._lock = threading.Lock()
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._handle(parse_qs(urlparse(self.path).query))

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    args = json.loads(raw or "{}")
                else:
                    args = {k: v[0] for k, v in parse_qs(raw).items()}
                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                self._handle({**query, **args})

            def _handle(self, args: dict[str, Any]) -> None:
                args = {k: (v[0] if isinstance(v, list) and k != "blocks" else v) for k, v in args.items()}
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                method = urlparse(self.path).path.rsplit("/", 1)[-1]
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                status, headers, body = mock.answer(method, args, token)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def start(self) -> MockSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- answers ---------------------------------------------------------------------------
    def answer(
        self, method: str, args: dict[str, Any], token: str
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            queued = self.fail_next.get(method)
            if queued:
                return queued.pop(0)  # not recorded: the client is expected to retry
            self._ts += 1
            ts = f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"
            self.calls.append(Call(method, args, token, ts))
        if method == "apps.connections.open":
            if token.startswith("xoxb-"):
                return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
            if not token.startswith("xapp-") or self.socket_url is None:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            return 200, {}, {"ok": True, "url": self.socket_url()}
        if not token.startswith("xoxb-"):
            return 200, {}, {"ok": False, "error": "not_authed"}
        if method == "auth.test":
            return (
                200,
                {},
                {"ok": True, "user_id": BOT_USER, "bot_id": "B0SMIME", "team_id": "T0TEST", "user": "smime"},
            )
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return 200, {}, {"ok": False, "error": "user_not_found"}
            profile = {"email": user["email"]} if user.get("email") else {}
            data = {"id": args["user"], "profile": profile, "is_bot": bool(user.get("is_bot"))}
            if args.get("include_locale") in (True, "true", "1", 1):
                data["locale"] = user.get("locale", "en-US")
            return 200, {}, {"ok": True, "user": data}
        if method == "conversations.open":
            return 200, {}, {"ok": True, "channel": {"id": "D" + str(args.get("users"))[1:]}}
        if method == "chat.postMessage":
            return 200, {}, {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method in ("chat.update",):
            return 200, {}, {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "chat.postEphemeral":
            return 200, {}, {"ok": True, "message_ts": ts}
        if method == "views.publish":
            return 200, {}, {"ok": True, "view": {"id": "V" + ts.replace(".", "")}}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    # -- assertions ------------------------------------------------------------------------
    def of(self, method: str, where: Callable[[Call], bool] = lambda c: True) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and where(c)]

    def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        timeout: float = 30.0,
        count: int = 1,
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method, where)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        seen = [(c.method, str(c.args)[:200]) for c in self.calls]
        raise AssertionError(f"no {method} call matched within {timeout}s; calls: {seen}")
