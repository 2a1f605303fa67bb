"""Slack credentials and endpoints, from the environment only (never from files, never logged).

The Web API base URL is configurable so tests can point the real SDK at a local mock and
sites can route Slack traffic through their own proxy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str = field(repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    http_host: str = "127.0.0.1"  # HTTP mode sits behind a TLS-terminating proxy (Slack needs https)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SlackConfig:
        e = os.environ if env is None else env
        url = e.get("SLACK_API_URL") or DEFAULT_API_URL
        return cls(
            bot_token=e.get("SLACK_BOT_TOKEN", ""),
            signing_secret=e.get("SLACK_SIGNING_SECRET", ""),
            app_token=e.get("SLACK_APP_TOKEN", ""),
            api_url=url if url.endswith("/") else url + "/",
            http_host=e.get("SLACK_HTTP_HOST") or "127.0.0.1",
        )

    def missing(self, http: bool) -> list[str]:
        """The variables this mode needs but the environment lacks (names only, never values)."""
        need = {"SLACK_BOT_TOKEN": self.bot_token}
        if http:
            need["SLACK_SIGNING_SECRET"] = self.signing_secret
        else:
            need["SLACK_APP_TOKEN"] = self.app_token
        return [name for name, value in need.items() if not value]
