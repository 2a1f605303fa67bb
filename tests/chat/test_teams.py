"""Teams as a person meets it, through the real aiohttp endpoint and CloudAdapter, replying to a
local fake Bot Framework connector (the activity's serviceUrl) that records what the bot sent;
real Redis and real RQ worker processes do the work. Conversation logic alone runs on
botbuilder's TestAdapter.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity
from cryptography.hazmat.primitives.asymmetric import rsa
from redis import Redis

from bot.app import build_app
from bot.render.cards import APPROVE_VERB, DENY_VERB
from bot.teams.bot import TeamsBot
from bot.teams.config import TeamsConfig
from bot.teams.server import APP_KEY, make_web_app, teams_lookup
from bot.teams.transport import ApprovalCards, TeamsTransport
from tests.chat.teams_connector import FakeConnector, Served
from tests.support.services import Workers
from workers.config import load_settings
from workers.errors import InputError

TENANT = "6466d060-f184-58a8-adf4-39c018141bb1"  # the demo tenant
STALE = "548ccbff-0911-5026-b473-35dd22634bd8"  # stale.smime
ADELE = "43e5317b-5ee9-55f3-8af5-d49dc5bcf852"  # adele.vance, helpdesk
ALEX = "402e4e30-ab5a-524c-80a2-0ceb6fac128c"  # alex.wilber, approver
TOM = "ed0d0459-1e8b-51db-b966-a16e81160b29"  # ts.user, 20 autoenrolled certificates
NORA = "a15ab098-744e-5137-880f-ac4ccb1a9c78"  # no.nickname, no role
ROLES = {"helpdesk": {"users": ["adele.vance"]}, "approver": {"users": ["alex.wilber"]}}
BOT = {"id": "28:smime-doctor-bot", "name": "S/MIME Doctor"}
APPROVERS_CHANNEL = "19:approvers@thread.tacv2"


def activity(
    connector: FakeConnector,
    text: str = "",
    *,
    user: str | None,
    locale: str = "en-US",
    conversation: str | None = None,
    kind: str = "personal",
    tenant: str = TENANT,
    **extra: Any,
) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": f"29:{user or 'anon'}", "name": "Adele Vance"}  # names lie; ids do not
    if user:
        sender["aadObjectId"] = user
    body = {
        "type": "message",
        "id": uuid.uuid4().hex,
        "timestamp": "2026-11-28T09:00:00Z",
        "serviceUrl": connector.url,
        "channelId": "msteams",
        "from": sender,
        "recipient": BOT,
        "conversation": {
            "id": conversation or f"a:personal-29:{user}",
            "conversationType": kind,
            "tenantId": tenant,
        },
        "channelData": {"tenant": {"id": tenant}},
        "locale": locale,
        "text": text,
    }
    body.update(extra)
    return body


def approvers_target(connector: FakeConnector) -> dict[str, Any]:
    return {
        "platform": "teams",
        "stream": "smime:outbox:teams",
        "lang": "en",
        "conversation_reference": {
            "serviceUrl": connector.url,
            "channelId": "msteams",
            "bot": BOT,
            "conversation": {"id": APPROVERS_CHANNEL, "conversationType": "channel", "tenantId": TENANT},
        },
    }


class Endpoint:
    def __init__(self, served: Served, connector: FakeConnector) -> None:
        self.served = served
        self.connector = connector

    def post(
        self, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> requests.Response:
        data = raw if raw is not None else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return requests.post(self.served.url + "/api/messages", data=data, headers=hdrs, timeout=30)

    @property
    def app(self) -> Any:
        return self.served.app[APP_KEY]


@pytest.fixture()
def connector() -> Iterator[FakeConnector]:
    c = FakeConnector().start()
    yield c
    c.stop()


@pytest.fixture()
def endpoint(redis_url: str, connector: FakeConnector) -> Iterator[Endpoint]:
    """The Teams endpoint in emulator mode (no app id), on Redis, with an approvers channel."""
    settings = load_settings(
        redis_url=redis_url, demo=True, roles=ROLES, approvers_targets=[approvers_target(connector)]
    )
    web_app = make_web_app(settings, TeamsConfig(tenant_id=TENANT), consumer="teams-test")
    served = Served(web_app).start()
    yield Endpoint(served, connector)
    served.stop()


def in_conversation(conversation: str, method: str | None = None, contains: str = "") -> Any:
    return lambda c: (
        c.conversation == conversation and (method is None or c.method == method) and contains in c.text
    )


# -- personal chat, channels, proactive delivery ----------------------------------------------


def test_personal_chat_in_english_and_german_answers_with_a_card(
    endpoint: Endpoint, workers: Workers
) -> None:
    workers.start(1)
    conn = endpoint.connector
    me = f"a:personal-29:{STALE}"
    assert endpoint.post(activity(conn, "is my cert published?", user=STALE)).status_code == 201
    working = conn.wait_for(in_conversation(me, "POST", "one moment"))
    answer = conn.wait_for(in_conversation(me, "PUT", "No — stale.smime@contoso.example"))
    assert answer.activity_id == working.new_id  # the answer replaced "one moment"
    card = answer.card
    assert card is not None and card["version"] == "1.5"
    assert card["body"][0]["text"].startswith("✗ No — stale.smime@contoso.example")  # headline first
    assert any(a["data"]["msteams"]["text"] == "check stale.smime@contoso.example" for a in card["actions"])

    assert (
        endpoint.post(
            activity(conn, "ist mein Zertifikat veröffentlicht?", user=STALE, locale="de-DE")
        ).status_code
        == 201
    )
    conn.wait_for(in_conversation(me, "POST", "einen Moment"))
    german = conn.wait_for(in_conversation(me, "PUT", "Nein — stale.smime@contoso.example"))
    assert "Was tun:" in german.text and "Warum:" in german.text  # her own status: the short answer
    # every answer came from the worker pool, and each question got exactly one answer
    assert len([c for c in conn.snapshot() if c.method == "PUT"]) == 2


def test_channel_mention_answers_in_personal_chat(endpoint: Endpoint, workers: Workers) -> None:
    workers.start(1)
    conn = endpoint.connector
    channel = "19:helpdesk@thread.tacv2;messageid=1"
    body = activity(
        conn,
        "<at>S/MIME Doctor</at> check stale.smime",
        user=ADELE,
        conversation=channel,
        kind="channel",
        entities=[{"type": "mention", "mentioned": BOT, "text": "<at>S/MIME Doctor</at>"}],
    )
    assert endpoint.post(body).status_code == 201
    note = conn.wait_for(in_conversation(channel, "POST"))
    assert note.text == "I have sent you the answer in a personal chat."
    personal = f"a:personal-29:{ADELE}"
    conn.wait_for(in_conversation(personal, "POST", "Checking stale.smime@contoso.example"))
    conn.wait_for(in_conversation(personal, "PUT", "No — stale.smime@contoso.example"))
    assert conn.created[0]["members"][0]["aadObjectId"] == ADELE
    in_channel = [c for c in conn.snapshot() if c.conversation == channel]
    assert len(in_channel) == 1 and in_channel[0].card is None  # nothing personal in the channel


def test_unknown_tenant_and_missing_aad_id_are_refused(endpoint: Endpoint) -> None:
    conn = endpoint.connector
    endpoint.post(activity(conn, "help", user=NORA, tenant="00000000-0000-0000-0000-000000000001"))
    conn.wait_for(lambda c: "only its own organisation" in c.text)
    endpoint.post(activity(conn, "help", user=None, conversation="a:anon"))
    conn.wait_for(lambda c: "no Entra user id" in c.text)


# -- approvals ------------------------------------------------------------------------------


def invoke(conn: FakeConnector, user: str, verb: str, request_id: str) -> dict[str, Any]:
    return activity(
        conn,
        user=user,
        conversation=APPROVERS_CHANNEL,
        kind="channel",
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": verb, "data": {"request_id": request_id}}},
    )


def test_reset_request_approval_cards_and_clicks(endpoint: Endpoint, workers: Workers) -> None:
    workers.start(1)
    conn = endpoint.connector
    me = f"a:personal-29:{TOM}"
    assert endpoint.post(activity(conn, "reset my published certs", user=TOM)).status_code == 201
    plan = conn.wait_for(in_conversation(me, "PUT", "what will change"))
    request_id = plan.text.split("Your request ", 1)[1].split(" ", 1)[0]
    assert request_id.startswith("R-")
    posted = conn.wait_for(in_conversation(APPROVERS_CHANNEL, "POST", request_id))
    assert posted.card is not None
    buttons = posted.card["actions"]
    assert [b["type"] for b in buttons] == ["Action.Execute", "Action.Execute"]
    assert buttons[0]["data"] == {"request_id": request_id}  # the id only; who clicks comes from Teams
    assert buttons[0]["fallback"]["type"] == "Action.Submit"

    mine = endpoint.post(invoke(conn, TOM, APPROVE_VERB, request_id))
    assert mine.status_code == 200
    assert mine.json()["type"] == "application/vnd.microsoft.activity.message"
    assert "your own request" in mine.json()["value"]
    stranger = endpoint.post(invoke(conn, NORA, APPROVE_VERB, request_id))
    assert "approver role" in stranger.json()["value"]
    assert endpoint.app.approvals.get(request_id).state == "pending"

    ok = endpoint.post(invoke(conn, ALEX, APPROVE_VERB, request_id))
    assert ok.status_code == 200 and ok.json()["type"] == "application/vnd.microsoft.card.adaptive"
    refreshed = ok.json()["value"]
    assert "actions" not in refreshed  # decided: no more buttons
    assert any("Approved by Alex Wilber" in b.get("text", "") for b in refreshed["body"])
    # the approvers' card is refreshed in place, and the requester is told
    update = conn.wait_for(in_conversation(APPROVERS_CHANNEL, "PUT", "Approved by Alex Wilber"))
    assert update.activity_id == posted.new_id
    conn.wait_for(in_conversation(me, "POST", "approved"))
    replay = endpoint.post(invoke(conn, ALEX, DENY_VERB, request_id))
    # refused: decided once (a worker may already have taken it further: executing, or failed on
    # the demo snapshot, which cannot be written to)
    assert re.search(r"already (approved|executing|failed) \(Alex Wilber\)", replay.json()["value"])


def test_action_submit_fallback_refreshes_the_card(endpoint: Endpoint, workers: Workers) -> None:
    workers.start(1)
    conn = endpoint.connector
    endpoint.post(activity(conn, "reset my published certs", user=TOM))
    posted = conn.wait_for(in_conversation(APPROVERS_CHANNEL, "POST", "R-"))
    request_id = posted.card["actions"][0]["data"]["request_id"]  # type: ignore[index]
    click = activity(
        conn,
        user=ALEX,
        conversation=APPROVERS_CHANNEL,
        kind="channel",
        replyToId=posted.new_id,
        value={"verb": DENY_VERB, "request_id": request_id},
    )
    assert endpoint.post(click).status_code == 201
    update = conn.wait_for(in_conversation(APPROVERS_CHANNEL, "PUT", "Denied by Alex Wilber"))
    assert update.activity_id == posted.new_id and "actions" not in (update.card or {})
    assert endpoint.app.approvals.get(request_id).state == "denied"


# -- what the endpoint refuses ----------------------------------------------------------------


def test_malformed_activities_get_400_and_nothing_happens(endpoint: Endpoint, redis_url: str) -> None:
    conn = endpoint.connector
    good = activity(conn, "is my cert published?", user=STALE)
    assert endpoint.post(None, raw=b"{not json").status_code == 400
    assert endpoint.post([good]).status_code == 400
    assert endpoint.post({k: v for k, v in good.items() if k != "type"}).status_code == 400
    assert endpoint.post({k: v for k, v in good.items() if k != "serviceUrl"}).status_code == 400
    assert endpoint.post({**good, "serviceUrl": "file:///etc/passwd"}).status_code == 400
    assert endpoint.post({**good, "conversation": "x"}).status_code == 400
    assert endpoint.post(good, headers={"Content-Type": "text/plain"}).status_code == 415
    time.sleep(0.5)
    assert conn.snapshot() == [] and conn.created == []
    r = Redis.from_url(redis_url)
    assert r.llen("rq:queue:interactive") == 0 and not r.keys("smime:targets:*")


def test_health_endpoint(endpoint: Endpoint) -> None:
    got = requests.get(endpoint.served.url + "/healthz", timeout=10)
    assert got.status_code == 200 and got.json() == {"status": "ok", "redis": "ok"}


# -- JWT validation (app id configured) ---------------------------------------------------------

APP_ID = "11111111-2222-3333-4444-555555555555"
ISSUER = "https://api.botframework.com"


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def b64(n: int) -> str:
        return base64.urlsafe_b64encode(n.to_bytes((n.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    return {
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": b64(numbers.n),
        "e": b64(numbers.e),
        "endorsements": ["msteams"],
    }


@pytest.fixture()
def openid(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A local HTTPS OpenID metadata + JWKS server (trustme CA) holding one signing key."""
    import trustme
    from aiohttp import web
    from botframework.connector.auth import JwtTokenExtractor

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    app = web.Application()
    served = Served(app, ssl_context=server_ctx)

    async def metadata(_: web.Request) -> web.Response:
        return web.json_response({"issuer": ISSUER, "jwks_uri": served.url + "/keys"})

    async def keys(_: web.Request) -> web.Response:
        return web.json_response({"keys": [_jwk(key, "good-key")]})

    app.router.add_get("/openid", metadata)
    app.router.add_get("/keys", keys)
    served.start()
    yield served.url + "/openid", key
    JwtTokenExtractor.metadataCache.pop(served.url + "/openid", None)
    served.stop()


