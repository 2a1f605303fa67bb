"""The Bot Framework authentication the CloudAdapter uses: JWT validation of every inbound
activity against the Bot Framework's OpenID metadata, and app credentials for replies.

Without an app id the SDK treats a request without a token as anonymous — that is the
emulator mode, which TeamsConfig.check only allows for local use.

Outbound (botframework-connector 4.17.1, read from its source): every connector client — one per
inbound turn, per create_conversation and per proactive continue_conversation — asks the
credentials factory for new MicrosoftAppCredentials, so a new msal ConfidentialClientApplication
with an empty token cache: one token request per message sent. `_ReusedCredentials` keeps them
instead, so the token is requested once and renewed by msal before it expires. The authority
is `https://login.microsoftonline.com/<tenant>` (SingleTenant) or `…/botframework.com`
(MultiTenant) when the login URL starts with that host; any other login URL is used verbatim
(_PrivateCloudAppCredentials ignores the tenant, hence `login_url` below appends it). msal
validates an authority whose host it does not know by asking login.microsoftonline.com (instance
discovery); botbuilder's VALIDATE_AUTHORITY never reaches msal.
"""

from __future__ import annotations

from typing import Any

from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ServiceClientCredentialsFactory,
)

from bot.teams.config import TeamsConfig


class _SdkConfiguration:
    """The attribute names botbuilder's ConfigurationBotFrameworkAuthentication reads."""

    def __init__(self, config: TeamsConfig) -> None:
        self.APP_ID = config.app_id or None
        self.APP_PASSWORD = config.app_password or None
        self.APP_TYPE = config.app_type
        self.APP_TENANTID = config.tenant_id or None
        if config.openid_metadata_url or config.login_url:
            # A parameterised (non-default) cloud: every endpoint must then be given explicitly
            # (BotFrameworkAuthenticationFactory switches on any one of them); those not
            # overridden keep the public cloud's values, so inbound validation is unchanged.
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = (
                config.openid_metadata_url or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
            )
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = (
                config.openid_metadata_url or AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
            )
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
                config.channel_token_issuer or AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            )
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = (
                login_url(config) or AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
            )
            self.OAUTH_URL = AuthenticationConstants.OAUTH_URL
            self.VALIDATE_AUTHORITY = True


def login_url(config: TeamsConfig) -> str | None:
    """The authority for the outbound token when SMIME_DOCTOR_TEAMS_LOGIN_URL is set: its host
    plus the tenant botbuilder would put there itself on the public cloud — ours for SingleTenant
    (and UserAssignedMSI, which ignores it), the Bot Framework's for MultiTenant. botbuilder uses
    a login URL off login.microsoftonline.com verbatim and drops APP_TENANTID, so the tenant has
    to be in it; a single-tenant app is unknown to the botframework.com tenant (AADSTS700016)."""
    if not config.login_url:
        return None
    single = config.app_type in ("SingleTenant", "UserAssignedMSI") and config.tenant_id
    tenant = config.tenant_id if single else AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT
    return f"{config.login_url.rstrip('/')}/{tenant}"


class _ReusedCredentials(ServiceClientCredentialsFactory):
    """botbuilder's credentials factory, with the credentials kept per (app, scope, authority).

    botbuilder asks for new credentials — so a new msal app with an empty token cache — for
    every turn and every proactive delivery: one token request to Entra (a round trip before
    each answer) per message sent. Kept here, msal's cache inside them hands out the same token
    until it renews it shortly before expiry. The key set is tiny (one app, one or two scopes)."""

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self._inner = inner
        self._made: dict[tuple[str, str, str, bool], AppCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return await self._inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        return await self._inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = await self._inner.create_credentials(*key)
        return made


def make_authentication(config: TeamsConfig) -> BotFrameworkAuthentication:
    sdk: Any = _SdkConfiguration(config)
    factory = _ReusedCredentials(ConfigurationServiceClientCredentialFactory(sdk))
    return ConfigurationBotFrameworkAuthentication(sdk, credentials_factory=factory)
