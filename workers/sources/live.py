"""Live sources composed into one directory: AD (ldap3), Exchange Online and Entra ID (msal).

For one user the three are asked concurrently (a second round only when the name given was
one only AD knows, such as a sAMAccountName or objectGUID), and the records are matched by
the same code that matches a snapshot's files (`Snapshot.from_records`). A source that fails
does not stop the diagnosis: its checks report `error` with the reason, the rest still answer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from workers.errors import (
    AmbiguousUserError,
    InputError,
    SmimeDoctorError,
    SourceUnavailable,
    UnknownUserError,
    UserLookupError,
    admin_text,
    user_sentence,
)
from workers.facts import GroupInfo, TenantFacts, UserFacts
from workers.names import NameMatch
from workers.people import guid_of_immutable_id
from workers.sources.ad import AdSettings, AdSource, group_info
from workers.sources.exchange import ExchangeSource
from workers.sources.graph import GraphSource
from workers.sources.m365_auth import TokenProvider
from workers.sources.parsing import check_lookup_name
from workers.sources.snapshot import Snapshot, sst_certificates

log = logging.getLogger("smime_doctor.sources")
TENANT_TTL_S = 600


@dataclass(frozen=True)
class M365Settings:
    """SMIME_DOCTOR_M365_*: the app registration smime-doctor signs in as (docs/m365.md)."""

    tenant: str
    client_id: str
    certificate_file: str | None = None  # PEM with the private key (and the certificate)
    thumbprint: str | None = None
    client_secret: str | None = None
    authority: str | None = None
    exchange_url: str = "https://outlook.office365.com"
    graph_url: str = "https://graph.microsoft.com"
    ca_file: str | None = None  # extra CA for a proxy or the local emulator

    @staticmethod
    def from_env(
        env: dict[str, str] | None = None, prefix: str = "SMIME_DOCTOR_M365_"
    ) -> M365Settings | None:
        e = dict(os.environ if env is None else env)

        def get(name: str) -> str | None:
            return (e.get(prefix + name) or "").strip() or None

        tenant, client = get("TENANT"), get("CLIENT_ID")
        if not tenant and not client:
            return None
        if not tenant or not client:
            raise InputError(f"{prefix}TENANT and {prefix}CLIENT_ID must both be set")
        secret = get("CLIENT_SECRET")
        if secret is None and get("CLIENT_SECRET_FILE"):
            with open(get("CLIENT_SECRET_FILE") or "", encoding="utf-8") as fh:
                secret = fh.read().strip()
        if not secret and not get("CERTIFICATE_FILE"):
            raise InputError(f"set {prefix}CERTIFICATE_FILE (recommended) or {prefix}CLIENT_SECRET(_FILE)")
        return M365Settings(
            tenant,
            client,
            get("CERTIFICATE_FILE"),
            get("THUMBPRINT"),
            secret,
            get("AUTHORITY"),
            get("EXCHANGE_URL") or "https://outlook.office365.com",
            get("GRAPH_URL") or "https://graph.microsoft.com",
            get("CA_FILE"),
        )

    def _session(self) -> Any:
        """A requests session that trusts `ca_file` and ignores REQUESTS_CA_BUNDLE (msal and requests
        would otherwise silently prefer the environment's bundle)."""
        import requests  # deferred: only a configured Microsoft 365 source needs an HTTP session

        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_file or True
        return session

    def sources(self) -> tuple[Any, Any]:

        http = self._session() if self.ca_file else None
        pem = open(self.certificate_file, encoding="utf-8").read() if self.certificate_file else None  # noqa: SIM115
        tokens = TokenProvider(
            self.tenant,
            self.client_id,
            certificate_pem=pem,
            thumbprint=self.thumbprint,
            client_secret=self.client_secret,
            authority=self.authority,
            http_client=http,
        )
        factory = self._session if self.ca_file else None
        exchange = ExchangeSource(self.tenant, tokens, base_url=self.exchange_url, session_factory=factory)
        graph = GraphSource(tokens, base_url=self.graph_url, session_factory=factory)
        return exchange, graph


class LiveDirectory:
    """The same interface as Snapshot (find, sender, resolve, user, iter_users, tenant) over live sources."""

    is_demo = False

    def __init__(
        self,
        ad: Any = None,
        exchange: Any = None,
        graph: Any = None,
        *,
        sync_interval_minutes: int = 30,
        sync_scope: dict[str, Any] | None = None,
        clock: Any = None,
    ) -> None:
        """`clock()` is when the directory state is observed (the live equivalent of collected_at)."""
        if ad is None and exchange is None and graph is None:
            raise InputError(
                "no live source configured (SMIME_DOCTOR_AD_SERVERS and/or SMIME_DOCTOR_M365_TENANT)"
            )
        self.ad, self.exchange, self.graph = ad, exchange, graph
        self.sync_interval_minutes = sync_interval_minutes
        self.sync_scope = sync_scope
        self._tenant: TenantFacts | None = None
        self._tenant_at = 0.0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="smime-source")
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- tenant -----------------------------------------------------------------------------
    @property
    def tenant(self) -> TenantFacts:
        """Tenant-wide facts, read concurrently and cached for ten minutes."""
        with self._lock:
            if self._tenant is not None and time.monotonic() - self._tenant_at < TENANT_TTL_S:
                return self._tenant
        t = TenantFacts(
            collected_at=self.clock(),
            sync_interval_minutes=self.sync_interval_minutes,
            sync_scope=self.sync_scope,
        )
        jobs = {}
        if self.ad is not None:
            jobs["adconfig"] = self._pool.submit(self.ad.read_config)
            t.available |= {"ad", "adconfig"}
        if self.exchange is not None:
            jobs["smimeconfig"] = self._pool.submit(self.exchange.get_smime_config)
            t.available |= {"exo", "smimeconfig"}
        if self.graph is not None:
            jobs["org"] = self._pool.submit(self.graph.get_organization)
            t.available |= {"entra", "org"}
        for name, future in jobs.items():
            try:
                value = future.result()
            except SmimeDoctorError as exc:
                _failed(t.source_errors, name, exc)
                t.available.discard(name)
                continue
            if name == "adconfig":
                t.ad_config = value
            elif name == "smimeconfig":
                t.smime_config = value
                raw = value.get("SMIMECertificateIssuingCA") if isinstance(value, dict) else None
                t.sst_certificates, t.sst_size, t.sst_error = sst_certificates(raw)
            else:
                t.organization = value
        with self._lock:
            self._tenant, self._tenant_at = t, time.monotonic()
        return t

    # -- one user ---------------------------------------------------------------------------
    def find(self, query: str) -> UserFacts:
        check_lookup_name(query)  # before any source is asked
        tenant = self.tenant
        errors: dict[str, str] = {}
        ad, exo, entra = self._ask(query, errors)
        if ad is not None and (exo is None or entra is None):
            attrs = ad[1]
            names = [
                v.decode(errors="replace") for k in ("mail", "userprincipalname") for v in attrs.get(k, [])
            ]
            for name in names:
                if exo is None and self.exchange is not None and "exo" not in errors:
                    exo = self._call("exo", self.exchange.get_recipient, name, errors)
                if entra is None and self.graph is not None and "entra" not in errors:
                    entra = self._call("entra", self.graph.get_user, name, errors)
        if (
            ad is None
            and self.ad is not None
            and "ad" not in errors
            and (exo is not None or entra is not None)
        ):
            ad = self._ad_twin(exo, entra, errors)
        if ad is None and exo is None and entra is None:
            if errors:
                raise SourceUnavailable.of(errors)
            raise UnknownUserError(f"no user named '{query}' in the directory", query)
        view = TenantFacts(
            **{
                **tenant.__dict__,
                "available": set(tenant.available) - set(errors),
                "source_errors": {**tenant.source_errors, **errors},
            }
        )
        directory = Snapshot.from_records(
            view, [ad] if ad else [], [exo] if exo else [], [entra] if entra else []
        )
        directory.tenant.sync_flow = None  # needs every user: an audit's business, not one diagnosis
        facts = directory.user(next(iter(directory.entries)))
        facts.source_errors.update(errors)
        return facts

    def _ask(self, query: str, errors: dict[str, str]) -> tuple[Any, Any, Any]:
        futures = {}
        if self.ad is not None:
            futures["ad"] = self._pool.submit(self.ad.find_user, query)
        if self.exchange is not None:
            futures["exo"] = self._pool.submit(self.exchange.get_recipient, query)
        if self.graph is not None:
            futures["entra"] = self._pool.submit(self.graph.get_user, query)
        results: dict[str, Any] = {}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except UnknownUserError:
                results[name] = None
            except AmbiguousUserError:
                raise
            except SmimeDoctorError as exc:
                _failed(errors, name, exc)
        return results.get("ad"), results.get("exo"), results.get("entra")

    def _ad_twin(self, exo: Any, entra: Any, errors: dict[str, str]) -> Any:
        """The AD object of someone first found in the cloud (a Teams user arrives by Entra object
        id, which AD does not hold): by onPremisesImmutableId (the objectGUID), else by UPN or
        address. Without it a synced person would be a different person on Teams than on Slack."""
        names = [guid_of_immutable_id(entra.get("onPremisesImmutableId")) if entra else None]
        if entra:
            names += [entra.get("userPrincipalName"), entra.get("mail")]
        if exo:
            names += [exo.get("PrimarySmtpAddress"), exo.get("UserPrincipalName")]
        for name in dict.fromkeys(n for n in names if isinstance(n, str) and n):
            try:
                return self.ad.find_user(name)
            except UnknownUserError:
                continue
            except AmbiguousUserError:
                return None  # two AD objects claim that address: none of them is taken for granted
            except SmimeDoctorError as exc:
                _failed(errors, "ad", exc)
                return None
        return None

    @staticmethod
    def _call(name: str, fn: Any, arg: str, errors: dict[str, str]) -> Any:
        try:
            return fn(arg)
        except SmimeDoctorError as exc:
            _failed(errors, name, exc)
            return None

    # -- groups (roles, workers/roles.py) ---------------------------------------------------
    def find_groups(self, spec: str) -> list[GroupInfo] | None:
        """Groups named by DN, GUID, SID or CN: from AD when configured, else from Graph."""
        found: list[GroupInfo] | None = None
        if self.ad is not None:
            found = [group_info(r) for r in self.ad.find_groups(spec)]
        if not found and self.graph is not None:  # a cloud-only group (or no AD configured)
            found = self.graph.find_groups(spec)
        return found

    def group_ids(self, facts: UserFacts) -> frozenset[str]:
        """Ids of every security group the person is in, nested included: AD's answer for people
        with an AD object, Graph's transitiveMemberOf for cloud-only people."""
        if self.ad is not None and facts.ad is not None:
            records = self.ad.security_groups_of(facts.ad.dn)
            return frozenset().union(*(group_info(r).ids for r in records))
        entra_id = facts.entra.id if facts.entra else (facts.exo.external_id if facts.exo else None)
        if self.graph is not None and entra_id:
            groups = self.graph.member_groups(entra_id)
            return frozenset().union(*(g.ids for g in groups if g.security))
        return frozenset()

    def resolve(self, query: str) -> str:
        facts = self.find(query)
        return str(facts.primary_smtp or facts.key)

    def user(self, key: str) -> UserFacts:
        return self.find(key)

    def people_called(self, name: str) -> list[NameMatch]:
        """Who a name typed in chat may mean. With AD: an address or DOMAIN\\name exactly, other
        names by AD's ambiguous name resolution (first names, surnames, the start of a display
        name); whoever AD does not know (cloud-only people) by the exact lookup of every source."""
        if self.ad is not None:
            try:
                if "@" in name or "\\" in name:
                    records = [self.ad.find_user(name)]
                else:
                    records = self.ad.find_by_name(name) or [self.ad.find_user(name)]
            except UnknownUserError:
                records = []
            except AmbiguousUserError:
                return []  # two AD objects claim that address: nobody is taken for granted
            except SmimeDoctorError as exc:
                log.warning("people_called: AD search failed (%s)", type(exc).__name__)
                records = []
            if records:
                return sorted(_match_of(dn, attrs) for dn, attrs in records)
        try:
            facts = self.find(name)
        except UserLookupError:
            return []
        return [NameMatch(facts.display, facts.primary_smtp or facts.key, facts.key)]

    def people_near(self, name: str) -> list[NameMatch]:
        """No typo search against a live directory: it would need every name (an audit's read)."""
        return []

    def sender(self, query: str) -> UserFacts:
        try:
            return self.find(query)
        except UnknownUserError:
            q = query.strip()
            if "@" in q:
                return UserFacts(key=q.lower(), external=True, external_address=q)
            raise

    # -- everyone ---------------------------------------------------------------------------
    def collect(self) -> Snapshot:
        """Every user, read with paged/bulk calls and matched like a snapshot (for audits)."""
        tenant = self.tenant
        ad = self.ad.iter_users() if self.ad is not None else iter(())
        exo = list(self.exchange.iter_recipients()) if self.exchange is not None else []
        entra = list(self.graph.iter_users()) if self.graph is not None else []
        view = TenantFacts(**{**tenant.__dict__, "available": set(tenant.available)})
        return Snapshot.from_records(view, ad, exo, entra)

    def iter_users(self) -> Any:
        return self.collect().iter_users()

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        if self.ad is not None:
            self.ad.close()


def _match_of(dn: str, attrs: dict[str, list[bytes]]) -> NameMatch:
    def first(name: str) -> str:
        values = attrs.get(name) or [b""]
        return values[0].decode(errors="replace")

    smtp = first("mail") or first("userprincipalname")
    key = smtp or first("samaccountname") or dn
    return NameMatch(first("displayname") or key, smtp or key, key)


def _failed(errors: dict[str, str], name: str, exc: SmimeDoctorError) -> None:
    """Record a source's failure: its sentence for the findings (which end users read: never a
    host, port or setting), its detail for the log."""
    errors[name] = user_sentence(exc)
    detail = admin_text(exc)
    log.warning("source.failed: %s: %s", name, detail, extra={"source": name, "detail": detail})


def live_from_env() -> LiveDirectory | None:
    """The live directory the environment configures, or None when it configures none."""
    ad = None
    if os.environ.get("SMIME_DOCTOR_AD_SERVERS"):
        ad = AdSource(AdSettings.from_env())
    m365 = M365Settings.from_env()
    exchange = graph = None
    if m365 is not None:
        exchange, graph = m365.sources()
    if ad is None and exchange is None:
        return None
    return LiveDirectory(ad, exchange, graph)
