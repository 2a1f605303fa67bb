"""The Teams bot's outbound authentication, as production runs it: an app id and password, a
valid inbound Bot Framework JWT, and every reply / proactive message carrying the bearer token
botbuilder got from Entra with the client-credentials grant.

A local HTTPS "login" server (trustme CA) plays both Microsoft sides: the Bot Framework's OpenID
metadata for inbound tokens, and Entra's instance discovery, tenant discovery and token
endpoint for outbound ones. The fake connector answers 401 to any call without that token.

What botbuilder 4.17.1 does here (botframework/connector/auth, read from its source):
- `_ConnectorFactoryImpl.create` → `PasswordServiceClientCredentialFactory.create_credentials`
  builds a *new* `MicrosoftAppCredentials` for every connector client (one per inbound turn, per
  `create_conversation`, per proactive `continue_conversation`), and that builds a new msal
  `ConfidentialClientApplication` with its own empty token cache: one token request per message
  sent. `bot.teams.auth._ReusedCredentials` keeps the credentials per app, scope and authority,
  so the tests expect one token request per bot process (a new process: a new request).
- A login URL on login.microsoftonline.com gives the authority `…/<APP_TENANTID>` (SingleTenant)
  or `…/botframework.com`; any other login URL is used verbatim (`_PrivateCloudAppCredentials`),
  which is why `bot.teams.auth.login_url` appends the tenant itself.
- msal does instance discovery for a host it does not know, against login.microsoftonline.com
  (`_get_instance_discovery_endpoint` in msal.authority, and in msal.application for the
  aliases lookup after a failed token request); botbuilder's VALIDATE_AUTHORITY is not passed
  on. The tests redirect those lookups to the local server (no other patching).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import pytest
from aiohttp import web
from botframework.connector.auth import (
    ClaimsIdentity,
    JwtTokenExtractor,
    MicrosoftAppCredentials,
    MicrosoftGovernmentAppCredentials,
)
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.teams.auth import make_authentication
from bot.teams.config import TeamsConfig
from bot.teams.server import make_web_app
from tests.chat.teams_connector import FakeConnector, Served
from tests.chat.test_teams import (
    APP_ID,
    APPROVERS_CHANNEL,
    ISSUER,
    ROLES,
    STALE,
    TENANT,
    TOM,
    Endpoint,
    _jwk,
    activity,
    approvers_target,
    in_conversation,
    token,
)
from tests.support.services import Workers
from tests.support.waiting import wait_until
from workers.config import load_settings
from workers.errors import InputError

SECRET = "s3cret-~Q8.app-password-" + "x" * 8  # the app password; must never be logged
BOTFRAMEWORK_TENANT = "botframework.com"
SCOPE = "https://api.botframework.com/.default"


@dataclass
class TokenRequest:
    """What the token endpoint saw (never the secret: only whether it was right)."""

    path: str
    grant_type: str | None
    client_id: str | None
    scope: str | None
    secret_ok: bool
    status: int


@dataclass
class Login:
    """The local Microsoft sign-in side. `home_tenant` is where the app registration lives: a
    multi-tenant bot's app is known to the botframework.com tenant, a single-tenant one only to
    its own (Entra answers AADSTS700016 elsewhere)."""

    served: Served
    key: rsa.RSAPrivateKey
    home_tenant: str = BOTFRAMEWORK_TENANT
    access_token: str = field(default_factory=lambda: "bf-" + secrets.token_urlsafe(24))
    tokens: list[TokenRequest] = field(default_factory=list)
    discovered: list[str] = field(default_factory=list)  # authorization_endpoint asked about

    @property
    def url(self) -> str:
        return self.served.url

    def wait_tokens(self, count: int, timeout: float = 30) -> list[TokenRequest]:
        wait_until(lambda: len(self.tokens) >= count, timeout, f"{count} token request(s)")
        return list(self.tokens)


def login_app(login: Callable[[], Login]) -> web.Application:
    app = web.Application()

    async def openid(_: web.Request) -> web.Response:  # inbound: the Bot Framework's metadata
        return web.json_response({"issuer": ISSUER, "jwks_uri": login().url + "/keys"})

    async def keys(_: web.Request) -> web.Response:
        return web.json_response({"keys": [_jwk(login().key, "good-key")]})

    async def instance_discovery(request: web.Request) -> web.Response:
        # what login.microsoftonline.com/common/discovery/instance answers for a known cloud
        endpoint = request.query.get("authorization_endpoint", "")
        login().discovered.append(endpoint)
        tenant = urlparse(endpoint).path.strip("/").split("/")[0]
        host = urlparse(login().url).netloc
        return web.json_response(
            {
                "tenant_discovery_endpoint": f"{login().url}/{tenant}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    async def tenant_discovery(request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        base = f"{login().url}/{tenant}"
        return web.json_response(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
            }
        )

    async def token_endpoint(request: web.Request) -> web.Response:
        form = await request.post()
        tenant = request.match_info["tenant"]

        def answer(status: int, body: dict[str, Any]) -> web.Response:
            login().tokens.append(
                TokenRequest(
                    request.path,
                    _str(form.get("grant_type")),
                    _str(form.get("client_id")),
                    _str(form.get("scope")),
                    form.get("client_secret") == SECRET,
                    status,
                )
            )
            return web.json_response(body, status=status)

        if form.get("grant_type") != "client_credentials":
            return answer(400, {"error": "unsupported_grant_type"})
        if form.get("client_id") != APP_ID or tenant != login().home_tenant:
            return answer(
                400,
                {
                    "error": "unauthorized_client",
                    "error_description": f"AADSTS700016: Application with identifier '{_str(form.get('client_id'))}' "
                    f"was not found in the directory '{tenant}'.",
                },
            )
        if form.get("client_secret") != SECRET:
            return answer(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                    f"being sent in the request is the client secret value, not the client secret ID, "
                    f"for a secret added to app '{APP_ID}'.",
                },
            )
        return answer(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": login().access_token,
            },
        )

    app.router.add_get("/openid", openid)
    app.router.add_get("/keys", keys)
    app.router.add_get("/common/discovery/instance", instance_discovery)
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", tenant_discovery)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token_endpoint)
    return app


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@pytest.fixture()
def login(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Login]:
    import msal.application
    import msal.authority
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # requests: botbuilder's JWKS fetch and msal
    holder: list[Login] = []
    served = Served(login_app(lambda: holder[0]), ssl_context=server_ctx)
    holder.append(Login(served, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    served.start()
    # msal asks login.microsoftonline.com whether an unknown host is an Entra instance (when it
    # builds the authority, and for its aliases after a failed token request); ask us.
    discovery = served.url + "/common/discovery/instance"
    monkeypatch.setattr(msal.authority, "_get_instance_discovery_endpoint", lambda _: discovery)
    monkeypatch.setattr(msal.application, "_get_instance_discovery_endpoint", lambda _: discovery)
    yield holder[0]
    JwtTokenExtractor.metadataCache.pop(served.url + "/openid", None)
    served.stop()


@pytest.fixture()
def connector(login: Login) -> Iterator[FakeConnector]:
    c = FakeConnector(require_token=login.access_token).start()
    yield c
    c.stop()


@pytest.fixture()
def start_bot(redis_url: str, connector: FakeConnector, login: Login) -> Iterator[Callable[..., Endpoint]]:
    """Start the real endpoint with an app id and password (production mode, not the emulator)."""
    started: list[Served] = []

    def start(app_type: str = "MultiTenant", password: str = SECRET) -> Endpoint:
        settings = load_settings(
            redis_url=redis_url, demo=True, roles=ROLES, approvers_targets=[approvers_target(connector)]
        )
        config = TeamsConfig(
            app_id=APP_ID,
            app_password=password,
            tenant_id=TENANT,
            app_type=app_type,
            openid_metadata_url=login.url + "/openid",
            login_url=login.url,
        )
        config.check(emulator=False)
        served = Served(make_web_app(settings, config, consumer=f"teams-auth-{len(started)}")).start()
        started.append(served)
        return Endpoint(served, connector)

    yield start
    for served in started:
        served.stop()


def turn_failed(caplog: pytest.LogCaptureFixture) -> bool:
    """The bot logged its one-line "turn failed" error (it does that before the "Sorry" reply)."""
    return any(
        r.levelno >= logging.ERROR
        and r.name == "smime_doctor.teams"
        and r.getMessage().startswith("turn failed")
        for r in caplog.records
    )


def signed(login: Login, connector: FakeConnector) -> dict[str, str]:
    """The Authorization header the Bot Framework puts on an activity for this bot."""
    return {"Authorization": f"Bearer {token(login.key, connector.url)}"}


def me(user: str) -> str:
    return f"a:personal-29:{user}"


# -- the reply carries the token ------------------------------------------------------------------


def test_reply_carries_the_bearer_token_from_the_token_endpoint(
    start_bot: Callable[..., Endpoint], login: Login, connector: FakeConnector
) -> None:
    endpoint = start_bot()
    assert endpoint.post(activity(connector, "help", user=STALE), signed(login, connector)).status_code == 201
    reply = connector.wait_for(in_conversation(me(STALE), "POST", "check"), timeout=30)
    assert reply.authorization == f"Bearer {login.access_token}"
    assert connector.refused == []
    assert login.tokens == [
        TokenRequest(
            f"/{BOTFRAMEWORK_TENANT}/oauth2/v2.0/token", "client_credentials", APP_ID, SCOPE, True, 200
        )
    ]
    # msal validated the authority it was given (botframework.com for a multi-tenant bot); it
    # names the instance by host only, without the port
    assert login.discovered == [f"https://127.0.0.1/{BOTFRAMEWORK_TENANT}/oauth2/v2.0/authorize"]

    # A second message: botbuilder alone would build new credentials (a new msal app and token
    # cache) and ask Entra again; the kept credentials answer from msal's cache.
    assert (
        endpoint.post(
            activity(connector, "hilfe", user=STALE, locale="de-DE"), signed(login, connector)
        ).status_code
        == 201
    )
    second = connector.wait_for(in_conversation(me(STALE), "POST", "Sie können fragen"), timeout=30)
    assert second.authorization == f"Bearer {login.access_token}"
    assert len(login.tokens) == 1 and all(t.status == 200 and t.scope == SCOPE for t in login.tokens)
    assert len(connector.snapshot()) == 2 and connector.refused == []


# -- single tenant -----------------------------------------------------------------------------


def test_single_tenant_bot_asks_its_own_tenant_and_a_multi_tenant_setting_is_refused(
    start_bot: Callable[..., Endpoint],
    login: Login,
    connector: FakeConnector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    login.home_tenant = TENANT  # a single-tenant app registration: botframework.com does not know it
    endpoint = start_bot(app_type="SingleTenant")
    assert endpoint.post(activity(connector, "help", user=STALE), signed(login, connector)).status_code == 201
    reply = connector.wait_for(in_conversation(me(STALE), "POST", "check"), timeout=30)
    assert reply.authorization == f"Bearer {login.access_token}"
    assert [(t.path, t.client_id, t.scope, t.status) for t in login.tokens] == [
        (f"/{TENANT}/oauth2/v2.0/token", APP_ID, SCOPE, 200)
    ]
    assert all(BOTFRAMEWORK_TENANT not in d for d in login.discovered)

    # The same app configured as MultiTenant asks botframework.com, which refuses: nothing is sent.
    caplog.set_level(logging.INFO, logger="smime_doctor.teams")
    calls_before = len(connector.snapshot())
    wrong = start_bot(app_type="MultiTenant")
    assert wrong.post(activity(connector, "help", user=STALE), signed(login, connector)).status_code == 201
    login.wait_tokens(2)
    wait_until(lambda: turn_failed(caplog), 30, "the failed turn to be logged")
    # the turn's reply, maybe again for the error handler's "Sorry" (same credentials: msal
    # may hold back an identical request that just failed with 400)
    refused = login.tokens[1:]
    assert 1 <= len(refused) <= 2
    assert {(t.path, t.status) for t in refused} == {(f"/{BOTFRAMEWORK_TENANT}/oauth2/v2.0/token", 400)}
    assert len(connector.snapshot()) == calls_before and connector.refused == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "smime_doctor.teams"]
    assert len(errors) == 1 and "AADSTS700016" in logging.Formatter().format(errors[0])


def test_public_cloud_authority_and_scope_without_a_login_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (no SMIME_DOCTOR_TEAMS_LOGIN_URL) keeps botbuilder's built-in public cloud —
    inbound validation included — and its credentials name the right authority; nothing is
    fetched here (msal is only built when a token is needed)."""

    def credentials(config: TeamsConfig) -> Any:
        auth = make_authentication(config)
        factory = auth.create_connector_factory(ClaimsIdentity({"aud": APP_ID}, True))
        client = asyncio.run(factory.create("https://smba.trafficmanager.net/emea/"))
        return auth, client.config.credentials

    single = TeamsConfig(app_id=APP_ID, app_password=SECRET, tenant_id=TENANT, app_type="SingleTenant")
    auth, creds = credentials(single)
    assert type(auth._inner).__name__ == "_PublicCloudBotFrameworkAuthentication"  # type: ignore[attr-defined]
    assert type(creds) is MicrosoftAppCredentials
    assert creds.oauth_endpoint == f"https://login.microsoftonline.com/{TENANT}"
    assert creds.oauth_scope == "https://api.botframework.com"
    multi = TeamsConfig(app_id=APP_ID, app_password=SECRET, tenant_id=TENANT, app_type="MultiTenant")
    assert credentials(multi)[1].oauth_endpoint == "https://login.microsoftonline.com/botframework.com"
    # naming the public host explicitly changes nothing; a government host gets the gov credentials
    explicit = TeamsConfig(
        app_id=APP_ID,
        app_password=SECRET,
        tenant_id=TENANT,
        app_type="SingleTenant",
        login_url="https://login.microsoftonline.com/",
    )
    assert credentials(explicit)[1].oauth_endpoint == f"https://login.microsoftonline.com/{TENANT}"
    gov = TeamsConfig(
        app_id=APP_ID,
        app_password=SECRET,
        tenant_id=TENANT,
        app_type="SingleTenant",
        login_url="https://login.microsoftonline.us",
    )
    gov_creds = credentials(gov)[1]
    assert type(gov_creds) is MicrosoftGovernmentAppCredentials
    assert gov_creds.oauth_endpoint == f"https://login.microsoftonline.us/{TENANT}"
    monkeypatch.delenv("SMIME_DOCTOR_TEAMS_LOGIN_URL", raising=False)
    assert TeamsConfig.from_env().login_url is None
    monkeypatch.setenv("SMIME_DOCTOR_TEAMS_LOGIN_URL", " https://login.microsoftonline.us ")
    assert TeamsConfig.from_env().login_url == "https://login.microsoftonline.us"
    with pytest.raises(InputError, match="SMIME_DOCTOR_TEAMS_LOGIN_URL"):
        TeamsConfig(app_id=APP_ID, app_password="x", login_url="http://login.example").check(emulator=False)


