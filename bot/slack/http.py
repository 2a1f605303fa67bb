"""HTTP mode: POST /slack/events (events, the slash command and interactivity share it).

The signature is checked first (wrong or older than five minutes: 401), then the payload's
shape (not JSON, or missing what a listener reads: 400) — before Bolt sees it, so a
malformed request never reaches a listener and never half-runs. A threading WSGI server
keeps one slow request from holding up the acks of others; production may instead mount
`wsgi_app(...)` in gunicorn.

Bounds: a request's line, headers and body must all arrive within READ_TIMEOUT_S of the
connection opening (a client trickling bytes cannot hold a thread: each read waits only for
what is left of that deadline, then the connection is closed — 408 when the headers were
complete); a body over MAX_BODY is refused with 413 before it is read.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App as BoltApp
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("smime_doctor.slack.http")

PATH = "/slack/events"
MAX_BODY = 1 << 20  # Slack's largest payloads (a view or message with 100 blocks) stay far below
READ_TIMEOUT_S = 5.0  # Slack expects our answer within 3 s of sending: its request arrives at once
WRITE_TIMEOUT_S = 10.0


def malformed(body: bytes, content_type: str) -> str | None:
    """Why this signed body is not a Slack request we can handle, or None if it is one."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            data = json.loads(text)
            if not isinstance(data, dict):
                return "not a JSON object"
            if data.get("type") == "url_verification":
                return None if isinstance(data.get("challenge"), str) else "no challenge"
            event = data.get("event")
            if data.get("type") != "event_callback" or not isinstance(event, dict):
                return "not an event callback"
            if not data.get("event_id") or not event.get("type"):
                return "event without id or type"
            return None
        form = parse_qs(text, strict_parsing=bool(text))
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            if not isinstance(payload, dict) or not payload.get("type"):
                return "payload without type"
            if not isinstance(payload.get("user"), dict) or not payload["user"].get("id"):
                return "payload without user"
            return None
        if "command" in form:
            missing = [k for k in ("user_id", "channel_id", "trigger_id") if not form.get(k)]
            return f"command without {', '.join(missing)}" if missing else None
        return "neither an event, a command nor an interaction"
    except (UnicodeDecodeError, ValueError) as exc:
        return f"unreadable ({type(exc).__name__})"


def wsgi_app(bolt: BoltApp, signing_secret: str) -> Callable[..., Iterable[bytes]]:
    verifier = SignatureVerifier(signing_secret)
    bolt_handler = SlackRequestHandler(bolt, path=PATH)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != PATH:
            return _plain(start_response, "404 Not Found", "not found")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            return _plain(start_response, "413 Payload Too Large", "too large")
        try:
            body = environ["wsgi.input"].read(length)
        except TimeoutError:  # the body did not arrive within the request deadline
            log.info("closed a request whose body arrived too slowly")
            return _plain(start_response, "408 Request Timeout", "request timeout")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not (timestamp.isdigit() and signature and verifier.is_valid(body, timestamp, signature)):
            return _plain(start_response, "401 Unauthorized", "invalid request")
        reason = malformed(body, environ.get("CONTENT_TYPE", ""))
        if reason is not None:
            log.warning("rejected a signed but malformed Slack request: %s", reason)
            return _plain(start_response, "400 Bad Request", "bad request")
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads it again and verifies it itself too
        return bolt_handler(environ, start_response)

    return app


def _plain(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
    return [text.encode()]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _DeadlineReader(io.RawIOBase):
    """The connection's bytes, but none after `deadline`: each recv waits only for the time left,
    so a client sending one byte a second cannot stretch the request past the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self.sock.settimeout(left)
        try:
            return self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(WRITE_TIMEOUT_S)  # the response's writes get their own bound


class _QuietHandler(WSGIRequestHandler):
    read_timeout_s = READ_TIMEOUT_S

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(WRITE_TIMEOUT_S)
        deadline = time.monotonic() + self.read_timeout_s
        self.rfile.close()  # the stdlib's reader, replaced by one that keeps the deadline
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, deadline))

    def handle(self) -> None:
        try:
            super().handle()
        except (TimeoutError, ConnectionError) as exc:  # too slow, or gone: close, no traceback
            log.info("closed a Slack connection: %s", type(exc).__name__)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)


def make_http_server(
    bolt: BoltApp, signing_secret: str, host: str, port: int, *, read_timeout_s: float = READ_TIMEOUT_S
) -> WSGIServer:
    """`read_timeout_s`: how long a request may take to arrive, line, headers and body together."""
    handler = type("_Handler", (_QuietHandler,), {"read_timeout_s": read_timeout_s})
    return make_server(
        host, port, wsgi_app(bolt, signing_secret), server_class=_ThreadingServer, handler_class=handler
    )
