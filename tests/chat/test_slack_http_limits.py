"""Slack HTTP mode under slow or oversized clients: a request must arrive — line, headers and body —
within the read deadline or its connection is closed, whatever pace the client trickles at; a
body over the limit is refused unread; meanwhile everyone else is served. And an enormous
message is acknowledged at once: no parsing stands between the request and the ack.

Real sockets against the real Bolt app behind bot/slack/http.py (deadline shortened to 1 s).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bot.slack.http import MAX_BODY, make_http_server
from handlers.chat import TOO_LONG
from tests.chat.test_slack import SECRET, Slack, slack, slack_api  # noqa: F401  (fixtures)

DEADLINE_S = 1.0


@pytest.fixture()
def limited(slack: Slack) -> Iterator[Slack]:  # noqa: F811
    """The same bot behind a second endpoint whose requests must arrive within DEADLINE_S."""
    server = make_http_server(slack.bot.bolt, SECRET, "127.0.0.1", 0, read_timeout_s=DEADLINE_S)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Slack(slack.bot, slack.api, server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def trickle(
    port: int, first: bytes, drip: bytes, every_s: float = 0.2, give_up_s: float = 10.0
) -> tuple[float, bytes]:
    """Send `first`, then `drip` byte by byte (forever, if need be) until the server closes the
    connection. Returns (seconds from connecting to the close, what the server answered)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    opened = time.monotonic()
    answer = b""
    try:
        sock.sendall(first)
        sock.settimeout(every_s)
        i = 0
        while time.monotonic() - opened < give_up_s:
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    return time.monotonic() - opened, answer  # closed by the server
                answer += chunk
                continue
            except TimeoutError:
                pass
            except ConnectionError:
                return time.monotonic() - opened, answer
            try:
                sock.sendall(drip[i % len(drip) : i % len(drip) + 1])
                i += 1
            except ConnectionError:  # closed while we were sending
                return time.monotonic() - opened, answer
        raise AssertionError(f"the server kept a trickling connection open for {give_up_s}s")
    finally:
        sock.close()


def head(length: int) -> bytes:
    return (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0=00\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("what", "first", "drip"),
    [
        ("a body, one byte every 0.2 s", head(10_000), b"x"),
        ("the headers, one byte every 0.2 s", b"POST /slack/events HTTP/1.1\r\n", b"X-Slow: 1"),
        ("nothing after connecting", b"", b""),
    ],
)
def test_a_trickling_client_is_cut_off_at_the_deadline_while_others_are_served(
    limited: Slack, what: str, first: bytes, drip: bytes
) -> None:
    port = int(limited.url.split(":")[2].split("/")[0])
    result: dict[str, tuple[float, bytes]] = {}

    def client() -> None:
        result["slow"] = trickle(port, first, drip) if drip else _silent(port)

    slow = threading.Thread(target=client, daemon=True)
    slow.start()
    time.sleep(0.3)  # the slow client holds its connection (and a server thread) now
    status, _, elapsed = limited.command("U0STALE", "help", channel="D0STALE")
    assert status == 200 and elapsed < DEADLINE_S, what  # served meanwhile, not queued behind it
    assert slow.is_alive(), "the slow client was cut off before anyone else was served"
    slow.join(15)
    assert "slow" in result, f"{what}: the server never closed the connection"
    closed_after, answer = result["slow"]
    assert DEADLINE_S - 0.1 <= closed_after < DEADLINE_S + 1.5, (what, closed_after)
    if drip == b"x":  # headers complete: the client is told why
        assert answer.startswith(b"HTTP/1.0 408"), answer[:100]
    status, _, _ = limited.command("U0STALE", "help", channel="D0STALE")
    assert status == 200  # and the server goes on serving


def _silent(port: int) -> tuple[float, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    opened = time.monotonic()
    try:
        data = sock.recv(65536)
        while data:
            data = sock.recv(65536)
        return time.monotonic() - opened, b""
    except ConnectionError:
        return time.monotonic() - opened, b""
    finally:
        sock.close()


def test_a_body_over_the_limit_is_refused_before_it_is_read(limited: Slack) -> None:
    port = int(limited.url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head(MAX_BODY + 1))  # and not a byte of the body
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 413")


def test_an_enormous_slash_command_is_acked_at_once_and_refused_in_one_sentence(slack: Slack) -> None:  # noqa: F811
    """39 KB built to make the old parser backtrack (6.8 s of CPU before the ack): the ack now
    leaves at once and the asker is told, in their direct messages, to ask in one sentence."""
    text = ("why " + "a to " * 8000)[:39_000] + "#"
    status, body, elapsed = slack.command("U0STALE", text)
    assert status == 200 and elapsed < 1.0, elapsed
    assert "direct messages" in body
    refusal = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0STALE")[0]
    assert refusal.args["text"] == TOO_LONG["en"]
    german = ("warum kann " + "x an " * 8000)[:39_000] + "#"
    assert slack.dm("U0NORA", german)[2] < 1.0
    refusal = slack.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0NORA")[0]
    assert refusal.args["text"] == TOO_LONG["de"]
    slack.bot.wait_idle()
