"""An HTTPS emulator of Entra ID sign-in, the Exchange Online REST admin API and Microsoft Graph.

Real msal and our clients talk to it over sockets on 127.0.0.1. It verifies client
credentials (the RS256 client assertion against the registered certificate, or the secret),
issues tokens with ``aud`` and ``roles``, checks the bearer token on every call, and speaks
the services' wire formats: paging, ``$select``, errors in the real shape, throttling
(429 + Retry-After, a per-service concurrency limit), injectable latency and failures.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import re
import secrets
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import requests
import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.emulators.m365.model import CERT_PROPS, Tenant

EXO_AUDIENCE = "https://outlook.office365.com"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
SCOPES = {
    "https://outlook.office365.com/.default": (EXO_AUDIENCE, ["Exchange.ManageAsApp"]),
    "https://graph.microsoft.com/.default": (GRAPH_AUDIENCE, ["User.Read.All", "Organization.Read.All"]),
}
ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@"
CONCURRENCY_MESSAGE = (
    "You have reached the maximum number of concurrent requests per tenant. Please wait and try again"
)
GRAPH_DEFAULT_USER = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)


@dataclass
class AppCredentials:
    """The app registration the emulator accepts (as a tenant admin would hand it over)."""

    tenant: str
    tenant_id: str
    client_id: str
    client_secret: str
    private_key_pem: str
    certificate_pem: str
    thumbprint: str  # SHA-1 hex of the certificate, upper case


@dataclass
class Fault:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Knobs:
    latency_s: float = 0.0  # added to every Exchange Online and Graph call
    token_latency_s: float = 0.0
    token_lifetime_s: int = 3600  # expires_in told to the client
    page_size_cap: int = 1000  # Exchange Online's largest page
    concurrency_limit: dict[str, int] = field(default_factory=dict)  # service -> max in flight
    recipient_properties: bool = True  # False: Get-Recipient ignores -Properties (certificates left out)


def _make_app_credentials(tenant: Tenant) -> AppCredentials:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smime-doctor emulator app")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return AppCredentials(
        tenant=tenant.domain,
        tenant_id=tenant.tenant_id,
        client_id=str(uuid.uuid4()),
        client_secret=secrets.token_urlsafe(24),
        private_key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        thumbprint=hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - a certificate thumbprint
    )


class M365Emulator:
    """State and handlers; ``start_emulator`` runs it in a background thread."""

    def __init__(self, tenant: Tenant, knobs: Knobs | None = None) -> None:
        self.tenant = tenant
        self.knobs = knobs or Knobs()
        self.app_credentials = _make_app_credentials(tenant)
        self._cert = x509.load_pem_x509_certificate(self.app_credentials.certificate_pem.encode())
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.calls: list[tuple[str, str]] = []  # (service, what) for every authorised service call
        self._faults: dict[str, list[Fault]] = {"token": [], "exo": [], "graph": []}
        self._batch_throttle = 0
        self._batch_retry_after = 0.0
        self._in_flight: Counter[str] = Counter()
        self._not_before = 0.0  # tokens issued before this instant are refused (revocation / expiry)
        self.base_url = ""

    # -- knobs used by tests ------------------------------------------------------------------
    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.calls.clear()

    def reset(self) -> None:
        """Defaults again: no faults, no throttling, no latency, fresh counters (the tenant is kept)."""
        with self._lock:
            self.knobs = Knobs()
            for queue in self._faults.values():
                queue.clear()
            self._batch_throttle = 0
            self.counts.clear()
            self.calls.clear()

    def fail_next(
        self,
        service: str,
        status: int,
        body: bytes | dict[str, Any] = b"",
        *,
        count: int = 1,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``count`` calls to ``service`` ("token", "exo", "graph") answer this instead."""
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        with self._lock:
            self._faults[service].extend(
                Fault(status, raw, content_type, dict(headers or {})) for _ in range(count)
            )

    def throttle_next(
        self, service: str, count: int = 1, *, retry_after: float | None = 1, status: int = 429
    ) -> None:
        headers = (
            {"Retry-After": str(int(retry_after) if float(retry_after).is_integer() else retry_after)}
            if retry_after is not None
            else {}
        )
        body = {
            "error": {
                "code": "TooManyRequests",
                "message": "Too many requests. Please retry after some time.",
            }
        }
        self.fail_next(service, status, body, count=count, headers=headers)

    def throttle_batch_items(self, count: int, *, retry_after: float = 1) -> None:
        """The next ``count`` $batch sub-requests answer 429 with Retry-After on their own."""
        with self._lock:
            self._batch_throttle += count
            self._batch_retry_after = retry_after

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (as if it had expired server-side)."""
        with self._lock:
            self._not_before = time.time() + 0.001

    def _take_fault(self, service: str) -> Fault | None:
        with self._lock:
            return self._faults[service].pop(0) if self._faults[service] else None

    def _count(self, key: str, what: str | None = None) -> None:
        with self._lock:
            self.counts[key] += 1
            if what is not None:
                self.calls.append((key, what))

    # -- the aiohttp application -----------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.openid_configuration)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self.token)
        app.router.add_post("/adminapi/beta/{tenant}/InvokeCommand", self.invoke_command)
        app.router.add_get("/v1.0/users", self.graph_users)
        app.router.add_get("/v1.0/users/{key}", self.graph_user)
        app.router.add_get("/v1.0/organization", self.graph_organization)
        app.router.add_get("/v1.0/groups", self.graph_groups)
        app.router.add_get("/v1.0/groups/{key}", self.graph_groups)
        app.router.add_get("/v1.0/users/{key}/transitiveMemberOf/microsoft.graph.group", self.graph_groups)
        app.router.add_post("/v1.0/$batch", self.graph_batch)
        return app

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response:
        return web.Response(
            status=fault.status,
            body=fault.body,
            headers={"Content-Type": fault.content_type, **fault.headers},
        )

    # -- sign-in ------------------------------------------------------------------------------------
    def _token_endpoint(self, tenant: str) -> str:
        return f"{self.base_url}/{tenant}/oauth2/v2.0/token"

    async def openid_configuration(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        self._count("discovery")
        if not self.tenant.is_tenant(tenant):
            return _aad_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        tid = self.tenant.tenant_id
        return web.json_response(
            {
                "token_endpoint": self._token_endpoint(tenant),
                "authorization_endpoint": f"{self.base_url}/{tenant}/oauth2/v2.0/authorize",
                "issuer": f"{self.base_url}/{tid}/v2.0",
                "jwks_uri": f"{self.base_url}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "response_types_supported": ["code", "id_token"],
                "tenant_region_scope": "EU",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        self._count("token")
        tenant = request.match_info["tenant"]
        if self.knobs.token_latency_s:
            await asyncio.sleep(self.knobs.token_latency_s)
        fault = self._take_fault("token")
        if fault:
            return self._fault_response(fault)
        form = await request.post()
        app = self.app_credentials
        if not self.tenant.is_tenant(tenant):
            return _aad_error(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."
            )
        client_id = str(form.get("client_id") or "")
        if client_id != app.client_id:
            return _aad_error(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory '{tenant}'.",
            )
        assertion = form.get("client_assertion")
        if assertion is not None:
            problem = self._check_assertion(
                str(assertion), tenant, client_id, str(form.get("client_assertion_type") or "")
            )
            if problem:
                return _aad_error(401, "invalid_client", problem)
        elif not secrets.compare_digest(str(form.get("client_secret") or ""), app.client_secret):
            return _aad_error(
                401,
                "invalid_client",
                f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        scope = str(form.get("scope") or "")
        requested = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
        if len(requested) != 1 or requested[0] not in SCOPES:
            return _aad_error(
                400,
                "invalid_scope",
                f"AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            )
        audience, roles = SCOPES[requested[0]]
        now = time.time()
        lifetime = int(self.knobs.token_lifetime_s)
        claims = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant.tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + lifetime,
            "appid": client_id,
            "tid": self.tenant.tenant_id,
            "roles": roles,
            "idtyp": "app",
            "iat_precise": now,
            "jti": uuid.uuid4().hex,
        }
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": token,
            }
        )

    def _check_assertion(
        self, assertion: str, tenant: str, client_id: str, assertion_type: str
    ) -> str | None:
        if assertion_type != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "AADSTS700023: Client assertion type is not jwt-bearer."
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return "AADSTS50027: JWT token is invalid or malformed."
        if _b64_any(header.get("x5t")) != bytes.fromhex(self.app_credentials.thumbprint):
            return (
                f"AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of key used by client: "
                f"'{header.get('x5t')}']"
            )
        try:
            claims = jwt.decode(
                assertion,
                self._cert.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=self._token_endpoint(tenant),
                options={"require": ["exp", "aud", "iss", "sub"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError:
            return "AADSTS700024: Client assertion is not within its valid time range."
        except jwt.InvalidAudienceError:
            return "AADSTS700021: Client assertion audience claim does not match Realm issuer."
        except jwt.PyJWTError as exc:
            return f"AADSTS700027: Client assertion failed signature validation. ({type(exc).__name__})"
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return (
                "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter."
            )
        return None

    def _check_bearer(self, request: web.Request, audience: str) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _bearer_error("Authorization header is missing or not a bearer token")
        try:
            claims = jwt.decode(auth[7:], self._signing_key, algorithms=["HS256"], audience=audience)
        except jwt.ExpiredSignatureError:
            return _bearer_error("The token is expired")
        except jwt.InvalidAudienceError:
            return _bearer_error(f"The audience of the token is not {audience}")
        except jwt.PyJWTError:
            return _bearer_error("The token is invalid")
        if float(claims.get("iat_precise", claims.get("iat", 0))) < self._not_before:
            return _bearer_error("The token is expired")
        needed = SCOPES[audience + "/.default"][1][0]
        if needed not in claims.get("roles", []):
            return web.json_response(
                {
                    "error": {
                        "code": "Authorization_RequestDenied",
                        "message": f"The token lacks the role {needed}.",
                    }
                },
                status=403,
            )
        return None

    async def _service_call(
        self,
        service: str,
        audience: str,
        request: web.Request,
        what: str,
        handler: Callable[[], Awaitable[web.Response]],
    ) -> web.Response:
        self._count(service)
        denied = self._check_bearer(request, audience)
        if denied is not None:
            return denied
        limit = self.knobs.concurrency_limit.get(service)
        with self._lock:
            self._in_flight[service] += 1
            over = limit is not None and self._in_flight[service] > limit
        try:
            if over:
                return _exo_error(
                    429,
                    "TooManyRequests",
                    CONCURRENCY_MESSAGE,
                    "Microsoft.Exchange.Throttling.ConcurrencyLimitException",
                )
            fault = self._take_fault(service)
            if self.knobs.latency_s:
                await asyncio.sleep(self.knobs.latency_s)
            if fault:
                return self._fault_response(fault)
            self._count(service + ":ok", what)
            return await handler()
        finally:
            with self._lock:
                self._in_flight[service] -= 1

    # -- Exchange Online ----------------------------------------------------------------------------
    async def invoke_command(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        try:
            body = await request.json()
            cmd = body["CmdletInput"]
            name, params = str(cmd["CmdletName"]), dict(cmd.get("Parameters") or {})
        except (ValueError, KeyError, TypeError, AttributeError):
            name, params = "", {}

        async def run() -> web.Response:
            if not self.tenant.is_tenant(tenant):
                return _exo_error(
                    404,
                    "NotFound",
                    f"Tenant {tenant} not found",
                    "Microsoft.Exchange.Data.Directory.TenantNotFoundException",
                )
            anchor = request.headers.get("X-AnchorMailbox", "")
            if not anchor.startswith(ANCHOR):
                return _exo_error(
                    400,
                    "BadRequest",
                    "X-AnchorMailbox header is missing or not APP:SystemMailbox{...}@tenant",
                    "System.ArgumentException",
                )
            if not name:
                return _exo_error(
                    400,
                    "BadRequest",
                    'The request body is not {"CmdletInput":{...}}',
                    "System.ArgumentException",
                )
            return self._run_cmdlet(request, name, params)

        return await self._service_call("exo", EXO_AUDIENCE, request, name or "?", run)

    def _run_cmdlet(self, request: web.Request, name: str, params: dict[str, Any]) -> web.Response:
        t = self.tenant
        identity = params.get("Identity")
        props = (
            {str(p).lower() for p in (params.get("Properties") or [])}
            if self.knobs.recipient_properties
            else set()
        )
        if name == "Get-SmimeConfig":
            return self._page(request, [copy.deepcopy(t.smime_config)], "SmimeConfig")
        if name == "Set-SmimeConfig":
            return self._set_smime_config(params)
        if name == "Get-OwaMailboxPolicy":
            pols = [
                p
                for p in t.owa_policies
                if identity is None
                or str(identity).lower() in (str(p.get("Identity")).lower(), str(p.get("Name")).lower())
            ]
            if identity is not None and not pols:
                return _not_found(str(identity))
            return self._page(request, pols, "OwaMailboxPolicy")
        kinds: dict[str, Callable[[dict[str, Any]], bool]] = {
            "Get-Recipient": lambda r: True,
            "Get-Mailbox": _is_mailbox,
            "Get-CASMailbox": _is_mailbox,
            "Get-MailUser": lambda r: str(r.get("RecipientTypeDetails")) in ("MailUser", "GuestMailUser"),
            "Set-Mailbox": _is_mailbox,
            "Set-MailUser": lambda r: str(r.get("RecipientTypeDetails")) in ("MailUser", "GuestMailUser"),
        }
        if name not in kinds:
            return _exo_error(
                400,
                "BadRequest",
                f"The term '{name}' is not recognized as a name of a cmdlet.",
                "System.Management.Automation.CommandNotFoundException",
            )
        if identity is not None:
            found = [r for r in t.find_recipients(str(identity)) if kinds[name](r)]
            if not found:
                return _not_found(str(identity))
            if len(found) > 1:
                return _exo_error(
                    400,
                    "BadRequest",
                    f"The operation couldn't be performed because '{identity}' matches multiple entries.",
                    "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException",
                )
        else:
            if name.startswith("Set-"):
                return _exo_error(400, "BadRequest", "Identity is required.", "System.ArgumentException")
            found = [r for r in t.recipients if kinds[name](r)]
        if name.startswith("Set-"):
            return self._set_recipient(name, found[0], params)
        if name == "Get-CASMailbox":
            found = [
                {
                    "Identity": r.get("Identity"),
                    "Name": r.get("Name"),
                    "PrimarySmtpAddress": r.get("PrimarySmtpAddress"),
                    "ExternalDirectoryObjectId": r.get("ExternalDirectoryObjectId"),
                    "OWAEnabled": True,
                    "OwaMailboxPolicy": "OwaMailboxPolicy-Default",
                    "ActiveSyncEnabled": True,
                    "MAPIEnabled": True,
                }
                for r in found
            ]
        elif name == "Get-Recipient":  # a ReducedRecipient: certificates only when asked for with -Properties
            found = [
                {
                    k: v
                    for k, v in r.items()
                    if k.split("@", 1)[0].lower() not in {p.lower() for p in CERT_PROPS} - props
                }
                for r in found
            ]
        return self._page(request, found, name.split("-", 1)[1])

    def _set_recipient(self, cmdlet: str, recipient: dict[str, Any], params: dict[str, Any]) -> web.Response:
        """Set-Mailbox / Set-MailUser: certificate properties of a cloud-only recipient."""
        changing = [p for p in params if p != "Identity"]
        if str(recipient.get("IsDirSynced")).lower() == "true":
            what = "mailbox" if cmdlet == "Set-Mailbox" else "mail user"
            return _exo_error(
                400,
                "BadRequest",
                f"The operation on {what} \"{recipient.get('Identity')}\" failed because it's out of the current user's write scope. "
                f"The action '{cmdlet}', '{', '.join(changing)}', can't be performed on the object '{recipient.get('Identity')}' "
                "because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization.",
                "Microsoft.Exchange.Configuration.Tasks.TaskInvalidOperationException",
            )
        for p in changing:
            if p in CERT_PROPS:
                recipient[p] = [] if params[p] is None else params[p]
        recipient["WhenChangedUTC"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return web.Response(status=204)

    def _set_smime_config(self, params: dict[str, Any]) -> web.Response:
        """Set-SmimeConfig -SMIMECertificateIssuingCA <base64 SST | $null>; an SST holding an expired
        certificate is refused, as Exchange Online does."""
        from workers.certs.sst import read_sst
        from workers.errors import SstError

        if "SMIMECertificateIssuingCA" not in params:
            return web.Response(status=204)
        value = params["SMIMECertificateIssuingCA"]
        if value in (None, ""):
            self.tenant.smime_config["SMIMECertificateIssuingCA"] = None
            return web.Response(status=204)
        try:
            ders = read_sst(base64.b64decode(str(value), validate=True))
        except (ValueError, SstError):
            return _exo_error(
                400,
                "BadRequest",
                "Cannot process argument transformation on parameter 'SMIMECertificateIssuingCA'. "
                "The value is not a valid serialized certificate store.",
                "System.Management.Automation.ParameterBindingArgumentTransformationException",
            )
        now = datetime.now(UTC)
        for der in ders:
            cert = x509.load_der_x509_certificate(der)
            if cert.not_valid_after_utc <= now:
                thumb = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - Exchange thumbprints are SHA-1
                return _exo_error(
                    400,
                    "BadRequest",
                    f"The certificate with subject '{cert.subject.rfc4514_string()}' and thumbprint {thumb} "
                    "has expired. Remove expired certificates from the serialized certificate store and try again.",
                    "Microsoft.Exchange.Management.SystemConfigurationTasks.SmimeCertificateExpiredException",
                )
        self.tenant.smime_config["SMIMECertificateIssuingCA"] = str(value)
        return web.Response(status=204)

    def _page(self, request: web.Request, items: list[dict[str, Any]], entity: str) -> web.Response:
        select = [s for s in request.query.get("$select", "").split(",") if s]
        prefer = re.search(r"odata\.maxpagesize=(\d+)", request.headers.get("Prefer", ""))
        size = min(int(prefer.group(1)) if prefer else self.knobs.page_size_cap, self.knobs.page_size_cap)
        skip = int(request.query.get("$skiptoken", "0") or 0)
        page = [_project_exo(r, select) for r in items[skip : skip + size]]
        data: dict[str, Any] = {
            "@odata.context": f"{self.base_url}/adminapi/beta/$metadata#{entity}",
            "value": page,
        }
        if skip + size < len(items):
            query = {k: v for k, v in request.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(skip + size)
            data["@odata.nextLink"] = (
                f"{self.base_url}{request.path}?{urlencode(query, safe='$,', quote_via=quote)}"
            )
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if prefer else {}
        return web.json_response(data, headers=headers)

    # -- Graph --------------------------------------------------------------------------------------
    async def graph_user(self, request: web.Request) -> web.Response:
        return await self._service_call(
            "graph",
            GRAPH_AUDIENCE,
            request,
            "user",
            lambda: _as_coro(self._graph_get(request.path_qs, dict(request.headers))),
        )

    async def graph_users(self, request: web.Request) -> web.Response:
        return await self._service_call(
            "graph",
            GRAPH_AUDIENCE,
            request,
            "users",
            lambda: _as_coro(self._graph_get(request.path_qs, dict(request.headers))),
        )

    async def graph_groups(self, request: web.Request) -> web.Response:
        return await self._service_call(
            "graph",
            GRAPH_AUDIENCE,
            request,
            "groups",
            lambda: _as_coro(self._graph_groups(request.path_qs)),
        )

    def _graph_groups(self, path_qs: str) -> web.Response:
        """/groups?$filter=…, /groups/{id} and /users/{id}/transitiveMemberOf/microsoft.graph.group."""
        from urllib.parse import parse_qsl, unquote, urlsplit

        parts = urlsplit(path_qs)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        select = [s for s in query.get("$select", "").split(",") if s]
        path = unquote(parts.path)
        wire = [{k: v for k, v in g.items() if k != "members"} for g in self.tenant.groups]
        if path.endswith("/transitiveMemberOf/microsoft.graph.group"):
            key = path.split("/")[3].lower()
            idx = self.tenant.user_index.get(key)
            if idx is None:
                return _graph_error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist.")
            ids = {
                str(g["id"]).lower() for g in self.tenant.transitive_groups(str(self.tenant.users[idx]["id"]))
            }
            chosen = [g for g in wire if str(g["id"]).lower() in ids]
        elif path.startswith("/v1.0/groups/"):
            key = path[len("/v1.0/groups/") :].lower()
            one = [g for g in wire if str(g["id"]).lower() == key]
            if not one:
                return _graph_error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist.")
            return web.json_response(_project(one[0], select, None))
        else:
            match = _graph_filter(query.get("$filter", "")) if query.get("$filter") else (lambda g: True)
            if match is None:
                return _graph_error(400, "BadRequest", f"Invalid filter clause: {query.get('$filter')}")
            chosen = [g for g in wire if match(g)]
        return web.json_response(
            {
                "@odata.context": f"{GRAPH_AUDIENCE}/v1.0/$metadata#groups",
                "value": [_project(g, select, None) for g in chosen],
            }
        )

    async def graph_organization(self, request: web.Request) -> web.Response:
        return await self._service_call(
            "graph",
            GRAPH_AUDIENCE,
            request,
            "organization",
            lambda: _as_coro(self._graph_get(request.path_qs, dict(request.headers))),
        )

    async def graph_batch(self, request: web.Request) -> web.Response:
        async def run() -> web.Response:
            try:
                body = await request.json()
                reqs = body["requests"]
                assert isinstance(reqs, list)
            except (ValueError, KeyError, TypeError, AssertionError):
                return _graph_error(400, "BadRequest", "Invalid batch payload.")
            if len(reqs) > 20:
                return _graph_error(
                    400, "BadRequest", "The number of batch requests exceeds the limit of 20."
                )
            responses = []
            for sub in reqs:
                self._count("graph_batch_items")
                with self._lock:
                    throttle = self._batch_throttle > 0
                    if throttle:
                        self._batch_throttle -= 1
                if throttle:
                    responses.append(
                        {
                            "id": sub.get("id"),
                            "status": 429,
                            "headers": {"Retry-After": str(self._batch_retry_after)},
                            "body": {"error": {"code": "TooManyRequests", "message": "Too many requests"}},
                        }
                    )
                    continue
                url = "/v1.0" + str(sub.get("url", ""))
                resp = self._graph_get(url, {str(k): str(v) for k, v in (sub.get("headers") or {}).items()})
                responses.append(
                    {
                        "id": sub.get("id"),
                        "status": resp.status,
                        "headers": {"Content-Type": "application/json"},
                        "body": json.loads(bytes(resp.body)) if resp.body else None,  # type: ignore[arg-type]
                    }
                )
            return web.json_response({"responses": responses})

        return await self._service_call("graph", GRAPH_AUDIENCE, request, "$batch", run)

    def _graph_get(self, path_qs: str, headers: dict[str, str]) -> web.Response:
        from urllib.parse import parse_qsl, unquote, urlsplit

        parts = urlsplit(path_qs)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        select = [s for s in query.get("$select", "").split(",") if s]
        path = unquote(parts.path)
        if path == "/v1.0/organization":
            return web.json_response(
                {
                    "@odata.context": f"{GRAPH_AUDIENCE}/v1.0/$metadata#organization",
                    "value": [_project(self.tenant.organization, select, None)],
                }
            )
        if path.startswith("/v1.0/users/"):
            key = path[len("/v1.0/users/") :].lower()
            idx = self.tenant.user_index.get(key)
            if idx is None:
                return _graph_error(
                    404,
                    "Request_ResourceNotFound",
                    f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
                )
            return web.json_response(_project(self.tenant.users[idx], select, GRAPH_DEFAULT_USER))
        if path != "/v1.0/users":
            return _graph_error(400, "BadRequest", f"Resource not found for the segment '{path}'.")
        users = self.tenant.users
        flt = query.get("$filter")
        if flt:
            advanced = "proxyaddresses/any" in flt.lower()
            if advanced and (
                headers.get("ConsistencyLevel", headers.get("consistencylevel")) != "eventual"
                or query.get("$count") != "true"
            ):
                return _graph_error(
                    400,
                    "Request_UnsupportedQuery",
                    "Unsupported or invalid query filter clause specified for property 'proxyAddresses' of resource 'User'.",
                )
            match = _graph_filter(flt)
            if match is None:
                return _graph_error(400, "BadRequest", f"Invalid filter clause: {flt}")
            users = [u for u in users if match(u)]
        try:
            top = min(int(query.get("$top", "100")), 999)
            skip = int(query.get("$skiptoken", "0") or 0)
        except ValueError:
            return _graph_error(400, "BadRequest", "Invalid $top or $skiptoken.")
        data: dict[str, Any] = {
            "@odata.context": f"{GRAPH_AUDIENCE}/v1.0/$metadata#users",
            "value": [_project(u, select, GRAPH_DEFAULT_USER) for u in users[skip : skip + top]],
        }
        if skip + top < len(users):
            q = {k: v for k, v in query.items() if k != "$skiptoken"}
            q["$skiptoken"] = str(skip + top)
            data["@odata.nextLink"] = (
                f"{self.base_url}{parts.path}?{urlencode(q, safe='$,', quote_via=quote)}"
            )
        return web.json_response(data)


def _b64_any(value: Any) -> bytes | None:
    """x5t as msal writes it (standard base64 with padding) or as RFC 7515 says (base64url)."""
    if not isinstance(value, str):
        return None
    text = value.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None


async def _as_coro(resp: web.Response) -> web.Response:
    return resp


def _is_mailbox(r: dict[str, Any]) -> bool:
    kind = str(r.get("RecipientTypeDetails") or "")
    return kind.endswith("Mailbox") and kind != "GroupMailbox"


def _project(record: dict[str, Any], select: list[str], default: tuple[str, ...] | None) -> dict[str, Any]:
    wanted = select or (list(default) if default else list(record))
    lower = {k.lower(): k for k in record}
    return {lower[w.lower()]: record[lower[w.lower()]] for w in wanted if w.lower() in lower}


def _project_exo(record: dict[str, Any], select: list[str]) -> dict[str, Any]:
    """$select keeps the named properties with their ``@odata.type`` annotations."""
    if not select:
        return copy.deepcopy(record)
    out: dict[str, Any] = {}
    lower = {k.lower(): k for k in record}
    for name in select:
        key = lower.get(name.lower())
        if key is None:
            continue
        if isinstance(record[key], list):
            out[f"{key}@odata.type"] = record.get(f"{key}@odata.type", "#Collection(String)")
        out[key] = copy.deepcopy(record[key])
    return out


_TERM = re.compile(r"\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.I)
_ANY = re.compile(r"\s*proxyAddresses/any\(\s*(\w+)\s*:\s*\1\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$", re.I)


def _proxy_test(wanted: str) -> Callable[[dict[str, Any]], bool]:
    return lambda u: any(str(a).lower() == wanted for a in u.get("proxyAddresses") or [])


def _eq_test(prop: str, wanted: str) -> Callable[[dict[str, Any]], bool]:
    return lambda u: str(u.get(prop) or "").lower() == wanted


def _graph_filter(text: str) -> Callable[[dict[str, Any]], bool] | None:
    """The filters our client sends: ``a eq 'x' or b eq 'y'`` and ``proxyAddresses/any(p:p eq 'x')``."""
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for term in re.split(r"\s+or\s+", text, flags=re.I):
        m = _ANY.match(term)
        if m:
            wanted = m.group(2).replace("''", "'").lower()
            tests.append(_proxy_test(wanted))
            continue
        m = _TERM.match(term)
        if not m:
            return None
        prop, wanted = m.group(1), m.group(2).replace("''", "'").lower()
        tests.append(_eq_test(prop, wanted))
    return lambda u: any(t(u) for t in tests)


def _aad_error(status: int, code: str, description: str) -> web.Response:
    return web.json_response(
        {
            "error": code,
            "error_description": description,
            "error_codes": [int(m) for m in re.findall(r"AADSTS(\d+)", description)[:1]],
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        },
        status=status,
    )


def _bearer_error(description: str) -> web.Response:
    return web.json_response(
        {"error": {"code": "InvalidAuthenticationToken", "message": description}},
        status=401,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )


def _exo_error(status: int, code: str, message: str, exception_type: str) -> web.Response:
    detail = f"Ex{secrets.token_hex(3).upper()}|{exception_type}|{message}"
    body = {
        "error": {
            "code": code,
            "message": "Error executing cmdlet",
            "details": [{"code": "Client", "target": "", "message": detail}],
            "innererror": {"message": message, "type": exception_type},
        }
    }
    return web.json_response(
        body, status=status, headers={"X-ExceptionType": exception_type.rsplit(".", 1)[-1]}
    )


def _not_found(identity: str) -> web.Response:
    return _exo_error(
        404,
        "NotFound",
        f"The operation couldn't be performed because object '{identity}' couldn't be found on 'AM0PR01A001DC01.EURPR01A001.PROD.OUTLOOK.COM'.",
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
    )


def _graph_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                },
            }
        },
        status=status,
    )


# -- running it -------------------------------------------------------------------------------------


class RunningEmulator:
    """A started emulator: where it listens, what it trusts, and the app it accepts."""

    def __init__(
        self,
        emulator: M365Emulator,
        base_url: str,
        ca_pem: bytes,
        ca_file: Path,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        runner: web.AppRunner,
        tmpdir: tempfile.TemporaryDirectory[str],
    ) -> None:
        self.emulator = emulator
        self.base_url = base_url
        self.ca_pem = ca_pem
        self.ca_file = ca_file
        self.app = emulator.app_credentials
        self.tenant = emulator.tenant.domain
        self._loop, self._thread, self._runner, self._tmpdir = loop, thread, runner, tmpdir

    def __getattr__(self, name: str) -> Any:  # knobs: reset, fail_next, throttle_next, revoke_tokens, ...
        return getattr(self.emulator, name)

    @property
    def counts(self) -> Counter[str]:
        return self.emulator.counts

    @property
    def knobs(self) -> Knobs:
        return self.emulator.knobs

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant}"

    def session(self) -> requests.Session:
        """A session that trusts only the emulator's CA and ignores REQUESTS_CA_BUNDLE/proxies."""
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.ca_file)
        return s

    def token_provider(self, credential: str = "certificate", **overrides: Any) -> Any:
        from workers.sources.m365_auth import TokenProvider

        kwargs: dict[str, Any] = {"authority": self.authority, "http_client": self.session()}
        if credential == "certificate":
            kwargs.update(certificate_pem=self.app.private_key_pem, thumbprint=self.app.thumbprint)
        else:
            kwargs.update(client_secret=self.app.client_secret)
        kwargs.update(overrides)
        tenant = kwargs.pop("tenant", self.tenant)
        client_id = kwargs.pop("client_id", self.app.client_id)
        return TokenProvider(tenant, client_id, **kwargs)

    def exchange(self, tokens: Any = None, **kwargs: Any) -> Any:
        from workers.sources.exchange import ExchangeSource

        return ExchangeSource(
            self.tenant,
            tokens or self.token_provider(),
            base_url=self.base_url,
            session_factory=self.session,
            **kwargs,
        )

    def graph(self, tokens: Any = None, **kwargs: Any) -> Any:
        from workers.sources.graph import GraphSource

        return GraphSource(
            tokens or self.token_provider(), base_url=self.base_url, session_factory=self.session, **kwargs
        )

    def stop(self) -> None:
        if not self._loop.is_closed() and self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._tmpdir.cleanup()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    snapshot_dir: Path | str | None = None,
    *,
    tenant: Tenant | None = None,
    port: int = 0,
    knobs: Knobs | None = None,
    **knob_values: Any,
) -> RunningEmulator:
    """Serve ``tenant`` (or the snapshot at ``snapshot_dir``; the demo tenant by default) over HTTPS.

    Listens on 127.0.0.1 (a free port unless ``port`` is given) in a background thread.
    ``knob_values`` set fields of ``Knobs`` (latency_s, token_lifetime_s, concurrency_limit, ...).
    """
    from tests.emulators.m365.model import load_tenant

    if tenant is None:
        if snapshot_dir is None:
            from workers.demo_tenant import DATA_DIR

            snapshot_dir = DATA_DIR
        tenant = load_tenant(Path(snapshot_dir))
    knobs = knobs or Knobs()
    for k, v in knob_values.items():
        if not hasattr(knobs, k):
            raise TypeError(f"unknown emulator knob {k!r}")
        setattr(knobs, k, v)
    emulator = M365Emulator(tenant, knobs)

    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    import ssl

    ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ssl_ctx)
    tmpdir = tempfile.TemporaryDirectory(prefix="m365-emulator-")
    ca_file = Path(tmpdir.name) / "emulator-ca.pem"
    ca_pem = ca.cert_pem.bytes()
    ca_file.write_bytes(ca_pem)

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(emulator.make_app(), access_log=None)
    started: dict[str, Any] = {}
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_ctx, backlog=512)
            loop.run_until_complete(site.start())
            started["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        except BaseException as exc:  # report to the starting thread
            started["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=serve, name="m365-emulator", daemon=True)
    thread.start()
    if not ready.wait(timeout=30) or "error" in started:
        tmpdir.cleanup()
        raise RuntimeError(f"the Microsoft 365 emulator did not start: {started.get('error')}")
    base_url = f"https://127.0.0.1:{started['port']}"
    emulator.base_url = base_url
    return RunningEmulator(emulator, base_url, ca_pem, ca_file, loop, thread, runner, tmpdir)
