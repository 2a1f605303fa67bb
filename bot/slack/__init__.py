"""The Slack transport: a slack-bolt app in Socket Mode (default) or HTTP mode.

`run_slack(settings, http, port)` is the entry point behind `smime-doctor slack`.
"""

from __future__ import annotations

from bot.slack.run import run_slack

__all__ = ["run_slack"]
