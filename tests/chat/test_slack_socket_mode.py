"""The Slack bot in Socket Mode, the way `smime-doctor slack` runs by default: the real process,
slack_bolt's builtin slack_sdk Socket Mode client, real sockets on loopback. A local Socket Mode
server (tests/chat/slack_socket.py) plays Slack's WebSocket side, MockSlack the Web API (it
hands out the WebSocket URL from `apps.connections.open`), with real Redis and real RQ workers
answering from the demo tenant.

What people notice: the bot connects with the app-level token only; every envelope is acked
over the socket within Slack's 3 seconds and the answer turns up in the asker's DM; Slack's
redelivery of an event is acked but answered once; when Slack rotates the connection the bot
reconnects and keeps answering; Ctrl-C ends the process promptly and cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chat.slack_mock import BOT_USER, MockSlack
from tests.chat.slack_socket import APP_ID, Ack, SocketModeServer
from tests.chat.test_slack import USERS, action_ids, section_texts
from tests.support.services import ROOT, Workers
from tests.support.waiting import wait_until

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0SMIME-1-socketmodetest"
ACK_LIMIT_S = 3.0  # Slack's deadline for an ack


class BotProcess:
    """`smime-doctor slack` (Socket Mode) as its own process, with its output kept for failures."""

    def __init__(
        self, redis_url: str, api: MockSlack, log: Path, env_extra: dict[str, str] | None = None
    ) -> None:
        script = Path(sys.executable).with_name("smime-doctor")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_API_URL": api.url,
                "SMIME_DOCTOR_REDIS_URL": redis_url,
                "SMIME_DOCTOR_DEMO": "true",
                **(env_extra or {}),
            }
        )
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [*command, "slack"],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: our Ctrl-C below is the only one it gets
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 20.0) -> int:
        """Ctrl-C, as an operator stops it; the exit code. A hang is a failure, not a kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"smime-doctor slack did not stop within {timeout}s:\n{self.output()}"
            ) from None
        finally:
            self._out.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._out.close()


class SocketSlack:
    """Slack's side of a Socket Mode app: the WebSocket server, the Web API mock, the bot process."""

    def __init__(self, server: SocketModeServer, api: MockSlack, bot: BotProcess) -> None:
        self.server = server
        self.api = api
        self.bot = bot

    def connected(self, count: int = 1) -> int:
        """Wait for the bot's `count`-th connection (the hello was sent); its number."""
        try:
            return self.server.wait_connected(count, timeout=60).number
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nbot output:\n{self.bot.output()}") from None

    def command(self, user: str, text: str, channel: str = "C0GENERAL") -> str:
        payload = {
            "token": "legacy-unused",
            "team_id": "T0TEST",
            "team_domain": "contoso-test",
            "channel_id": channel,
            "channel_name": "general" if channel.startswith("C") else "directmessage",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/smime",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.invalid/commands/1",
            "trigger_id": f"trig-{time.monotonic_ns()}",
        }
        return self.server.send("slash_commands", payload, accepts_response_payload=True)

    def dm(self, user: str, text: str, event_id: str, *, retry: int = 0) -> str:
        payload = {
            "token": "legacy-unused",
            "team_id": "T0TEST",
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "authorizations": [{"team_id": "T0TEST", "user_id": BOT_USER, "is_bot": True}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": "D" + user[1:],
                "user": user,
                "text": text,
                "ts": "1700000000.000100",  # the same message on every delivery
            },
        }
        return self.server.send(
            "events_api", payload, retry_attempt=retry, retry_reason="timeout" if retry else None
        )

    def click(self, user: str, action_id: str, value: str, channel: str, ts: str) -> str:
        payload = {
            "type": "block_actions",
            "team": {"id": "T0TEST"},
            "user": {"id": user},
            "api_app_id": APP_ID,
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "container": {"type": "message", "channel_id": channel, "message_ts": ts},
            "channel": {"id": channel},
            "message": {"ts": ts, "text": "answer"},
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }
        return self.server.send("interactive", payload, accepts_response_payload=False)

    def acked(self, envelope_id: str) -> Ack:
        """The envelope's single ack, in time."""
        ack = self.server.wait_ack(envelope_id, timeout=10)
        assert ack.seconds < ACK_LIMIT_S, ack
        assert len(self.server.acks_of(envelope_id)) == 1
        return ack

    def stop(self) -> None:
        """The operator's Ctrl-C: exit code 0 promptly, and the bot's socket is gone."""
        code = self.bot.stop()
        assert code == 0, f"exit code {code}:\n{self.bot.output()}"
        self.server.wait_all_closed()