def token(
    key: rsa.RSAPrivateKey, service_url: str, *, kid: str = "good-key", iss: str = ISSUER, aud: str = APP_ID
) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "serviceurl": service_url, "nbf": now - 10, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_jwt_validation_rejects_missing_garbage_and_foreign_tokens(
    redis_url: str, connector: FakeConnector, openid: tuple[str, rsa.RSAPrivateKey]
) -> None:
    metadata_url, key = openid
    settings = load_settings(redis_url=redis_url, demo=True, roles=ROLES)
    config = TeamsConfig(
        app_id=APP_ID, app_password="not-logged", tenant_id=TENANT, openid_metadata_url=metadata_url
    )
    served = Served(make_web_app(settings, config, consumer="teams-jwt")).start()
    endpoint = Endpoint(served, connector)
    try:
        message = activity(connector, "help", user=STALE)
        assert endpoint.post(message).status_code == 401  # no token
        assert endpoint.post(message, {"Authorization": "Bearer not.a.jwt"}).status_code == 401
        assert endpoint.post(message, {"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 401
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = token(stranger, connector.url)  # right kid and claims, wrong key
        assert endpoint.post(message, {"Authorization": f"Bearer {forged}"}).status_code == 401
        unknown_kid = token(stranger, connector.url, kid="other-key")
        assert endpoint.post(message, {"Authorization": f"Bearer {unknown_kid}"}).status_code == 401
        wrong_issuer = token(key, connector.url, iss="https://evil.example")
        assert endpoint.post(message, {"Authorization": f"Bearer {wrong_issuer}"}).status_code == 401
        other_bot = token(key, connector.url, aud="99999999-2222-3333-4444-555555555555")
        assert endpoint.post(message, {"Authorization": f"Bearer {other_bot}"}).status_code == 401
        other_service = token(key, "https://elsewhere.example/")
        assert endpoint.post(message, {"Authorization": f"Bearer {other_service}"}).status_code == 401
        # a token the Bot Framework would send is accepted (an activity the bot does not answer)
        typing = {**message, "type": "typing", "text": None}
        good = token(key, connector.url)
        assert endpoint.post(typing, {"Authorization": f"Bearer {good}"}).status_code == 201
        time.sleep(0.3)
        assert connector.snapshot() == []  # the rejected activities reached nobody
    finally:
        served.stop()


def test_emulator_mode_is_refused_with_an_app_id_or_in_production() -> None:
    TeamsConfig().check(emulator=True)
    with pytest.raises(InputError, match="refused when MICROSOFT_APP_ID"):
        TeamsConfig(app_id=APP_ID, app_password="x").check(emulator=True)
    with pytest.raises(InputError, match="SMIME_DOCTOR_PRODUCTION"):
        TeamsConfig(production=True).check(emulator=True)
    with pytest.raises(InputError, match="MICROSOFT_APP_ID is not set"):
        TeamsConfig().check(emulator=False)
    with pytest.raises(InputError, match="MICROSOFT_APP_TENANT_ID"):
        TeamsConfig(app_id=APP_ID, app_password="x", production=True).check(emulator=False)
    assert "not-logged" not in repr(TeamsConfig(app_id=APP_ID, app_password="not-logged"))


# -- conversation logic on botbuilder's TestAdapter -------------------------------------------


def test_conversation_logic_on_test_adapter() -> None:
    """Help in both languages, the working message, and the job target carrying the reference."""
    settings = load_settings(demo=True, roles=ROLES)
    app = build_app(settings, {})
    app.identity.register("teams", teams_lookup)
    adapter = TestAdapter()
    transport = TeamsTransport(adapter, "", ApprovalCards())
    bot = TeamsBot(app, transport, bot_app_id="", tenant_id=TENANT, stream=None)
    adapter.logic = bot.on_turn

    def say(text: str, user: str | None = STALE, locale: str = "en-US") -> list[Activity]:
        sender: dict[str, Any] = {"id": "29:x", "name": "Someone"}
        if user:
            sender["aadObjectId"] = user
        incoming = Activity().deserialize(
            {
                "type": "message",
                "text": text,
                "locale": locale,
                "from": sender,
                "channelData": {"tenant": {"id": TENANT}},
                "conversation": {"id": "a:1", "conversationType": "personal", "tenantId": TENANT},
            }
        )
        asyncio.run(adapter.receive_activity(incoming))
        out = []
        while adapter.activity_buffer:
            out.append(adapter.activity_buffer.pop(0))
        return out

    try:
        assert "check" in say("help")[0].text
        assert "Sie können fragen" in say("hilfe", locale="de-DE")[0].text
        assert "no Entra user id" in say("help", user=None)[0].text
        working = say("is my cert published?")
        assert working[0].text.startswith("Checking stale.smime@contoso.example")
        entry = next(iter(app.outbox.read(timeout=60)))
        target = entry.message["target"]
        assert target["platform"] == "teams" and target["lang"] == "en"
        assert target["conversation_reference"]["conversation"]["id"] == "a:1"
        assert entry.message["answer"]["type"] == "report"
    finally:
        app.close()
