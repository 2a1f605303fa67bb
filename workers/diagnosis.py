"""The diagnosis engine: facts in, Report out.

Before the (pure) checks run, the engine does the work that needs more than one user's
facts or the network: building trust paths (once per distinct certificate, with the
chain work cached per CA chain in the TrustStore) and, with --online, revocation.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import workers.checks  # noqa: F401  (registers every check)
from workers.causes import causes_of
from workers.certs.revocation import RevocationChecker
from workers.certs.trust import TrustStore
from workers.certs.x509 import CertInfo
from workers.checks.base import REGISTRY, Context
from workers.checks.cert import distinct_certs
from workers.checks.publish import choice_for
from workers.facts import TenantFacts, UserFacts
from workers.i18n.headline import headline
from workers.report import Finding, Report


def trust_store_for(tenant: TenantFacts, at: datetime, online: bool = False) -> TrustStore:
    """Anchors: tenant SST roots, AD Certification Authorities, snapshot trusted_roots.
    Intermediates: the rest of the SST, AD AIA objects (docs/checks.md trust.chain)."""
    pool: list[CertInfo] = list(tenant.sst_certificates or []) + list(tenant.trusted_roots)
    if tenant.ad_config:
        pool += tenant.ad_config.ca_certificates + tenant.ad_config.aia_certificates
    anchors = {c.sha256: c for c in pool if c.self_issued}
    intermediates = {c.sha256: c for c in pool if not c.self_issued}
    return TrustStore(anchors.values(), intermediates.values(), at=at, online=online)


@dataclass
class Engine:
    """Runs checks for one tenant at one instant; reuse it across users (caches live here)."""

    tenant: TenantFacts
    now: datetime
    lang: str = "en"
    online: bool = False
    trust: TrustStore | None = None
    revocation: Any = None  # workers.certs.revocation.RevocationChecker when online
    _revocation_cache: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.trust is None:
            self.trust = trust_store_for(self.tenant, self.now, self.online)
        if self.online and self.revocation is None:
            self.revocation = RevocationChecker(at=self.now)

    def close(self) -> None:
        if self.trust is not None:
            self.trust.close()

    # -- facts that need the network or other users --------------------------------
    def _paths(self, users: Iterable[UserFacts]) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        assert self.trust is not None
        for user in users:
            for value in user.values:
                extras = value.chain_extras
                for cert in value.end_entities:
                    if cert.sha256 not in paths and cert.is_ca is not True:
                        paths[cert.sha256] = self.trust.validate(cert, extras)
        return paths

    def _revocations(self, paths: dict[str, Any]) -> dict[str, list[Any]]:
        if not self.online or self.revocation is None:
            return {}
        out: dict[str, list[Any]] = {}
        for sha, result in paths.items():
            if not result.ok:
                continue
            if sha not in self._revocation_cache:
                self._revocation_cache[sha] = self.revocation.check_path(result.path)
            results = self._revocation_cache[sha]
            out[sha] = results
            for r in results:  # CA results are shared by every leaf below that CA
                if r.cert_sha256 != sha:
                    out[r.cert_sha256] = [r]
        return out

    def context(self, users: list[UserFacts], sender: UserFacts | None = None) -> Context:
        paths = self._paths(users)
        return Context(
            now=self.now,
            lang=self.lang,
            tenant=self.tenant,
            paths=paths,
            revocation=self._revocations(paths),
            online=self.online,
            sender=sender,
        )

    # -- reports --------------------------------------------------------------------
    def run_checks(self, user: UserFacts, ctx: Context, scopes: tuple[str, ...]) -> list[Finding]:
        findings: list[Finding] = []
        for spec in REGISTRY.values():
            if spec.scope not in scopes:
                continue
            try:
                findings.extend(spec.fn(user, ctx))
            except Exception as exc:  # a bug in one check must not hide the others
                findings.append(
                    Finding(
                        spec.id,
                        "error",
                        None,
                        "Check failed",
                        f"{type(exc).__name__}: {exc}",
                        "Report this to the smime-doctor maintainers.",
                    )
                )
        return findings

    def diagnose(self, user: UserFacts, query: str | None = None, *, include_tenant: bool = True) -> Report:
        ctx = self.context([user])
        scopes = ("user", "tenant") if include_tenant else ("user",)
        findings = self.run_checks(user, ctx, scopes)
        report = Report(
            kind="diagnosis",
            evaluated_at=self.now,
            subject=subject_of(user, query),
            findings=findings,
            certificates=certificates_of(user),
            outlook_choice=choice_for(user, self.now).to_json(),
        )
        report.causes = causes_of(report.findings, report.outlook_choice.get("certificate"))
        report.headline = headline(report, user, None, self.lang)
        return report

    def encrypt_to(
        self,
        recipient: UserFacts,
        sender: UserFacts,
        recipient_query: str | None = None,
        sender_query: str | None = None,
    ) -> Report:
        """Recipient-side findings as the sender's client sees them, then the sender's own side."""
        ctx = self.context([recipient, sender] if not sender.external else [recipient], sender=sender)
        findings = self.run_checks(recipient, ctx, ("sender", "user", "tenant"))
        order = {"sender.lookup": 0}
        findings.sort(key=lambda f: order.get(f.check, 1))
        report = Report(
            kind="encrypt_to",
            evaluated_at=self.now,
            subject=subject_of(recipient, recipient_query),
            sender=subject_of(sender, sender_query),
            findings=findings,
            certificates=certificates_of(recipient),
            outlook_choice=choice_for(recipient, self.now).to_json(),
        )
        report.causes = causes_of(report.findings, report.outlook_choice.get("certificate"))
        report.headline = headline(report, recipient, sender, self.lang)
        return report

    def tenant_findings(self) -> list[Finding]:
        ctx = Context(now=self.now, lang=self.lang, tenant=self.tenant, online=self.online)
        return self.run_checks(UserFacts(key="(tenant)"), ctx, ("tenant",))

    def audit(self, users: Iterable[UserFacts]) -> Iterator[Report]:
        """One report per user (tenant-level checks are reported once, by tenant_findings)."""
        for user in users:
            yield self.diagnose(user, include_tenant=False)


def subject_of(user: UserFacts, query: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "query": query if query is not None else user.key,
        "primary_smtp": user.primary_smtp,
        "dn": user.ad.dn if user.ad else None,
        "sources": user.sources,
        "display_name": user.display,
    }
    if user.external:
        out["external"] = True
    return out


def certificates_of(user: UserFacts) -> list[dict[str, Any]]:
    return [
        {
            "sha256": c.sha256,
            "subject": c.subject,
            "issuer": c.issuer,
            "serial": c.serial,
            "not_before": c.not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": c.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "emails": list(c.emails),
            "can_encrypt": c.can_encrypt,
            "can_sign": c.can_sign,
            "locations": locations,
        }
        for c, locations in distinct_certs(user)
    ]