@pytest.fixture()
def socket_slack(redis_url: str, tmp_path: Path) -> Iterator[SocketSlack]:
    server = SocketModeServer().start()
    api = MockSlack(dict(USERS)).start()
    api.socket_url = server.issue_url
    bot = BotProcess(redis_url, api, tmp_path / "smime-doctor-slack.log")
    try:
        yield SocketSlack(server, api, bot)
    finally:
        bot.kill()  # only if a test failed before its clean stop
        api.stop()
        server.stop()


def diagnosis_of(api: MockSlack, dm: str, working_ts: str) -> list[dict[str, Any]]:
    """The blocks the "one moment" message in `dm` was replaced with."""
    update = api.wait_for("chat.update", lambda c: c.args["channel"] == dm and c.args["ts"] == working_ts)[0]
    return list(update.args["blocks"])


def test_connects_with_the_app_token_and_answers_over_the_socket(
    socket_slack: SocketSlack, workers: Workers
) -> None:
    s = socket_slack
    workers.start(1)
    assert s.connected() == 1
    opens = s.api.of("apps.connections.open")
    assert [c.token for c in opens] == [APP_TOKEN]  # the app-level token, never the bot token
    assert all(c.token == BOT_TOKEN for c in s.api.calls if c.method != "apps.connections.open")
    assert s.api.of("auth.test")  # Bolt checked the bot token at start-up
    assert not s.server.refused

    # a slash command in a channel: acked at once, the private pointer rides on the ack
    envelope = s.command("U0STALE", "status")
    ack = s.acked(envelope)
    assert ack.connection == 1
    assert ack.payload is not None and "direct messages" in ack.payload["text"]
    working = s.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0STALE")[0]
    assert "one moment" in working.args["text"]
    blocks = diagnosis_of(s.api, "D0STALE", working.ts)
    assert blocks[0]["text"]["text"].startswith(":x: *No — stale.smime@contoso.example")
    assert "*Why:*" in section_texts(blocks)  # her own status: the short answer
    assert action_ids(blocks) == ["smime_check_again", "smime_why_me", "smime_reset"]
    assert not s.api.of("chat.postMessage", lambda c: c.args["channel"] == "C0GENERAL")

    # a button on that answer arrives as an `interactive` envelope: acked, and answered again
    again = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    click = s.click("U0STALE", again["action_id"], again["value"], "D0STALE", working.ts)
    assert s.acked(click).payload is None
    second = s.api.wait_for(
        "chat.postMessage",
        lambda c: c.args["channel"] == "D0STALE" and "one moment" in c.args["text"],
        count=2,
    )[1]
    assert "stale.smime@contoso.example" in diagnosis_of(s.api, "D0STALE", second.ts)[0]["text"]["text"]

    assert all(not c.other for c in s.server.connections)  # the bot sent nothing but acks
    s.stop()
    assert len(s.api.of("apps.connections.open")) == 1  # one connection was all it needed


