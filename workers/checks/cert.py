"""cert.* — each published certificate on its own (docs/checks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from workers.certs.x509 import (
    OID_ANY_EKU,
    OID_CODE_SIGNING,
    OID_EMAIL_PROTECTION,
    OID_SERVER_AUTH,
    OID_TIME_STAMPING,
    WEAK_SMIME_CAPABILITIES,
    CertInfo,
)
from workers.checks.base import Context, Texts, check, date, make_finder
from workers.facts import AD_SMIME_CERT, EXO_SMIME_CERT, UserFacts
from workers.report import Finding

BR_LEGACY_CUTOFF = datetime(2025, 7, 15, tzinfo=UTC)
GOOD_CURVES = {"secp256r1", "secp384r1", "secp521r1"}
NON_SMIME_TEMPLATES = {
    "machine",
    "webserver",
    "smartcardlogon",
    "efs",
    "efsrecovery",
    "domaincontroller",
    "workstation",
}


def distinct_certs(user: UserFacts) -> list[tuple[CertInfo, list[str]]]:
    """Each end-entity certificate once, with every location it is published in.

    About twenty checks ask this of the same user, so the answer is kept on the user for
    as long as its values are the same (immutable, or equal) objects.
    """
    values = tuple(user.values)
    cached = user.__dict__.get("_distinct_certs")
    if cached is not None and cached[0] == values:  # the same objects compare at C speed
        return list(cached[1])
    seen: dict[str, tuple[CertInfo, list[str]]] = {}
    for value, cert in user.certificates():
        entry = seen.setdefault(cert.sha256, (cert, []))
        if value.location not in entry[1]:
            entry[1].append(value.location)
    result = list(seen.values())
    user.__dict__["_distinct_certs"] = (values, result)
    return list(result)


def valid_encryption_certs(user: UserFacts, now: datetime) -> list[CertInfo]:
    return [
        c for c, _ in distinct_certs(user) if c.is_valid_at(now) and c.can_encrypt and c.is_ca is not True
    ]


def is_public(cert: CertInfo) -> bool:
    """Issued under the CA/B Forum S/MIME Baseline Requirements (their policy OIDs)."""
    return bool(cert.smime_br_policies)


def _each(user: UserFacts) -> Iterator[CertInfo]:
    for cert, _ in distinct_certs(user):
        yield cert


@check(
    "cert.parse",
    en="Every published value is a readable certificate",
    de="Jeder veröffentlichte Wert ist ein lesbares Zertifikat",
    rule="fail: a published value is neither X.509 DER nor PKCS#7 with certificates; info: a bare X.509 certificate in userSMIMECertificate.",
)
def parse(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    bad = False
    for value in user.values:
        if value.kind == "invalid":
            bad = True
            yield F(
                ctx,
                "cert.parse",
                "fail",
                "invalid",
                None,
                {"location": value.location, "index": value.index, "error": value.error},
                location=value.location,
                index=value.index + 1,
                error=value.error,
            )
        elif value.kind == "der" and value.location in (AD_SMIME_CERT, EXO_SMIME_CERT):
            yield F(
                ctx,
                "cert.parse",
                "info",
                "bare",
                value.certificates[0],
                {"location": value.location},
                location=value.location,
            )
    if user.values and not bad:
        yield F(ctx, "cert.parse", "pass", "ok", None, {"values": len(user.values)}, count=len(user.values))


@check(
    "cert.end_entity",
    en="Certificate is an end-entity certificate, not a CA",
    de="Zertifikat ist ein Endnutzer-Zertifikat, keine CA",
    rule="fail: a certificate on a user object has basicConstraints cA=TRUE.",
)
def end_entity(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        if cert.is_ca:
            yield F(ctx, "cert.end_entity", "fail", "ca", cert, {}, cert=cert.short())
        else:
            yield F(ctx, "cert.end_entity", "pass", "ok", cert, {})


@check(
    "cert.validity",
    en="Certificate is within its validity period",
    de="Zertifikat ist im Gültigkeitszeitraum",
    rule="fail: expired or not yet valid (valid = not_before <= now < not_after); warn: 30 days or less left; info: 60 days or less left.",
)
def validity(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        ev = {"not_before": cert.not_before.isoformat(), "not_after": cert.not_after.isoformat()}
        left = cert.not_after - ctx.now
        if ctx.now >= cert.not_after:
            yield F(
                ctx,
                "cert.validity",
                "fail",
                "expired",
                cert,
                ev,
                cert=cert.short(),
                date=date(cert.not_after),
            )
        elif ctx.now < cert.not_before:
            yield F(
                ctx,
                "cert.validity",
                "fail",
                "not_yet",
                cert,
                ev,
                cert=cert.short(),
                date=date(cert.not_before),
            )
        elif left <= timedelta(days=30):
            yield F(
                ctx,
                "cert.validity",
                "warn",
                "soon",
                cert,
                ev,
                cert=cert.short(),
                days=left.days,
                date=date(cert.not_after),
            )
        elif left <= timedelta(days=60):
            yield F(
                ctx,
                "cert.validity",
                "info",
                "soon",
                cert,
                ev,
                cert=cert.short(),
                days=left.days,
                date=date(cert.not_after),
            )
        else:
            yield F(ctx, "cert.validity", "pass", "ok", cert, ev, date=date(cert.not_after))


@check(
    "cert.eku_email",
    en="Extended key usage allows e-mail protection",
    de="Erweiterte Schlüsselverwendung erlaubt E-Mail-Schutz",
    rule="fail: EKU present without emailProtection and without anyEKU; warn: EKU absent (Outlook's userCertificate fallback skips it), or only anyEKU.",
)
def eku_email(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        ev = {"eku": list(cert.eku) if cert.eku is not None else None}
        if cert.eku is None:
            yield F(ctx, "cert.eku_email", "warn", "absent", cert, ev, cert=cert.short())
        elif OID_EMAIL_PROTECTION in cert.eku:
            yield F(ctx, "cert.eku_email", "pass", "ok", cert, ev)
        elif OID_ANY_EKU in cert.eku:
            yield F(ctx, "cert.eku_email", "warn", "any", cert, ev, cert=cert.short())
        else:
            yield F(
                ctx,
                "cert.eku_email",
                "fail",
                "missing",
                cert,
                ev,
                cert=cert.short(),
                ekus=", ".join(cert.eku) or "-",
            )


@check(
    "cert.can_encrypt",
    en="Key can be used to encrypt to the user",
    de="Schlüssel erlaubt Verschlüsselung an den Benutzer",
    rule="fail: the key cannot encrypt (RSA needs keyUsage absent or keyEncipherment, EC needs keyAgreement, Ed25519/Ed448 never); info instead for a signing-only certificate when another valid certificate can encrypt.",
)
def can_encrypt(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    others = valid_encryption_certs(user, ctx.now)
    for cert in _each(user):
        ev = {
            "key_type": cert.key_type,
            "key_usage": sorted(cert.key_usage) if cert.key_usage is not None else None,
        }
        if cert.can_encrypt:
            yield F(ctx, "cert.can_encrypt", "pass", "ok", cert, ev)
        elif cert.can_sign and any(o.sha256 != cert.sha256 for o in others):
            yield F(ctx, "cert.can_encrypt", "info", "signing_only", cert, ev, cert=cert.short())
        else:
            yield F(
                ctx, "cert.can_encrypt", "fail", "cannot", cert, ev, cert=cert.short(), keytype=cert.key_type
            )


@check(
    "cert.can_sign",
    en="Key can be used to sign",
    de="Schlüssel erlaubt Signieren",
    rule="fail: neither digitalSignature nor nonRepudiation set (keyUsage absent allows both); warn: only nonRepudiation.",
)
def can_sign(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        ku = cert.key_usage
        if ku is None or "digital_signature" in ku:
            yield F(ctx, "cert.can_sign", "pass", "ok", cert, {})
        elif "content_commitment" in ku:
            yield F(ctx, "cert.can_sign", "warn", "nonrep_only", cert, {}, cert=cert.short())
        else:
            yield F(ctx, "cert.can_sign", "fail", "cannot", cert, {}, cert=cert.short())


@check(
    "cert.key_strength",
    en="Key type and size are strong enough",
    de="Schlüsseltyp und -länge sind stark genug",
    rule="fail: RSA below 2048 bits, or an EC curve other than P-256/384/521; warn: an EC key used for encryption (client support is uneven).",
)
def key_strength(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        ev = {"key_type": cert.key_type, "key_size": cert.key_size, "curve": cert.curve}
        if cert.key_type in ("RSA", "DSA") and (cert.key_size or 0) < 2048:
            yield F(
                ctx,
                "cert.key_strength",
                "fail",
                "weak_rsa",
                cert,
                ev,
                cert=cert.short(),
                size=cert.key_size,
                type=cert.key_type,
            )
        elif cert.key_type == "EC" and cert.curve not in GOOD_CURVES:
            yield F(ctx, "cert.key_strength", "fail", "curve", cert, ev, cert=cert.short(), curve=cert.curve)
        elif cert.key_type == "EC" and cert.can_encrypt:
            yield F(
                ctx, "cert.key_strength", "warn", "ec_encrypt", cert, ev, cert=cert.short(), curve=cert.curve
            )
        else:
            yield F(ctx, "cert.key_strength", "pass", "ok", cert, ev, type=cert.key_type, size=cert.key_size)


@check(
    "cert.signature_hash",
    en="Certificate signature uses a current hash",
    de="Zertifikatssignatur nutzt einen aktuellen Hash",
    rule="fail: MD2/MD5, or SHA-1 from a publicly trusted CA; warn: SHA-1 from a private CA.",
)
def signature_hash(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        h = cert.signature_hash
        ev = {"hash": h, "signature_oid": cert.signature_oid}
        if h in ("md2", "md5") or (h == "sha1" and is_public(cert)):
            yield F(
                ctx,
                "cert.signature_hash",
                "fail",
                "broken",
                cert,
                ev,
                cert=cert.short(),
                hash=(h or "?").upper(),
            )
        elif h == "sha1":
            yield F(ctx, "cert.signature_hash", "warn", "sha1_private", cert, ev, cert=cert.short())
        else:
            yield F(
                ctx, "cert.signature_hash", "pass", "ok", cert, ev, hash=(h or cert.signature_oid).upper()
            )


def _addr_sets(user: UserFacts) -> tuple[str | None, list[str]]:
    return user.primary_smtp, user.addresses


@check(
    "cert.address_present",
    en="Certificate names a mail address",
    de="Zertifikat enthält eine Mailadresse",
    rule="fail: no rfc822Name / SmtpUTF8Mailbox in the SAN and no emailAddress in the subject; warn: the address is only in the subject emailAddress.",
)
def address_present(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        if cert.san_emails or cert.san_utf8_emails:
            yield F(ctx, "cert.address_present", "pass", "ok", cert, {"emails": list(cert.emails)})
        elif cert.subject_emails:
            yield F(
                ctx,
                "cert.address_present",
                "warn",
                "subject_only",
                cert,
                {"emails": list(cert.subject_emails)},
                cert=cert.short(),
            )
        else:
            yield F(ctx, "cert.address_present", "fail", "none", cert, {}, cert=cert.short())


@check(
    "cert.address_match",
    en="Certificate address belongs to the user",
    de="Zertifikatsadresse gehört dem Benutzer",
    rule="fail: no certificate address is one of the user's addresses U; warn: it matches a secondary address or `mail` but not the primary SMTP (mobile and signature checks use the primary).",
)
def address_match(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    primary, addrs = _addr_sets(user)
    lower = {a.lower() for a in addrs}
    for cert in _each(user):
        emails = [e.lower() for e in cert.emails]
        ev = {"certificate_addresses": list(cert.emails), "user_addresses": addrs}
        if not emails:
            continue  # cert.address_present reports it
        if primary and primary.lower() in emails:
            yield F(ctx, "cert.address_match", "pass", "ok", cert, ev, address=primary)
        elif lower.intersection(emails):
            yield F(
                ctx,
                "cert.address_match",
                "warn",
                "secondary",
                cert,
                ev,
                cert=cert.short(),
                primary=primary or "?",
            )
        else:
            yield F(
                ctx,
                "cert.address_match",
                "fail",
                "foreign",
                cert,
                ev,
                cert=cert.short(),
                emails=", ".join(cert.emails),
                addresses=", ".join(addrs) or "-",
            )


@check(
    "cert.address_case",
    en="Certificate address has the same letter case as the directory",
    de="Zertifikatsadresse hat dieselbe Schreibweise wie das Verzeichnis",
    rule="warn: the certificate address matches one of U ignoring case but not exactly (RFC 5280 §7.5: the local part is case-exact).",
)
def address_case(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    addrs = user.addresses
    for cert in _each(user):
        exact = [e for e in cert.emails if e in addrs]
        folded = [(e, a) for e in cert.emails for a in addrs if e.lower() == a.lower() and e != a]
        if folded and not exact:
            e, a = folded[0]
            yield F(
                ctx,
                "cert.address_case",
                "warn",
                "differs",
                cert,
                {"certificate": e, "directory": a},
                cert_addr=e,
                dir_addr=a,
            )
        elif exact:
            yield F(ctx, "cert.address_case", "pass", "ok", cert, {})


@check(
    "cert.subject_email_consistency",
    en="Subject mailbox is repeated in the SAN",
    de="Postfach im Antragsteller steht auch im SAN",
    rule="warn: the subject emailAddress/CN mailbox is not repeated in the SAN.",
)
def subject_email_consistency(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        san = {e.lower() for e in (*cert.san_emails, *cert.san_utf8_emails)}
        subject = list(cert.subject_emails)
        if cert.subject_cn and "@" in cert.subject_cn and " " not in cert.subject_cn:
            subject.append(cert.subject_cn)
        missing = [s for s in subject if s.lower() not in san]
        if missing:
            yield F(
                ctx,
                "cert.subject_email_consistency",
                "warn",
                "missing",
                cert,
                {"missing": missing},
                cert=cert.short(),
                emails=", ".join(missing),
            )
        else:
            yield F(ctx, "cert.subject_email_consistency", "pass", "ok", cert, {})


@check(
    "cert.ski_present",
    en="Subject Key Identifier present",
    de="Schlüsselkennung (SKI) vorhanden",
    rule="warn: the Subject Key Identifier is missing (Exchange Online requires it).",
)
def ski_present(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        status, key = ("pass", "ok") if cert.ski else ("warn", "missing")
        yield F(ctx, "cert.ski_present", status, key, cert, {}, cert=cert.short())


@check(
    "cert.smime_capabilities",
    en="Advertised S/MIME algorithms are current",
    de="Angebotene S/MIME-Algorithmen sind aktuell",
    rule="warn: SMIMECapabilities lists only DES/3DES/RC2; info: SMIMECapabilities absent.",
)
def smime_capabilities(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        caps = cert.smime_capabilities
        if caps is None:
            yield F(ctx, "cert.smime_capabilities", "info", "absent", cert, {})
            continue
        ciphers = [c for c in caps if c in WEAK_SMIME_CAPABILITIES or c.startswith("2.16.840.1.101.3.4.1.")]
        ev = {"capabilities": list(caps)}
        if ciphers and all(c in WEAK_SMIME_CAPABILITIES for c in ciphers):
            names = ", ".join(WEAK_SMIME_CAPABILITIES[c] for c in ciphers)
            yield F(ctx, "cert.smime_capabilities", "warn", "weak", cert, ev, cert=cert.short(), names=names)
        else:
            yield F(ctx, "cert.smime_capabilities", "pass", "ok", cert, ev)


def _br_profile(cert: CertInfo) -> str | None:
    for oid in cert.smime_br_policies:
        last = oid.rsplit(".", 1)[-1]
        return {"1": "legacy", "2": "multipurpose", "3": "strict"}.get(last)
    return None


@check(
    "cert.br_profile",
    en="Publicly trusted certificate follows the S/MIME Baseline Requirements",
    de="Öffentlich vertrauenswürdiges Zertifikat folgt den S/MIME Baseline Requirements",
    rule="publicly trusted only: fail when the EKU has serverAuth/codeSigning/timeStamping/anyEKU, or a Strict-profile certificate has any EKU besides emailProtection; warn for a Legacy profile issued on/after 2025-07-15, or a lifetime over 825 days (Strict/Multi) or 1185 days (Legacy); private CA: info.",
)
def br_profile(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    for cert in _each(user):
        profile = _br_profile(cert)
        if not is_public(cert):
            yield F(ctx, "cert.br_profile", "info", "private", cert, {})
            continue
        eku = cert.eku or ()
        bad = [o for o in eku if o in (OID_SERVER_AUTH, OID_CODE_SIGNING, OID_TIME_STAMPING, OID_ANY_EKU)]
        lifetime = (cert.not_after - cert.not_before).days
        ev = {"profile": profile, "policies": list(cert.smime_br_policies), "lifetime_days": lifetime}
        if bad:
            yield F(
                ctx, "cert.br_profile", "fail", "bad_eku", cert, ev, cert=cert.short(), ekus=", ".join(bad)
            )
        elif profile == "strict" and any(o != OID_EMAIL_PROTECTION for o in eku):
            yield F(ctx, "cert.br_profile", "fail", "strict_eku", cert, ev, cert=cert.short())
        elif profile == "legacy" and cert.not_before >= BR_LEGACY_CUTOFF:
            yield F(
                ctx,
                "cert.br_profile",
                "warn",
                "legacy_late",
                cert,
                ev,
                cert=cert.short(),
                date=date(cert.not_before),
            )
        elif lifetime > (1185 if profile == "legacy" else 825):
            yield F(
                ctx,
                "cert.br_profile",
                "warn",
                "lifetime",
                cert,
                ev,
                cert=cert.short(),
                days=lifetime,
                profile=profile,
            )
        else:
            yield F(ctx, "cert.br_profile", "pass", "ok", cert, ev, profile=profile)


@check(
    "cert.template",
    en="Issued from an S/MIME certificate template",
    de="Aus einer S/MIME-Zertifikatvorlage ausgestellt",
    rule="warn: issued from a template that is not an S/MIME template (msPKI template extension); info: the template name.",
)
def template(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    for cert in _each(user):
        if not (cert.template_oid or cert.template_name):
            yield F(ctx, "cert.template", "info", "none", cert, {})
            continue
        tpl = cfg.template_for(cert) if cfg else None
        name = (tpl.display_name or tpl.name) if tpl else (cert.template_name or cert.template_oid)
        ev = {"template_oid": cert.template_oid, "template_name": name}
        not_smime = (tpl is not None and OID_EMAIL_PROTECTION not in tpl.ekus and bool(tpl.ekus)) or (
            tpl is None and (cert.template_name or "").replace(" ", "").lower() in NON_SMIME_TEMPLATES
        )
        if not_smime:
            yield F(ctx, "cert.template", "warn", "not_smime", cert, ev, cert=cert.short(), name=name)
        else:
            yield F(ctx, "cert.template", "info", "name", cert, ev, name=name)


TEXTS: Texts = {
    "cert.parse": {
        "invalid": {
            "en": (
                "Unreadable value in {location}",
                "Value {index} of {location} is neither an X.509 certificate nor PKCS#7 with certificates: {error}.",
                "Remove the value (prune_certificates); it helps no sender and takes one of the 15 slots.",
            ),
            "de": (
                "Unlesbarer Wert in {location}",
                "Wert {index} in {location} ist weder ein X.509-Zertifikat noch PKCS#7 mit Zertifikaten: {error}.",
                "Wert entfernen (prune_certificates); er nützt keinem Absender und belegt einen der 15 Plätze.",
            ),
        },
        "bare": {
            "en": (
                "Bare certificate in {location}",
                "{location} holds a bare X.509 certificate instead of Outlook's PKCS#7 blob. That is legal; Outlook reads it.",
                "Nothing to do.",
            ),
            "de": (
                "Einzelnes Zertifikat in {location}",
                "{location} enthält ein einzelnes X.509-Zertifikat statt des PKCS#7-Blobs von Outlook. Das ist zulässig; Outlook liest es.",
                "Nichts zu tun.",
            ),
        },
        "ok": {
            "en": ("All values readable", "All {count} published values are readable certificates.", ""),
            "de": ("Alle Werte lesbar", "Alle {count} veröffentlichten Werte sind lesbare Zertifikate.", ""),
        },
    },
    "cert.end_entity": {
        "ca": {
            "en": (
                "CA certificate published on a user",
                "{cert} is a CA certificate (basicConstraints cA=TRUE). Clients refuse to encrypt to it.",
                "Remove it from the user (prune_certificates) and publish the user's own certificate.",
            ),
            "de": (
                "CA-Zertifikat am Benutzer veröffentlicht",
                "{cert} ist ein CA-Zertifikat (basicConstraints cA=TRUE). Clients verschlüsseln nicht daran.",
                "Vom Benutzer entfernen (prune_certificates) und das eigene Zertifikat des Benutzers veröffentlichen.",
            ),
        },
        "ok": {
            "en": ("End-entity certificate", "Not a CA certificate.", ""),
            "de": ("Endnutzer-Zertifikat", "Kein CA-Zertifikat.", ""),
        },
    },
    "cert.validity": {
        "expired": {
            "en": (
                "Certificate expired",
                "{cert} expired on {date}. Senders cannot encrypt to it.",
                "Enroll a new certificate and remove the expired one (prune_certificates).",
            ),
            "de": (
                "Zertifikat abgelaufen",
                "{cert} ist am {date} abgelaufen. Absender können daran nicht verschlüsseln.",
                "Neues Zertifikat beantragen und das abgelaufene entfernen (prune_certificates).",
            ),
        },
        "not_yet": {
            "en": (
                "Certificate not yet valid",
                "{cert} becomes valid only on {date}.",
                "Check the clock of the issuing CA; wait or re-issue.",
            ),
            "de": (
                "Zertifikat noch nicht gültig",
                "{cert} wird erst am {date} gültig.",
                "Uhrzeit der ausstellenden CA prüfen; abwarten oder neu ausstellen.",
            ),
        },
        "soon": {
            "en": (
                "Certificate expires in {days} days",
                "{cert} expires on {date}.",
                "Renew it now so senders have the new certificate before the old one expires (allow ~48 h for the address book).",
            ),
            "de": (
                "Zertifikat läuft in {days} Tagen ab",
                "{cert} läuft am {date} ab.",
                "Jetzt erneuern, damit Absender das neue Zertifikat vor dem Ablauf haben (ca. 48 h für das Adressbuch einplanen).",
            ),
        },
        "ok": {
            "en": ("Certificate valid", "Valid until {date}.", ""),
            "de": ("Zertifikat gültig", "Gültig bis {date}.", ""),
        },
    },
    "cert.eku_email": {
        "absent": {
            "en": (
                "No extended key usage",
                "{cert} has no EKU extension. Outlook's userCertificate lookup skips certificates without emailProtection.",
                "Issue from a template whose EKU is Secure Email (1.3.6.1.5.5.7.3.4).",
            ),
            "de": (
                "Keine erweiterte Schlüsselverwendung",
                "{cert} hat keine EKU-Erweiterung. Outlook überspringt in userCertificate Zertifikate ohne emailProtection.",
                "Aus einer Vorlage mit EKU Sichere E-Mail (1.3.6.1.5.5.7.3.4) ausstellen.",
            ),
        },
        "any": {
            "en": (
                "Only 'any purpose' EKU",
                "{cert} allows any purpose but does not name emailProtection; Outlook's lookup may skip it.",
                "Issue with the Secure Email EKU.",
            ),
            "de": (
                "Nur EKU 'beliebiger Zweck'",
                "{cert} erlaubt jeden Zweck, nennt aber emailProtection nicht; Outlook kann es überspringen.",
                "Mit EKU Sichere E-Mail ausstellen.",
            ),
        },
        "missing": {
            "en": (
                "Not an e-mail certificate",
                "{cert} is for {ekus}, not e-mail protection. No client will use it for S/MIME.",
                "Enroll a certificate from the S/MIME template; remove this one from the mail attributes if it only takes a slot.",
            ),
            "de": (
                "Kein E-Mail-Zertifikat",
                "{cert} ist für {ekus}, nicht für E-Mail-Schutz. Kein Client nutzt es für S/MIME.",
                "Zertifikat aus der S/MIME-Vorlage beantragen; dieses aus den Mail-Attributen entfernen, wenn es nur einen Platz belegt.",
            ),
        },
        "ok": {
            "en": ("E-mail protection allowed", "EKU contains emailProtection.", ""),
            "de": ("E-Mail-Schutz erlaubt", "EKU enthält emailProtection.", ""),
        },
    },
    "cert.can_encrypt": {
        "cannot": {
            "en": (
                "Key cannot encrypt",
                "{cert} ({keytype} key) does not allow key encipherment/agreement; senders cannot encrypt to it.",
                "Enroll an encryption-capable certificate (RSA with keyEncipherment).",
            ),
            "de": (
                "Schlüssel kann nicht verschlüsseln",
                "{cert} ({keytype}-Schlüssel) erlaubt keine Schlüsselverschlüsselung/-vereinbarung; Absender können daran nicht verschlüsseln.",
                "Verschlüsselungsfähiges Zertifikat beantragen (RSA mit keyEncipherment).",
            ),
        },
        "signing_only": {
            "en": (
                "Signing-only certificate",
                "{cert} is for signing only; another valid certificate handles encryption.",
                "",
            ),
            "de": (
                "Reines Signaturzertifikat",
                "{cert} dient nur zum Signieren; ein anderes gültiges Zertifikat übernimmt die Verschlüsselung.",
                "",
            ),
        },
        "ok": {
            "en": ("Key can encrypt", "The key allows encryption.", ""),
            "de": ("Schlüssel kann verschlüsseln", "Der Schlüssel erlaubt Verschlüsselung.", ""),
        },
    },
    "cert.can_sign": {
        "cannot": {
            "en": (
                "Key cannot sign",
                "{cert} allows neither digitalSignature nor nonRepudiation.",
                "Fine for a pure encryption certificate; the user needs another one for signing.",
            ),
            "de": (
                "Schlüssel kann nicht signieren",
                "{cert} erlaubt weder digitalSignature noch nonRepudiation.",
                "Für ein reines Verschlüsselungszertifikat in Ordnung; zum Signieren braucht der Benutzer ein weiteres.",
            ),
        },
        "nonrep_only": {
            "en": (
                "Only nonRepudiation",
                "{cert} allows nonRepudiation but not digitalSignature; some clients refuse to sign with it.",
                "Issue with digitalSignature.",
            ),
            "de": (
                "Nur nonRepudiation",
                "{cert} erlaubt nonRepudiation, aber nicht digitalSignature; manche Clients signieren damit nicht.",
                "Mit digitalSignature ausstellen.",
            ),
        },
        "ok": {
            "en": ("Key can sign", "The key allows signing.", ""),
            "de": ("Schlüssel kann signieren", "Der Schlüssel erlaubt Signaturen.", ""),
        },
    },
    "cert.key_strength": {
        "weak_rsa": {
            "en": ("Weak key", "{cert} has a {size}-bit {type} key.", "Re-issue with RSA 2048 or larger."),
            "de": (
                "Schwacher Schlüssel",
                "{cert} hat einen {type}-Schlüssel mit {size} Bit.",
                "Mit RSA 2048 Bit oder mehr neu ausstellen.",
            ),
        },
        "curve": {
            "en": (
                "Unsupported curve",
                "{cert} uses curve {curve}; mail clients support only P-256, P-384 and P-521.",
                "Re-issue on P-256/P-384 or with RSA.",
            ),
            "de": (
                "Nicht unterstützte Kurve",
                "{cert} nutzt die Kurve {curve}; Mailclients unterstützen nur P-256, P-384 und P-521.",
                "Mit P-256/P-384 oder RSA neu ausstellen.",
            ),
        },
        "ec_encrypt": {
            "en": (
                "EC key for encryption",
                "{cert} uses an EC key ({curve}) for encryption; client support for ECDH in S/MIME is uneven (older Outlook, some mobiles).",
                "Prefer RSA for the encryption certificate until every client supports ECDH.",
            ),
            "de": (
                "EC-Schlüssel zur Verschlüsselung",
                "{cert} nutzt einen EC-Schlüssel ({curve}) zur Verschlüsselung; ECDH in S/MIME wird nicht von allen Clients unterstützt.",
                "Für das Verschlüsselungszertifikat RSA bevorzugen, bis alle Clients ECDH können.",
            ),
        },
        "ok": {
            "en": ("Key strength fine", "{type} {size} bit.", ""),
            "de": ("Schlüsselstärke in Ordnung", "{type} {size} Bit.", ""),
        },
    },
    "cert.signature_hash": {
        "broken": {
            "en": (
                "Broken signature hash",
                "{cert} is signed with {hash}, which clients reject.",
                "Re-issue from a CA that signs with SHA-256.",
            ),
            "de": (
                "Unsicherer Signatur-Hash",
                "{cert} ist mit {hash} signiert; Clients lehnen das ab.",
                "Von einer CA mit SHA-256-Signatur neu ausstellen.",
            ),
        },
        "sha1_private": {
            "en": (
                "SHA-1 signature",
                "{cert} is signed with SHA-1 by a private CA; modern clients increasingly reject it.",
                "Move the CA to SHA-256 and re-issue.",
            ),
            "de": (
                "SHA-1-Signatur",
                "{cert} ist von einer privaten CA mit SHA-1 signiert; moderne Clients lehnen das zunehmend ab.",
                "CA auf SHA-256 umstellen und neu ausstellen.",
            ),
        },
        "ok": {
            "en": ("Signature hash fine", "Signed with {hash}.", ""),
            "de": ("Signatur-Hash in Ordnung", "Signiert mit {hash}.", ""),
        },
    },
    "cert.address_present": {
        "none": {
            "en": (
                "No mail address in the certificate",
                "{cert} names no mailbox (no rfc822Name/SmtpUTF8Mailbox, no emailAddress). Clients cannot match it to the recipient.",
                "Issue from a template that builds the SAN from AD mail.",
            ),
            "de": (
                "Keine Mailadresse im Zertifikat",
                "{cert} nennt kein Postfach (kein rfc822Name/SmtpUTF8Mailbox, keine emailAddress). Clients können es dem Empfänger nicht zuordnen.",
                "Aus einer Vorlage ausstellen, die den SAN aus AD-mail bildet.",
            ),
        },
        "subject_only": {
            "en": (
                "Address only in the subject",
                "{cert} names the mailbox only in the subject emailAddress, not in the SAN; RFC 8550 clients look in the SAN.",
                "Issue with the address in the SAN (rfc822Name).",
            ),
            "de": (
                "Adresse nur im Antragsteller",
                "{cert} nennt das Postfach nur als emailAddress im Antragsteller, nicht im SAN; Clients nach RFC 8550 suchen im SAN.",
                "Mit Adresse im SAN (rfc822Name) ausstellen.",
            ),
        },
        "ok": {
            "en": ("Mail address present", "The certificate names a mailbox in the SAN.", ""),
            "de": ("Mailadresse vorhanden", "Das Zertifikat nennt ein Postfach im SAN.", ""),
        },
    },
    "cert.address_match": {
        "foreign": {
            "en": (
                "Certificate is for another address",
                "{cert} is issued to {emails}; the user's addresses are {addresses}. Senders' clients refuse or warn.",
                "Remove it from this user (prune_certificates) and issue one for the user's own address.",
            ),
            "de": (
                "Zertifikat gehört zu einer anderen Adresse",
                "{cert} ist auf {emails} ausgestellt; die Adressen des Benutzers sind {addresses}. Clients der Absender lehnen ab oder warnen.",
                "Vom Benutzer entfernen (prune_certificates) und eines für die eigene Adresse ausstellen.",
            ),
        },
        "secondary": {
            "en": (
                "Certificate matches a secondary address",
                "{cert} matches a secondary address, not the primary {primary}. Mobile clients and signature checks use the primary address.",
                "Re-issue for the primary SMTP address.",
            ),
            "de": (
                "Zertifikat passt zu einer Zweitadresse",
                "{cert} passt zu einer Zweitadresse, nicht zur primären {primary}. Mobile Clients und Signaturprüfungen nutzen die primäre Adresse.",
                "Für die primäre SMTP-Adresse neu ausstellen.",
            ),
        },
        "ok": {
            "en": ("Address matches", "Issued to {address}.", ""),
            "de": ("Adresse passt", "Ausgestellt auf {address}.", ""),
        },
    },
    "cert.address_case": {
        "differs": {
            "en": (
                "Address differs in case",
                "The certificate says {cert_addr}, the directory {dir_addr}. The local part is case-exact by RFC 5280; some clients warn.",
                "Lower-case the directory addresses (lowercase_addresses) and issue certificates in lower case.",
            ),
            "de": (
                "Adresse unterscheidet sich in der Schreibweise",
                "Das Zertifikat nennt {cert_addr}, das Verzeichnis {dir_addr}. Der lokale Teil ist nach RFC 5280 case-sensitiv; manche Clients warnen.",
                "Adressen im Verzeichnis klein schreiben (lowercase_addresses) und Zertifikate klein geschrieben ausstellen.",
            ),
        },
        "ok": {
            "en": ("Address case matches", "Same spelling as in the directory.", ""),
            "de": ("Schreibweise stimmt", "Gleiche Schreibweise wie im Verzeichnis.", ""),
        },
    },
    "cert.subject_email_consistency": {
        "missing": {
            "en": (
                "Subject mailbox not in SAN",
                "{cert} names {emails} in the subject but not in the SAN.",
                "Issue with every mailbox repeated in the SAN.",
            ),
            "de": (
                "Postfach im Antragsteller fehlt im SAN",
                "{cert} nennt {emails} im Antragsteller, aber nicht im SAN.",
                "So ausstellen, dass jedes Postfach auch im SAN steht.",
            ),
        },
        "ok": {
            "en": ("Subject and SAN agree", "", ""),
            "de": ("Antragsteller und SAN stimmen überein", "", ""),
        },
    },
    "cert.ski_present": {
        "missing": {
            "en": (
                "No Subject Key Identifier",
                "{cert} lacks the SKI extension; Exchange Online requires it.",
                "Issue from a CA/template that adds the SKI (AD CS does by default).",
            ),
            "de": (
                "Keine Schlüsselkennung (SKI)",
                "{cert} fehlt die SKI-Erweiterung; Exchange Online verlangt sie.",
                "Von einer CA/Vorlage ausstellen, die den SKI setzt (AD CS tut das standardmäßig).",
            ),
        },
        "ok": {"en": ("SKI present", "", ""), "de": ("SKI vorhanden", "", "")},
    },
    "cert.smime_capabilities": {
        "weak": {
            "en": (
                "Only weak algorithms advertised",
                "{cert} advertises only {names}; senders may fall back to them.",
                "Set the template's S/MIME capabilities to AES (or remove the extension).",
            ),
            "de": (
                "Nur schwache Algorithmen angeboten",
                "{cert} bietet nur {names} an; Absender fallen eventuell darauf zurück.",
                "S/MIME-Fähigkeiten der Vorlage auf AES setzen (oder die Erweiterung entfernen).",
            ),
        },
        "absent": {
            "en": (
                "No S/MIME capabilities",
                "The certificate does not advertise algorithms; senders use their defaults (normally AES).",
                "",
            ),
            "de": (
                "Keine S/MIME-Fähigkeiten",
                "Das Zertifikat nennt keine Algorithmen; Absender nutzen ihre Voreinstellung (normalerweise AES).",
                "",
            ),
        },
        "ok": {
            "en": ("Current algorithms advertised", "", ""),
            "de": ("Aktuelle Algorithmen angeboten", "", ""),
        },
    },
    "cert.br_profile": {
        "private": {
            "en": (
                "Private CA",
                "Issued by a private CA; the S/MIME Baseline Requirements do not apply.",
                "",
            ),
            "de": (
                "Private CA",
                "Von einer privaten CA ausgestellt; die S/MIME Baseline Requirements gelten nicht.",
                "",
            ),
        },
        "bad_eku": {
            "en": (
                "EKU not allowed for public S/MIME",
                "{cert} is publicly trusted but carries {ekus}.",
                "Ask the CA to re-issue under a current S/MIME BR profile.",
            ),
            "de": (
                "EKU für öffentliches S/MIME unzulässig",
                "{cert} ist öffentlich vertrauenswürdig, enthält aber {ekus}.",
                "Von der CA nach aktuellem S/MIME-BR-Profil neu ausstellen lassen.",
            ),
        },
        "strict_eku": {
            "en": (
                "Strict profile with extra EKU",
                "{cert} is issued under the Strict profile but has EKUs besides emailProtection.",
                "Ask the CA to re-issue.",
            ),
            "de": (
                "Strict-Profil mit weiterer EKU",
                "{cert} ist nach dem Strict-Profil ausgestellt, hat aber EKUs außer emailProtection.",
                "Von der CA neu ausstellen lassen.",
            ),
        },
        "legacy_late": {
            "en": (
                "Legacy profile after 2025-07-15",
                "{cert} was issued on {date} under the Legacy profile, which the BRs retired for new certificates.",
                "Renew under the Multipurpose or Strict profile.",
            ),
            "de": (
                "Legacy-Profil nach dem 15.07.2025",
                "{cert} wurde am {date} nach dem Legacy-Profil ausgestellt, das die BR für neue Zertifikate abgeschafft haben.",
                "Nach Multipurpose- oder Strict-Profil erneuern.",
            ),
        },
        "lifetime": {
            "en": (
                "Lifetime too long",
                "{cert} is valid for {days} days, more than the {profile} profile allows.",
                "Renew with a shorter lifetime.",
            ),
            "de": (
                "Laufzeit zu lang",
                "{cert} gilt {days} Tage, länger als das Profil {profile} erlaubt.",
                "Mit kürzerer Laufzeit erneuern.",
            ),
        },
        "ok": {
            "en": ("Baseline Requirements profile fine", "Profile: {profile}.", ""),
            "de": ("Baseline-Requirements-Profil in Ordnung", "Profil: {profile}.", ""),
        },
    },
    "cert.template": {
        "none": {
            "en": (
                "No AD CS template",
                "The certificate carries no Microsoft template extension (not from an enterprise CA).",
                "",
            ),
            "de": (
                "Keine AD-CS-Vorlage",
                "Das Zertifikat trägt keine Microsoft-Vorlagenerweiterung (nicht von einer Unternehmens-CA).",
                "",
            ),
        },
        "not_smime": {
            "en": (
                "Not an S/MIME template",
                "{cert} comes from template '{name}', which is not an S/MIME template.",
                "Enroll from the S/MIME template; remove this certificate from the mail attributes if it only takes a slot.",
            ),
            "de": (
                "Keine S/MIME-Vorlage",
                "{cert} stammt aus der Vorlage '{name}', die keine S/MIME-Vorlage ist.",
                "Aus der S/MIME-Vorlage beantragen; dieses Zertifikat aus den Mail-Attributen entfernen, wenn es nur einen Platz belegt.",
            ),
        },
        "name": {
            "en": ("Template: {name}", "Issued from certificate template '{name}'.", ""),
            "de": ("Vorlage: {name}", "Aus der Zertifikatvorlage '{name}' ausgestellt.", ""),
        },
    },
}

F = make_finder(TEXTS)
