"""`smime-doctor slack [--http --port N]`: Socket Mode by default, HTTP mode on request."""

from __future__ import annotations

import logging
import sys

from bot.slack.app import build_slack
from bot.slack.config import SlackConfig
from bot.slack.http import PATH, make_http_server
from workers.config import Settings

log = logging.getLogger("smime_doctor.slack")


def run_slack(settings: Settings, http: bool = False, port: int = 3000) -> int:
    """Run the Slack bot until interrupted. Returns the process exit code (2: not configured)."""

    config = SlackConfig.from_env()
    missing = config.missing(http)
    if missing:
        print(f"smime-doctor slack: set {', '.join(missing)} (see docs/slack.md)", file=sys.stderr)
        return 2
    from slack_bolt.error import BoltError  # deferred: only the Slack transport needs it
    from slack_sdk.errors import SlackApiError  # deferred: only the Slack transport needs it

    try:
        bot = build_slack(settings, config)  # Bolt checks the bot token with auth.test here
    except (BoltError, SlackApiError, OSError) as exc:
        print(
            f"smime-doctor slack: Slack did not accept the bot token ({type(exc).__name__})", file=sys.stderr
        )
        return 2
    bot.core.delivery.start()
    try:
        if http:
            server = make_http_server(bot.bolt, config.signing_secret, config.http_host, port)
            log.info("Slack HTTP mode on http://%s:%d%s", config.http_host, port, PATH)
            try:
                server.serve_forever()
            finally:
                server.server_close()
        else:
            from slack_bolt.adapter.socket_mode import (
                SocketModeHandler,  # deferred: only the Slack transport needs it
            )

            log.info("Slack Socket Mode: connecting")
            SocketModeHandler(bot.bolt, config.app_token).start()
    except KeyboardInterrupt:
        pass
    finally:
        bot.close()
    return 0