def test_a_redelivered_direct_message_is_acked_twice_and_answered_once(
    socket_slack: SocketSlack, workers: Workers
) -> None:
    s = socket_slack
    workers.start(1)
    s.connected()
    question = "ist mein Zertifikat veröffentlicht?"
    first = s.dm("U0NORA", question, "Ev0GERMANSOCKET")
    # Slack did not see the ack in time and delivers the same event again: new envelope, same event_id
    retry = s.dm("U0NORA", question, "Ev0GERMANSOCKET", retry=1)
    assert first != retry
    assert s.acked(first).payload is None and s.acked(retry).payload is None
    working = s.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0NORA")[0]
    assert "einen Moment" in working.args["text"]
    blocks = diagnosis_of(s.api, "D0NORA", working.ts)
    assert "mailNickname" in section_texts(blocks)
    assert "Erneut prüfen" in json.dumps(blocks, ensure_ascii=False)
    # A clean stop waits for every handed-off request (the bot's pool shuts down with wait=True),
    # so a second answer to the retry would have been posted by the time the process is gone.
    s.stop()
    assert len(s.api.of("chat.postMessage", lambda c: c.args["channel"] == "D0NORA")) == 1
    assert len(s.api.of("chat.update", lambda c: c.args["channel"] == "D0NORA")) == 1


def test_after_slack_refreshes_the_connection_the_bot_reconnects_and_keeps_answering(
    socket_slack: SocketSlack, workers: Workers
) -> None:
    s = socket_slack
    workers.start(1)
    assert s.connected() == 1
    s.acked(s.command("U0STALE", "status"))
    s.api.wait_for("chat.update", lambda c: c.args["channel"] == "D0STALE")

    old = s.server.refresh()  # {"type": "disconnect", "reason": "refresh_requested"}, then close
    assert old.number == 1 and not old.open
    new = s.connected(2)
    assert new >= 2
    opens = s.api.of("apps.connections.open")
    assert len(opens) >= 2 and {c.token for c in opens} == {APP_TOKEN}  # a fresh URL, the app token
    assert not s.server.refused  # it did not try the old one-time URL again

    after = s.command("U0ALEX", "status")
    ack = s.acked(after)
    assert ack.connection == new  # over the new connection
    assert ack.payload is not None and "direct messages" in ack.payload["text"]
    working = s.api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0ALEX")[0]
    headline = diagnosis_of(s.api, "D0ALEX", working.ts)[0]["text"]["text"]
    assert "Yes — alex.wilber@contoso.example" in headline
    s.stop()


def test_on_port_443_the_socket_is_tls_and_the_certificate_is_verified(
    redis_url: str, tmp_path: Path, workers: Workers
) -> None:
    """Slack's real URLs are wss:// on 443. There the client speaks TLS and verifies the server:
    a certificate from a CA it does not trust gets no connection at all; with that CA trusted
    (SSL_CERT_FILE, which the default SSL context reads) it connects and answers."""
    import ssl

    import certifi
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = SocketModeServer(port=443, ssl_context=server_ctx).start()
    api = MockSlack(dict(USERS)).start()
    api.socket_url = server.issue_url
    public_cas = {"SSL_CERT_FILE": certifi.where()}  # what a production host trusts, not the test CA
    untrusting = BotProcess(redis_url, api, tmp_path / "untrusting.log", public_cas)
    trusting: BotProcess | None = None
    try:
        api.wait_for("apps.connections.open", timeout=30)  # it got a wss:// URL and tried it
        wait_until(
            lambda: "CERTIFICATE_VERIFY_FAILED" in untrusting.output(), 30, "the bot to refuse the test CA"
        )
        assert server.connections == [], untrusting.output()  # the TLS handshake never completed
        assert untrusting.stop() == 0
        assert "CERTIFICATE_VERIFY_FAILED" in untrusting.output()

        workers.start(1)
        trusting = BotProcess(redis_url, api, tmp_path / "trusting.log", {"SSL_CERT_FILE": str(ca_file)})
        s = SocketSlack(server, api, trusting)
        s.connected()
        s.acked(s.command("U0STALE", "status"))
        working = api.wait_for("chat.postMessage", lambda c: c.args["channel"] == "D0STALE")[0]
        assert diagnosis_of(api, "D0STALE", working.ts)[0]["text"]["text"].startswith(":x: *No — stale.smime")
        s.stop()
    finally:
        untrusting.kill()
        if trusting is not None:
            trusting.kill()
        api.stop()
        server.stop()
