"""App-only sign-in to Microsoft 365 (msal) and the HTTP plumbing Exchange Online and Graph share.

``TokenProvider`` wraps one msal ``ConfidentialClientApplication`` (certificate or client
secret), keeps msal's token cache, and is safe to call from many threads. ``M365Http``
sends one request with a timeout, a bearer token, bounded retries with jitter that honour
``Retry-After``, and one token renewal when the service says the token is no longer good.
Neither ever logs a token, a secret or a private key.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from workers.errors import AuthError, SourceUnreachableError, ThrottledError

log = logging.getLogger(__name__)

EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PUBLIC_AUTHORITY_HOST = "https://login.microsoftonline.com"

_SCOPE_NAMES = {EXCHANGE_SCOPE: "Exchange Online", GRAPH_SCOPE: "Microsoft Graph"}


def _normalise_thumbprint(text: str) -> str:
    return re.sub(r"[^0-9A-Fa-f]", "", text).upper()


def _thumbprint_from_pem(pem: str) -> str | None:
    """SHA-1 of the first certificate in a PEM bundle (the key and certificate often share a file)."""
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    if not match:
        return None
    try:
        cert = x509.load_pem_x509_certificate(match.group(0).encode())
    except ValueError:
        return None
    return hashlib.sha1(cert.public_bytes(Encoding.DER)).hexdigest().upper()  # noqa: S324 - a thumbprint, not security


class TokenProvider:
    """App-only access tokens for one app registration in one tenant.

    ``tenant`` is the tenant GUID or its ``*.onmicrosoft.com`` name. Give either
    ``certificate_pem`` (the private key, PEM; may also hold the certificate) with
    ``thumbprint`` (SHA-1 hex of the registered certificate; computed from the PEM when it
    carries the certificate), or ``client_secret``. ``authority`` defaults to
    ``https://login.microsoftonline.com/{tenant}``; tests point it at the emulator and pass
    ``http_client`` (a ``requests.Session`` trusting the emulator's CA, ``trust_env=False``).
    """

    def __init__(
        self,
        tenant: str,
        client_id: str,
        *,
        certificate_pem: str | bytes | None = None,
        thumbprint: str | None = None,
        client_secret: str | None = None,
        authority: str | None = None,
        http_client: Any = None,
        timeout: float = 15.0,
    ) -> None:
        if not tenant or not client_id:
            raise AuthError("Microsoft 365 sign-in needs both a tenant and an app (client) id; one is empty.")
        self.tenant = tenant
        self.client_id = client_id
        self.authority = (authority or f"{PUBLIC_AUTHORITY_HOST}/{tenant}").rstrip("/")
        self._credential: Any
        if certificate_pem is not None:
            pem = certificate_pem.decode() if isinstance(certificate_pem, bytes) else certificate_pem
            thumb = _normalise_thumbprint(thumbprint) if thumbprint else _thumbprint_from_pem(pem)
            if not thumb or len(thumb) != 40:
                raise AuthError(
                    f"App {client_id}: the certificate credential needs the SHA-1 thumbprint of the certificate "
                    "registered on the app (40 hex digits), or a PEM that holds that certificate."
                )
            self._credential = {"private_key": pem, "thumbprint": thumb}
            self.credential_kind = "certificate"
        elif client_secret:
            self._credential = client_secret
            self.credential_kind = "client secret"
        else:
            raise AuthError(
                f"App {client_id}: give a certificate (private key and thumbprint) or a client secret."
            )
        self._http_client = http_client
        self._timeout = timeout
        self._app: msal.ConfidentialClientApplication | None = None
        self._app_lock = threading.Lock()
        self._scope_locks: dict[str, threading.Lock] = {}
        self._scope_locks_guard = threading.Lock()
        self.cache = msal.TokenCache()

    def __repr__(self) -> str:  # never show the credential
        return f"TokenProvider(tenant={self.tenant!r}, client_id={self.client_id!r}, {self.credential_kind})"

    # msal fetches {authority}/v2.0/.well-known/openid-configuration in its constructor: do it once, lazily.
    def _application(self) -> msal.ConfidentialClientApplication:
        with self._app_lock:
            if self._app is None:
                try:
                    self._app = msal.ConfidentialClientApplication(
                        self.client_id,
                        client_credential=self._credential,
                        authority=self.authority,
                        http_client=self._http_client,
                        instance_discovery=False,
                        timeout=self._timeout,
                        token_cache=self.cache,
                    )
                except (ValueError, requests.RequestException, OSError) as exc:
                    raise AuthError(
                        f"App {self.client_id}: discovering the sign-in authority {self.authority} failed "
                        f"({_first_line(exc)}). Check the tenant name and that the authority is reachable."
                    ) from None
            return self._app

    def _lock_for(self, scope: str) -> threading.Lock:
        with self._scope_locks_guard:
            return self._scope_locks.setdefault(scope, threading.Lock())

    def token(self, scope: str) -> str:
        """An access token for ``scope`` (e.g. ``https://outlook.office365.com/.default``), from cache when valid."""
        app = self._application()
        service = _SCOPE_NAMES.get(scope, scope)
        with self._lock_for(scope):  # one sign-in per scope at a time; cache hits take microseconds
            try:
                result = app.acquire_token_for_client(scopes=[scope])
            except (ValueError, requests.RequestException, OSError) as exc:
                raise AuthError(
                    f"App {self.client_id}: requesting a token for {service} from {self.authority} failed "
                    f"({_first_line(exc)})."
                ) from None
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            code = result.get("error", "no_token")
            desc = str(result.get("error_description") or "the answer held no access token").splitlines()[0]
            raise AuthError(
                f"App {self.client_id} could not sign in to tenant {self.tenant} for {service} "
                f"with its {self.credential_kind}: {code}: {desc[:300]}. {_auth_hint(code, desc)}"
            )
        return str(result["access_token"])

    def invalidate(self, scope: str, token: str) -> None:
        """Forget ``token`` (the service rejected it), so the next ``token()`` signs in again."""
        with self._lock_for(scope):
            for entry in list(self.cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN, target=[scope])):
                if entry.get("secret") == token:
                    self.cache.remove_at(entry)


def _auth_hint(code: str, desc: str) -> str:
    if "AADSTS700016" in desc or code == "unauthorized_client":
        return "The app id is not registered in this tenant, or admin consent is missing."
    if code == "invalid_client" or "AADSTS7000215" in desc or "AADSTS700027" in desc:
        return "The secret or certificate does not match one registered on the app (expired or rotated?)."
    if code == "invalid_scope":
        return "The requested permission scope is not valid for this app."
    if "AADSTS90002" in desc or code == "invalid_tenant":
        return "The tenant name or id is wrong."
    return "See docs/m365.md for the app registration this tool expects."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# -- HTTP with retries ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``attempts`` tries and ``budget_s`` seconds of waiting in total."""

    attempts: int = 6
    budget_s: float = 60.0
    base_s: float = 0.5  # exponential backoff without Retry-After: base * 2**n, full jitter
    cap_s: float = 10.0
    jitter: float = 0.2  # with Retry-After: wait it plus up to 20 % more, so clients do not stampede

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after * (1 + random.uniform(0, self.jitter)) + random.uniform(0, 0.05)
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


RETRY_STATUSES = frozenset({408, 429, 503, 504})
CONCURRENCY_TEXT = "maximum number of concurrent requests"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class M365Http:
    """One Microsoft 365 service (Exchange Online or Graph) over HTTPS.

    Thread-safe: each thread gets its own ``requests.Session`` (keep-alive connections,
    nothing shared but the token provider). ``session_factory`` builds those sessions;
    tests pass one that trusts the emulator's CA and ignores the proxy/CA environment.
    """

    def __init__(
        self,
        service: str,
        tokens: TokenProvider,
        scope: str,
        *,
        session_factory: Callable[[], requests.Session] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.service = service
        self.tokens = tokens
        self.scope = scope
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._session_factory = session_factory or requests.Session
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.requests_sent = 0  # HTTP requests this object sent, retries included

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session_factory()
        return session

    def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        retry_on: Callable[[Answer], float | None | bool] | None = None,
    ) -> Answer:
        """Send with retries; return the final answer (any status). ``what`` names the step for messages.

        Retries 408/429/503/504 and the concurrency-limit body, honouring Retry-After; renews the
        token once on 401. Connection failures and timeouts are retried within the same budget.
        """
        waited = 0.0
        renewed = False
        attempt = 0
        while True:
            token = self.tokens.token(self.scope)
            hdrs = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            hdrs.update(headers or {})
            with self._count_lock:
                self.requests_sent += 1
            retry_after: float | None = None
            reachable = False
            try:
                resp = self._session().request(
                    method, url, json=json_body, headers=hdrs, timeout=self.timeout
                )
            except requests.RequestException as exc:
                reason = "timed out" if isinstance(exc, requests.Timeout) else _first_line(exc)
                failure = f"the connection failed ({reason})"
            else:
                reachable = True
                answer = Answer(resp.status_code, resp.headers, resp.content)
                if answer.status == 401 and not renewed:
                    # An expired or revoked token: forget it and sign in again, once.
                    renewed = True
                    self.tokens.invalidate(self.scope, token)
                    log.info("token rejected, renewing", extra={"service": self.service, "step": what})
                    continue
                too_many = answer.status >= 400 and CONCURRENCY_TEXT in answer.body[:2000].decode(
                    "utf-8", "replace"
                )
                if answer.status not in RETRY_STATUSES and not too_many:
                    return answer
                retry_after = parse_retry_after(answer.headers.get("Retry-After"))
                failure = f"it answered HTTP {answer.status}" + (
                    " (too many concurrent requests)" if too_many else ""
                )
            delay = self.retry.delay(attempt, retry_after)
            attempt += 1
            if attempt >= self.retry.attempts or waited + delay > self.retry.budget_s:
                if not reachable:
                    raise SourceUnreachableError(
                        f"{self.service} could not be reached while {what}: {failure}, "
                        f"{attempt} attempt(s). Check the network path to {url.split('/')[2]}."
                    )
                raise ThrottledError(
                    f"{self.service} kept throttling while {what}: {failure} on {attempt} attempt(s) "
                    f"over {waited:.0f} s. Try again in a few minutes or run fewer requests at once."
                )
            log.info(
                "retrying",
                extra={"service": self.service, "step": what, "attempt": attempt, "delay_s": round(delay, 2)},
            )
            time.sleep(delay)
            waited += delay
