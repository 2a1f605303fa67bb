"""The Bot Framework authentication the CloudAdapter uses: JWT validation of every inbound
activity against the Bot Framework's OpenID metadata, and app credentials for replies.

Without an app id the SDK treats a request without a token as anonymous — that is the
emulator mode, which TeamsConfig.check only allows for local use.
"""

from __future__ import annotations

from typing import Any

from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from botframework.connector.auth import AuthenticationConstants, BotFrameworkAuthentication

from bot.teams.config import TeamsConfig


class _SdkConfiguration:
    """The attribute names botbuilder's ConfigurationBotFrameworkAuthentication reads."""

    def __init__(self, config: TeamsConfig) -> None:
        self.APP_ID = config.app_id or None
        self.APP_PASSWORD = config.app_password or None
        self.APP_TYPE = config.app_type
        self.APP_TENANTID = config.tenant_id or None
        if config.openid_metadata_url:
            # A parameterised (non-default) cloud: every endpoint must then be given explicitly.
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = config.openid_metadata_url
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = config.openid_metadata_url
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
                config.channel_token_issuer or AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            )
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
            self.OAUTH_URL = AuthenticationConstants.OAUTH_URL
            self.VALIDATE_AUTHORITY = True


def make_authentication(config: TeamsConfig) -> BotFrameworkAuthentication:
    sdk: Any = _SdkConfiguration(config)
    return ConfigurationBotFrameworkAuthentication(sdk)
