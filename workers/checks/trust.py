"""trust.* — can clients validate the certificate (paths are built before the checks run)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from functools import lru_cache
from urllib.parse import urlparse

from workers.certs.x509 import OID_ANY_EKU, OID_EMAIL_PROTECTION, CertInfo
from workers.checks.base import Context, Texts, check, date, make_finder, skip
from workers.checks.cert import distinct_certs
from workers.facts import TenantFacts, UserFacts
from workers.report import Finding

SST_SIZE_WARN = 70_000


def name_chain(cert: CertInfo, pool: Iterable[CertInfo]) -> list[CertInfo]:
    """Issuers of `cert` found by name (and key id where present), up to a self-issued root.

    Used to explain a chain even when validation failed (an expired leaf still has a root).
    """
    by_subject: dict[str, list[CertInfo]] = {}
    for c in pool:
        by_subject.setdefault(c.subject, []).append(c)
    chain: list[CertInfo] = []
    current = cert
    for _ in range(8):
        if current.self_issued:
            break
        candidates = by_subject.get(current.issuer, [])
        if current.aki:
            candidates = [c for c in candidates if c.ski in (None, current.aki)] or candidates
        if not candidates:
            break
        current = max(candidates, key=lambda c: c.not_after)
        if current in chain:
            break
        chain.append(current)
    return chain


def known_cas(tenant: TenantFacts, extra: Iterable[CertInfo] = ()) -> list[CertInfo]:
    cas = list(tenant.sst_certificates or []) + list(tenant.trusted_roots)
    if tenant.ad_config:
        cas += tenant.ad_config.ca_certificates + tenant.ad_config.aia_certificates
    return cas + list(extra)


def _chain_for(cert: CertInfo, user: UserFacts, ctx: Context) -> list[CertInfo]:
    result = ctx.paths.get(cert.sha256)
    if result is not None and result.ok:
        return list(result.path[1:])
    extras = [c for v in user.values for c in v.chain_extras]
    return name_chain(cert, known_cas(ctx.tenant, extras))


def _leaves(user: UserFacts) -> list[CertInfo]:
    return [c for c, _ in distinct_certs(user) if c.is_ca is not True]


@check(
    "trust.chain",
    en="A valid chain to a trusted root exists",
    de="Eine gültige Kette zu einer vertrauenswürdigen Wurzel existiert",
    rule="fail: no RFC 5280 path (signatures, validity of every certificate, name chaining, basic constraints and path length, CA key usage, name constraints incl. rfc822Name, unknown critical extensions; the EE's EKU is cert.eku_email's) from the leaf via intermediates (PKCS#7 blob, tenant SST, AD AIA objects, AIA caIssuers online) to an anchor (tenant SST roots, AD CN=Certification Authorities, snapshot trusted_roots); warn: the path needs an online AIA fetch.",
)
def chain(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if not known_cas(ctx.tenant):
        yield skip(ctx, "trust.chain", "smime-issuing-ca.sst, ad-config.ldif or trusted_roots")
        return
    for cert in _leaves(user):
        result = ctx.paths.get(cert.sha256)
        if result is None:
            continue
        names = [c.subject_cn or c.subject for c in result.path]
        ev = {"path": [c.sha256 for c in result.path], "reason": result.reason_code}
        if not result.ok:
            key = "expired" if result.reason_code == "expired" else "none"
            yield F(ctx, "trust.chain", "fail", key, cert, ev, cert=cert.short(), error=result.error or "?")
        elif result.needed_aia_fetch:
            yield F(ctx, "trust.chain", "warn", "aia", cert, ev, cert=cert.short(), path=" → ".join(names))
        else:
            yield F(ctx, "trust.chain", "pass", "ok", cert, ev, path=" → ".join(names))


@check(
    "trust.exo_issuing_ca",
    en="The root is in the tenant's SMIMECertificateIssuingCA",
    de="Die Wurzel ist in SMIMECertificateIssuingCA des Tenants",
    rule="fail: the tenant's SMIMECertificateIssuingCA (SST) is empty or missing, or the path does not end at a root inside it (OWA, new Outlook and mobile then call the certificate untrusted).",
)
def exo_issuing_ca(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    sst = ctx.tenant.sst_certificates
    if sst is None and not ctx.tenant.sst_error and not {"sst", "smimeconfig"} & ctx.tenant.available:
        yield skip(ctx, "trust.exo_issuing_ca", "smime-issuing-ca.sst or exo-smimeconfig.json")
        return
    in_sst = {c.sha256 for c in sst or []}
    sst_subjects = {c.subject for c in sst or []}
    for cert in _leaves(user):
        if not in_sst:
            yield F(ctx, "trust.exo_issuing_ca", "fail", "empty", cert, {}, cert=cert.short())
            continue
        chain_ = _chain_for(cert, user, ctx)
        root = chain_[-1] if chain_ else None
        if root is not None and (
            root.sha256 in in_sst or (root.self_issued and root.subject in sst_subjects)
        ):
            yield F(
                ctx,
                "trust.exo_issuing_ca",
                "pass",
                "ok",
                cert,
                {"root": root.sha256},
                root=root.subject_cn or root.subject,
            )
        else:
            top = root or cert
            yield F(
                ctx,
                "trust.exo_issuing_ca",
                "fail",
                "absent",
                cert,
                {"root": root.sha256 if root else None},
                cert=cert.short(),
                root=top.issuer if root is None or not root.self_issued else top.subject,
            )


@check(
    "trust.exo_issuing_ca_health",
    en="The tenant's issuing-CA store is healthy",
    de="Der Aussteller-Speicher des Tenants ist gesund",
    scope="tenant",
    rule="fail: a certificate in the tenant SST is expired (Set-SmimeConfig refuses such an upload); warn: the earliest expiry is 60 days or less away, the SST is over 70,000 bytes, or a renewed CA certificate is missing.",
)
def exo_issuing_ca_health(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    tenant = ctx.tenant
    if tenant.sst_error:
        yield F(ctx, "trust.exo_issuing_ca_health", "fail", "unreadable", None, {}, error=tenant.sst_error)
        return
    sst = tenant.sst_certificates
    if not sst:
        if sst is None and not {"sst", "smimeconfig"} & tenant.available:
            yield skip(ctx, "trust.exo_issuing_ca_health", "smime-issuing-ca.sst or exo-smimeconfig.json")
        else:
            yield F(ctx, "trust.exo_issuing_ca_health", "fail", "empty", None, {})
        return
    expired = [c for c in sst if ctx.now >= c.not_after]
    if expired:
        names = ", ".join(f"{c.subject_cn or c.subject} ({date(c.not_after)})" for c in expired)
        yield F(
            ctx,
            "trust.exo_issuing_ca_health",
            "fail",
            "expired",
            None,
            {"expired": [c.sha256 for c in expired]},
            names=names,
        )
        return
    warnings: list[tuple[str, dict[str, object]]] = []
    earliest = min(sst, key=lambda c: c.not_after)
    if earliest.not_after - ctx.now <= timedelta(days=60):
        warnings.append(
            ("soon", {"name": earliest.subject_cn or earliest.subject, "date": date(earliest.not_after)})
        )
    if (tenant.sst_size or 0) > SST_SIZE_WARN:
        warnings.append(("size", {"size": tenant.sst_size}))
    sst_shas = {c.sha256 for c in sst}
    renewed = []
    if tenant.ad_config:
        for ca in tenant.ad_config.ca_certificates + tenant.ad_config.aia_certificates:
            if ca.sha256 in sst_shas or ctx.now >= ca.not_after:
                continue
            if any(s.subject == ca.subject and s.not_after < ca.not_after for s in sst):
                renewed.append(ca)
    if renewed:
        warnings.append(
            ("renewed", {"names": ", ".join(sorted({c.subject_cn or c.subject for c in renewed}))})
        )
    for key, params in warnings:
        yield F(ctx, "trust.exo_issuing_ca_health", "warn", key, None, params, **params)
    if not warnings:
        yield F(
            ctx,
            "trust.exo_issuing_ca_health",
            "pass",
            "ok",
            None,
            {"certificates": len(sst)},
            count=len(sst),
            date=date(earliest.not_after),
        )


@check(
    "trust.revocation",
    en="Not revoked (CRL / OCSP)",
    de="Nicht gesperrt (CRL / OCSP)",
    rule="CRL (signature, freshness, serial) and OCSP (signed response, GOOD/REVOKED/UNKNOWN) for the leaf and each CA; fail: revoked, stale CRL or bad signature; warn: unreachable with no fallback; skip on an offline snapshot unless --online; each fetch times out after 10 s.",
)
def revocation(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if not ctx.online:
        yield skip(ctx, "trust.revocation", "--online (revocation is not checked from an offline snapshot)")
        return
    for cert in _leaves(user):
        results = ctx.revocation.get(cert.sha256)
        if not results:
            yield F(ctx, "trust.revocation", "warn", "unknown", cert, {}, cert=cert.short())
            continue
        ev = {
            "results": [
                {"certificate": r.cert_sha256, "status": r.status, "source": r.source, "detail": r.detail}
                for r in results
            ]
        }
        bad = [r for r in results if r.status in ("revoked", "stale", "bad_signature")]
        weak = [r for r in results if r.status in ("unreachable", "unknown", "no_endpoint")]
        if bad:
            yield F(ctx, "trust.revocation", "fail", "bad", cert, ev, cert=cert.short(), detail=bad[0].detail)
        elif weak:
            yield F(
                ctx,
                "trust.revocation",
                "warn",
                "unreachable",
                cert,
                ev,
                cert=cert.short(),
                detail=weak[0].detail,
            )
        else:
            yield F(ctx, "trust.revocation", "pass", "ok", cert, ev)


@lru_cache(maxsize=1024)  # a tenant's certificates name a handful of URLs
def _internal(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme.lower() not in ("http", "https"):
        return True
    host = (parsed.hostname or "").lower()
    return "." not in host or host.endswith((".local", ".lan", ".internal", ".corp", ".localdomain"))


@check(
    "trust.revocation_endpoints",
    en="Revocation endpoints reachable from the internet",
    de="Sperrlisten-Endpunkte aus dem Internet erreichbar",
    rule="fail: neither CDP nor OCSP; warn: only ldap:/file: URIs or internal host names (.local, single label), which Exchange Online cannot reach.",
)
def revocation_endpoints(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _leaves(user):
        urls = list(cert.crl_urls) + list(cert.ocsp_urls)
        ev = {"crl": list(cert.crl_urls), "ocsp": list(cert.ocsp_urls)}
        if not urls:
            yield F(ctx, "trust.revocation_endpoints", "fail", "none", cert, ev, cert=cert.short())
        elif all(_internal(u) for u in urls):
            yield F(
                ctx,
                "trust.revocation_endpoints",
                "warn",
                "internal",
                cert,
                ev,
                cert=cert.short(),
                urls=", ".join(urls),
            )
        else:
            yield F(ctx, "trust.revocation_endpoints", "pass", "ok", cert, ev)


def _ca_problems(ca: CertInfo, ctx: Context) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    name = ca.subject_cn or ca.subject
    de = ctx.lang == "de"
    if ctx.now >= ca.not_after:
        out.append(
            (
                "fail",
                f"{name} abgelaufen am {date(ca.not_after)}"
                if de
                else f"{name} expired on {date(ca.not_after)}",
            )
        )
    if ca.is_ca is not True or (ca.key_usage is not None and "key_cert_sign" not in ca.key_usage):
        out.append(
            ("fail", f"{name} ist keine CA (cA/keyCertSign fehlt)" if de else f"{name} lacks cA/keyCertSign")
        )
    if ca.eku is not None and OID_EMAIL_PROTECTION not in ca.eku and OID_ANY_EKU not in ca.eku:
        out.append(
            (
                "fail",
                f"EKU von {name} schließt E-Mail aus" if de else f"EKU of {name} excludes emailProtection",
            )
        )
    if any(r.status == "revoked" for r in ctx.revocation.get(ca.sha256, [])):
        out.append(("fail", f"{name} ist gesperrt" if de else f"{name} is revoked"))
    if ca.key_type == "RSA" and (ca.key_size or 0) < 2048:
        out.append(("fail", f"{name}: RSA {ca.key_size}"))
    if ca.signature_hash in ("sha1", "md5", "md2") and not ca.self_issued:
        out.append(("warn", f"{name}: {str(ca.signature_hash).upper()}"))
    return out


@check(
    "trust.ca_health",
    en="Every CA in the chain is healthy",
    de="Jede CA in der Kette ist gesund",
    rule="fail/warn: a CA in the path is expired, revoked, weak (RSA below 2048, SHA-1), lacks cA/keyCertSign, or has an EKU excluding emailProtection.",
)
def ca_health(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    done: set[str] = set()
    for cert in _leaves(user):
        chain_ = _chain_for(cert, user, ctx)
        if not chain_:
            continue
        problems = [p for ca in chain_ for p in _ca_problems(ca, ctx)]
        key = tuple(c.sha256 for c in chain_)
        if "|".join(key) in done:
            continue
        done.add("|".join(key))
        ev = {"chain": list(key), "problems": [p[1] for p in problems]}
        worst = "fail" if any(s == "fail" for s, _ in problems) else ("warn" if problems else "pass")
        if problems:
            yield F(
                ctx, "trust.ca_health", worst, "bad", cert, ev, problems="; ".join(p[1] for p in problems)
            )
        else:
            yield F(
                ctx,
                "trust.ca_health",
                "pass",
                "ok",
                cert,
                ev,
                names=" → ".join(c.subject_cn or c.subject for c in chain_),
            )


TEXTS: Texts = {
    "trust.chain": {
        "none": {
            "en": (
                "No trusted chain",
                "{cert}: {error}",
                "Upload the missing root/intermediate to the tenant (upload_issuing_ca) or distribute it to clients.",
            ),
            "de": (
                "Keine vertrauenswürdige Kette",
                "{cert}: {error}",
                "Fehlende Wurzel/Zwischen-CA in den Tenant hochladen (upload_issuing_ca) oder an die Clients verteilen.",
            ),
        },
        "expired": {
            "en": (
                "Chain not valid at this time",
                "{cert}: {error}",
                "Renew the expired certificate (see cert.validity and trust.ca_health).",
            ),
            "de": (
                "Kette derzeit nicht gültig",
                "{cert}: {error}",
                "Abgelaufenes Zertifikat erneuern (siehe cert.validity und trust.ca_health).",
            ),
        },
        "aia": {
            "en": (
                "Chain needs an online download",
                "{cert}: the path {path} needs an intermediate fetched from the AIA URL; offline clients fail.",
                "Add the intermediate to the tenant SST and to the PKCS#7 publication.",
            ),
            "de": (
                "Kette braucht einen Online-Download",
                "{cert}: der Pfad {path} braucht eine Zwischen-CA aus der AIA-URL; Clients ohne Internet scheitern.",
                "Zwischen-CA in die SST des Tenants und in die PKCS#7-Veröffentlichung aufnehmen.",
            ),
        },
        "ok": {"en": ("Trusted chain", "{path}", ""), "de": ("Vertrauenswürdige Kette", "{path}", "")},
    },
    "trust.exo_issuing_ca": {
        "empty": {
            "en": (
                "Tenant trusts no S/MIME root",
                "SMIMECertificateIssuingCA is empty or missing; OWA, new Outlook and mobile call every certificate untrusted.",
                "Upload the root and intermediates as an SST (Set-SmimeConfig -SMIMECertificateIssuingCA; upload_issuing_ca).",
            ),
            "de": (
                "Tenant vertraut keiner S/MIME-Wurzel",
                "SMIMECertificateIssuingCA ist leer oder fehlt; OWA, neues Outlook und mobile Clients nennen jedes Zertifikat nicht vertrauenswürdig.",
                "Wurzel und Zwischen-CAs als SST hochladen (Set-SmimeConfig -SMIMECertificateIssuingCA; upload_issuing_ca).",
            ),
        },
        "absent": {
            "en": (
                "Root not in the tenant's trusted list",
                "{cert} chains to {root}, which is not in SMIMECertificateIssuingCA; OWA, new Outlook and mobile will call it untrusted.",
                "Add {root} to the tenant SST (upload_issuing_ca, admin approval).",
            ),
            "de": (
                "Wurzel fehlt in der Vertrauensliste des Tenants",
                "{cert} führt zu {root}, das nicht in SMIMECertificateIssuingCA ist; OWA, neues Outlook und mobile Clients nennen es nicht vertrauenswürdig.",
                "{root} in die SST des Tenants aufnehmen (upload_issuing_ca, Admin-Freigabe).",
            ),
        },
        "ok": {
            "en": ("Root trusted by the tenant", "{root} is in SMIMECertificateIssuingCA.", ""),
            "de": ("Wurzel vom Tenant vertraut", "{root} ist in SMIMECertificateIssuingCA.", ""),
        },
    },
    "trust.exo_issuing_ca_health": {
        "unreadable": {
            "en": ("Tenant SST unreadable", "{error}", "Export it again with Get-SmimeConfig."),
            "de": ("SST des Tenants unlesbar", "{error}", "Erneut mit Get-SmimeConfig exportieren."),
        },
        "empty": {
            "en": (
                "Tenant SST empty",
                "SMIMECertificateIssuingCA holds no certificate.",
                "Upload the roots (upload_issuing_ca).",
            ),
            "de": (
                "SST des Tenants leer",
                "SMIMECertificateIssuingCA enthält kein Zertifikat.",
                "Wurzeln hochladen (upload_issuing_ca).",
            ),
        },
        "expired": {
            "en": (
                "Expired certificate in the tenant SST",
                "{names}. Set-SmimeConfig refuses an upload containing it, so no other change can be made.",
                "Build a new SST without the expired certificate and upload it (upload_issuing_ca).",
            ),
            "de": (
                "Abgelaufenes Zertifikat in der SST des Tenants",
                "{names}. Set-SmimeConfig lehnt einen Upload damit ab; keine andere Änderung ist möglich.",
                "Neue SST ohne das abgelaufene Zertifikat bauen und hochladen (upload_issuing_ca).",
            ),
        },
        "soon": {
            "en": (
                "Tenant SST certificate expires soon",
                "{name} expires on {date}.",
                "Add the renewed CA certificate to the SST now (upload_issuing_ca).",
            ),
            "de": (
                "Zertifikat der Tenant-SST läuft bald ab",
                "{name} läuft am {date} ab.",
                "Erneuertes CA-Zertifikat jetzt in die SST aufnehmen (upload_issuing_ca).",
            ),
        },
        "size": {
            "en": (
                "Tenant SST is large",
                "The SST is {size} bytes; uploads near 70 KB are refused or truncated.",
                "Remove CA certificates nobody needs.",
            ),
            "de": (
                "SST des Tenants ist groß",
                "Die SST hat {size} Byte; Uploads um 70 KB werden abgelehnt oder gekürzt.",
                "Nicht benötigte CA-Zertifikate entfernen.",
            ),
        },
        "renewed": {
            "en": (
                "Renewed CA certificate missing from the SST",
                "AD knows a newer certificate for {names} that the tenant SST lacks.",
                "Add it (upload_issuing_ca).",
            ),
            "de": (
                "Erneuertes CA-Zertifikat fehlt in der SST",
                "AD kennt ein neueres Zertifikat für {names}, das in der SST des Tenants fehlt.",
                "Aufnehmen (upload_issuing_ca).",
            ),
        },
        "ok": {
            "en": ("Tenant SST healthy", "{count} certificates, earliest expiry {date}.", ""),
            "de": ("SST des Tenants gesund", "{count} Zertifikate, frühester Ablauf {date}.", ""),
        },
    },
    "trust.revocation": {
        "bad": {
            "en": (
                "Revocation check failed",
                "{cert}: {detail}",
                "Enroll a new certificate; remove the revoked one (prune_certificates).",
            ),
            "de": (
                "Sperrprüfung fehlgeschlagen",
                "{cert}: {detail}",
                "Neues Zertifikat beantragen; das gesperrte entfernen (prune_certificates).",
            ),
        },
        "unreachable": {
            "en": (
                "Revocation status unknown",
                "{cert}: {detail}",
                "Make the CRL/OCSP endpoints reachable from the internet.",
            ),
            "de": (
                "Sperrstatus unbekannt",
                "{cert}: {detail}",
                "CRL-/OCSP-Endpunkte aus dem Internet erreichbar machen.",
            ),
        },
        "unknown": {
            "en": ("Revocation not checked", "{cert}: no chain to check revocation along.", ""),
            "de": ("Sperrung nicht geprüft", "{cert}: keine Kette, entlang der geprüft werden kann.", ""),
        },
        "ok": {"en": ("Not revoked", "", ""), "de": ("Nicht gesperrt", "", "")},
    },
    "trust.revocation_endpoints": {
        "none": {
            "en": (
                "No revocation endpoint",
                "{cert} has neither a CRL distribution point nor an OCSP URL.",
                "Configure CDP/AIA HTTP URLs on the CA and re-issue.",
            ),
            "de": (
                "Kein Sperr-Endpunkt",
                "{cert} hat weder CRL-Verteilungspunkt noch OCSP-URL.",
                "CDP-/AIA-HTTP-URLs an der CA konfigurieren und neu ausstellen.",
            ),
        },
        "internal": {
            "en": (
                "Revocation endpoints internal only",
                "{cert} lists only {urls}; Exchange Online and external clients cannot reach them.",
                "Publish CRLs over HTTP on a public host name.",
            ),
            "de": (
                "Sperr-Endpunkte nur intern",
                "{cert} nennt nur {urls}; Exchange Online und externe Clients erreichen sie nicht.",
                "CRLs per HTTP unter einem öffentlichen Hostnamen veröffentlichen.",
            ),
        },
        "ok": {
            "en": ("Revocation endpoints reachable", "", ""),
            "de": ("Sperr-Endpunkte erreichbar", "", ""),
        },
    },
    "trust.ca_health": {
        "bad": {
            "en": (
                "CA in the chain has problems",
                "{problems}",
                "Renew the CA certificate and distribute it (SST, AD, clients).",
            ),
            "de": (
                "CA in der Kette hat Probleme",
                "{problems}",
                "CA-Zertifikat erneuern und verteilen (SST, AD, Clients).",
            ),
        },
        "ok": {"en": ("CA chain healthy", "{names}", ""), "de": ("CA-Kette gesund", "{names}", "")},
    },
}

F = make_finder(TEXTS)