# -- a wrong password ---------------------------------------------------------------------------


def test_wrong_app_password_sends_nothing_and_logs_one_error_without_the_secret(
    start_bot: Callable[..., Endpoint],
    login: Login,
    connector: FakeConnector,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, msal's and urllib3's debug lines included
    wrong = "wrong-" + SECRET
    endpoint = start_bot(password=wrong)
    assert endpoint.post(activity(connector, "help", user=STALE), signed(login, connector)).status_code == 201
    login.wait_tokens(1)
    wait_until(lambda: turn_failed(caplog), 30, "the failed turn to be logged")
    seen = list(login.tokens)  # the turn's reply, and (unless msal holds it back) the "Sorry"
    assert 1 <= len(seen) <= 2
    assert {(t.client_id, t.secret_ok, t.status) for t in seen} == {(APP_ID, False, 401)}
    assert connector.snapshot() == [] and connector.refused == [] and connector.created == []

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "smime_doctor.teams"
    line = logging.Formatter().format(errors[0])
    assert "\n" not in line  # one line: Entra's reason and what to check, no traceback
    assert line.startswith("turn failed: the bot could not get its Bot Framework token")
    assert "invalid_client" in line and "AADSTS7000215" in line and "MICROSOFT_APP_PASSWORD" in line
    logged = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    out = capsys.readouterr()
    for text in (logged, out.out, out.err):
        assert SECRET not in text and wrong not in text


# -- proactive delivery ---------------------------------------------------------------------------


def test_proactive_answer_and_approval_notice_carry_the_token(
    start_bot: Callable[..., Endpoint], login: Login, connector: FakeConnector, workers: Workers
) -> None:
    workers.start(1)
    endpoint = start_bot()
    body = activity(connector, "reset my published certs", user=TOM)
    assert endpoint.post(body, signed(login, connector)).status_code == 201
    plan = connector.wait_for(in_conversation(me(TOM), "PUT", "what will change"))  # delivery thread
    request_id = plan.text.split("Your request ", 1)[1].split(" ", 1)[0]
    notice = connector.wait_for(in_conversation(APPROVERS_CHANNEL, "POST", request_id))
    assert notice.card is not None
    time.sleep(0.5)
    calls = connector.snapshot()
    assert connector.refused == []
    assert {c.authorization for c in calls} == {f"Bearer {login.access_token}"}
    # "one moment" (the turn), the plan and the approvers' notice (one delivery each): each its
    # own connector client, all with the one token
    assert len(calls) == 3 and len(login.tokens) == 1
    assert all((t.client_id, t.scope, t.status) == (APP_ID, SCOPE, 200) for t in login.tokens)
