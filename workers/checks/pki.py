"""pki.* — the issuing side: AD CS certificate templates and CA distribution (configuration partition).

Judged from `ad-config.ldif` in a snapshot (the live AD source fills the same AdConfig).
"""

from __future__ import annotations

from collections.abc import Iterator

from workers.certs.x509 import OID_EMAIL_PROTECTION
from workers.checks.base import Context, Texts, check, make_finder, skip
from workers.facts import AdConfig, CertTemplate, UserFacts
from workers.report import Finding

# msPKI-Enrollment-Flag
PUBLISH_TO_DS = 0x8
CHECK_USER_DS_CERTIFICATE = 0x10
AUTO_ENROLLMENT = 0x20
# msPKI-Private-Key-Flag
REQUIRE_KEY_ARCHIVAL = 0x1
# msPKI-Certificate-Name-Flag
ENROLLEE_SUPPLIES_SUBJECT = 0x1
SUBJECT_ALT_REQUIRE_EMAIL = 0x04000000
MAX_VALIDITY_DAYS = 3 * 366


def smime_templates(cfg: AdConfig) -> list[CertTemplate]:
    return [t for t in cfg.templates if OID_EMAIL_PROTECTION in t.ekus]


def _name(t: CertTemplate) -> str:
    return t.display_name or t.name


@check(
    "pki.template_smime_only",
    en="The S/MIME template is for e-mail only",
    de="Die S/MIME-Vorlage dient nur der E-Mail",
    scope="tenant",
    rule="warn: the S/MIME template's EKU has more than emailProtection.",
)
def template_smime_only(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    if cfg is None:
        yield skip(ctx, "pki.template_smime_only", "ad-config.ldif")
        return
    mixed = [t for t in smime_templates(cfg) if set(t.ekus) - {OID_EMAIL_PROTECTION}]
    if mixed:
        names = ", ".join(_name(t) for t in mixed)
        yield F(
            ctx,
            "pki.template_smime_only",
            "warn",
            "mixed",
            None,
            {"templates": [t.name for t in mixed]},
            names=names,
        )
    else:
        yield F(ctx, "pki.template_smime_only", "pass", "ok", None, {})


@check(
    "pki.template_publish_to_ds",
    en="A template publishes certificates to AD",
    de="Eine Vorlage veröffentlicht Zertifikate im AD",
    scope="tenant",
    rule="fail: no template publishes to userCertificate (msPKI-Enrollment-Flag 0x8) and nothing else does; info: publishing only ever appends, so cleanup is ours to do.",
)
def template_publish_to_ds(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    if cfg is None:
        yield skip(ctx, "pki.template_publish_to_ds", "ad-config.ldif")
        return
    publishing = [t for t in smime_templates(cfg) if t.enrollment_flag & PUBLISH_TO_DS]
    if publishing:
        names = ", ".join(_name(t) for t in publishing)
        yield F(
            ctx,
            "pki.template_publish_to_ds",
            "info",
            "appends",
            None,
            {"templates": [t.name for t in publishing]},
            names=names,
        )
    else:
        yield F(ctx, "pki.template_publish_to_ds", "fail", "none", None, {})


@check(
    "pki.template_check_existing",
    en="Autoenrollment checks for an existing certificate",
    de="Autoenrollment prüft auf ein vorhandenes Zertifikat",
    scope="tenant",
    rule='warn: autoenrolled (0x20) without 0x10 "check user DS certificate", the re-enrollment loop.',
)
def template_check_existing(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    if cfg is None:
        yield skip(ctx, "pki.template_check_existing", "ad-config.ldif")
        return
    loops = [
        t
        for t in cfg.templates
        if t.enrollment_flag & AUTO_ENROLLMENT and not t.enrollment_flag & CHECK_USER_DS_CERTIFICATE
    ]
    if loops:
        names = ", ".join(_name(t) for t in loops)
        yield F(
            ctx,
            "pki.template_check_existing",
            "warn",
            "loop",
            None,
            {"templates": [t.name for t in loops]},
            names=names,
        )
    else:
        yield F(ctx, "pki.template_check_existing", "pass", "ok", None, {})


@check(
    "pki.template_key_archival",
    en="Encryption keys are archived",
    de="Verschlüsselungsschlüssel werden archiviert",
    scope="tenant",
    rule="warn: an encryption template without key archival (msPKI-Private-Key-Flag 0x1) or no KRA; old mail becomes unreadable when keys are lost.",
)
def template_key_archival(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    if cfg is None:
        yield skip(ctx, "pki.template_key_archival", "ad-config.ldif")
        return
    unarchived = [t for t in smime_templates(cfg) if not t.private_key_flag & REQUIRE_KEY_ARCHIVAL]
    if unarchived:
        names = ", ".join(_name(t) for t in unarchived)
        yield F(
            ctx,
            "pki.template_key_archival",
            "warn",
            "no_archival",
            None,
            {"templates": [t.name for t in unarchived]},
            names=names,
        )
    elif not cfg.kra_certificates:
        yield F(ctx, "pki.template_key_archival", "warn", "no_kra", None, {})
    else:
        yield F(ctx, "pki.template_key_archival", "pass", "ok", None, {})


@check(
    "pki.template_subject_from_ad",
    en="Subject and SAN are built from AD",
    de="Antragsteller und SAN werden aus dem AD gebildet",
    scope="tenant",
    rule="warn: the SAN is not built from AD mail (0x04000000), or the enrollee supplies the subject (0x1).",
)
def template_subject_from_ad(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    if cfg is None:
        yield skip(ctx, "pki.template_subject_from_ad", "ad-config.ldif")
        return
    bad = [
        t
        for t in smime_templates(cfg)
        if t.name_flag & ENROLLEE_SUPPLIES_SUBJECT or not t.name_flag & SUBJECT_ALT_REQUIRE_EMAIL
    ]
    if bad:
        names = ", ".join(_name(t) for t in bad)
        yield F(
            ctx,
            "pki.template_subject_from_ad",
            "warn",
            "bad",
            None,
            {"templates": [t.name for t in bad]},
            names=names,
        )
    else:
        yield F(ctx, "pki.template_subject_from_ad", "pass", "ok", None, {})


@check(
    "pki.template_key_params",
    en="Template key size and lifetime are sound",
    de="Schlüssellänge und Laufzeit der Vorlage sind sinnvoll",
    scope="tenant",
    rule="warn: minimal key size below 2048 or validity over 3 years.",
)
def template_key_params(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    if cfg is None:
        yield skip(ctx, "pki.template_key_params", "ad-config.ldif")
        return
    problems = []
    for t in smime_templates(cfg):
        if t.min_key_size is not None and t.min_key_size < 2048:
            problems.append(f"{_name(t)}: {t.min_key_size} bit")
        if t.validity_days is not None and t.validity_days > MAX_VALIDITY_DAYS:
            problems.append(f"{_name(t)}: {t.validity_days / 365:.0f} y")
    if problems:
        yield F(
            ctx,
            "pki.template_key_params",
            "warn",
            "bad",
            None,
            {"problems": problems},
            problems="; ".join(problems),
        )
    else:
        yield F(ctx, "pki.template_key_params", "pass", "ok", None, {})


@check(
    "pki.root_distributed",
    en="The tenant's roots are trusted by domain clients",
    de="Die Wurzeln des Tenants sind den Domänen-Clients vertraut",
    scope="tenant",
    rule="warn: a root in the tenant SST is not in AD CN=Certification Authorities (domain clients will not trust it); info: non-domain devices need it by hand.",
)
def root_distributed(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.ad_config
    sst = ctx.tenant.sst_certificates
    if cfg is None or sst is None:
        yield skip(ctx, "pki.root_distributed", "ad-config.ldif and the tenant SST")
        return
    in_ad = {c.sha256 for c in cfg.ca_certificates}
    missing = [c for c in sst if c.self_issued and c.sha256 not in in_ad]
    if missing:
        names = ", ".join(c.subject_cn or c.subject for c in missing)
        yield F(
            ctx,
            "pki.root_distributed",
            "warn",
            "missing",
            None,
            {"roots": [c.sha256 for c in missing]},
            names=names,
        )
    else:
        yield F(ctx, "pki.root_distributed", "info", "manual", None, {})


TEXTS: Texts = {
    "pki.template_smime_only": {
        "mixed": {
            "en": (
                "S/MIME template allows more than e-mail",
                "{names}: the EKU has more than Secure Email, so one key serves several purposes.",
                "Give S/MIME its own template with only Secure Email (1.3.6.1.5.5.7.3.4).",
            ),
            "de": (
                "S/MIME-Vorlage erlaubt mehr als E-Mail",
                "{names}: die EKU enthält mehr als Sichere E-Mail; ein Schlüssel dient mehreren Zwecken.",
                "Eigene S/MIME-Vorlage nur mit Sichere E-Mail (1.3.6.1.5.5.7.3.4) anlegen.",
            ),
        },
        "ok": {
            "en": ("S/MIME templates are e-mail only", "", ""),
            "de": ("S/MIME-Vorlagen nur für E-Mail", "", ""),
        },
    },
    "pki.template_publish_to_ds": {
        "appends": {
            "en": (
                "Templates publish to userCertificate",
                "{names} publish to AD. Publishing only ever appends — old certificates stay until someone removes them.",
                "Let smime-doctor prune expired and superseded values (prune_certificates).",
            ),
            "de": (
                "Vorlagen veröffentlichen in userCertificate",
                "{names} veröffentlichen im AD. Veröffentlichen hängt nur an — alte Zertifikate bleiben, bis jemand sie entfernt.",
                "Abgelaufene und ersetzte Werte mit smime-doctor bereinigen (prune_certificates).",
            ),
        },
        "none": {
            "en": (
                "No template publishes to AD",
                "No S/MIME template has 'Publish certificate in Active Directory' (msPKI-Enrollment-Flag 0x8); nobody's certificate reaches the GAL unless Outlook publishes it.",
                "Enable publishing in the S/MIME template.",
            ),
            "de": (
                "Keine Vorlage veröffentlicht im AD",
                "Keine S/MIME-Vorlage hat 'Zertifikat in Active Directory veröffentlichen' (msPKI-Enrollment-Flag 0x8); kein Zertifikat erreicht die GAL, außer Outlook veröffentlicht es.",
                "Veröffentlichung in der S/MIME-Vorlage aktivieren.",
            ),
        },
    },
    "pki.template_check_existing": {
        "loop": {
            "en": (
                "Autoenrollment without the existing-certificate check",
                "{names}: autoenrollment (0x20) without 'check user DS for existing certificate' (0x10) re-enrolls on every new profile — the terminal-server loop.",
                "Set msPKI-Enrollment-Flag 0x10 on the template.",
            ),
            "de": (
                "Autoenrollment ohne Prüfung auf vorhandenes Zertifikat",
                "{names}: Autoenrollment (0x20) ohne 'vorhandenes Zertifikat im Verzeichnis prüfen' (0x10) beantragt bei jedem neuen Profil neu — die Terminalserver-Schleife.",
                "msPKI-Enrollment-Flag 0x10 in der Vorlage setzen.",
            ),
        },
        "ok": {
            "en": ("Autoenrollment checks existing certificates", "", ""),
            "de": ("Autoenrollment prüft vorhandene Zertifikate", "", ""),
        },
    },
    "pki.template_key_archival": {
        "no_archival": {
            "en": (
                "Encryption keys not archived",
                "{names} do not archive the private key (msPKI-Private-Key-Flag 0x1): a lost key makes old mail unreadable.",
                "Enable key archival and configure a key recovery agent.",
            ),
            "de": (
                "Verschlüsselungsschlüssel nicht archiviert",
                "{names} archivieren den privaten Schlüssel nicht (msPKI-Private-Key-Flag 0x1): ein verlorener Schlüssel macht alte Mails unlesbar.",
                "Schlüsselarchivierung aktivieren und einen Key Recovery Agent einrichten.",
            ),
        },
        "no_kra": {
            "en": (
                "No key recovery agent",
                "Templates require archival but AD lists no key recovery agent.",
                "Enroll a KRA certificate and add it to the CA.",
            ),
            "de": (
                "Kein Key Recovery Agent",
                "Vorlagen verlangen Archivierung, aber das AD kennt keinen Key Recovery Agent.",
                "KRA-Zertifikat ausstellen und der CA hinzufügen.",
            ),
        },
        "ok": {"en": ("Keys archived", "", ""), "de": ("Schlüssel archiviert", "", "")},
    },
    "pki.template_subject_from_ad": {
        "bad": {
            "en": (
                "Subject not built from AD",
                "{names}: the SAN is not built from AD mail (0x04000000) or the enrollee supplies the subject (0x1).",
                "Build subject and SAN from Active Directory, including the e-mail name.",
            ),
            "de": (
                "Antragsteller nicht aus dem AD",
                "{names}: der SAN wird nicht aus AD-mail gebildet (0x04000000) oder der Antragsteller gibt ihn selbst an (0x1).",
                "Antragsteller und SAN aus dem Active Directory bilden, inklusive E-Mail-Name.",
            ),
        },
        "ok": {"en": ("Subject built from AD", "", ""), "de": ("Antragsteller aus dem AD", "", "")},
    },
    "pki.template_key_params": {
        "bad": {
            "en": (
                "Weak template parameters",
                "{problems}",
                "Require RSA 2048+ and at most 3 years' validity.",
            ),
            "de": (
                "Schwache Vorlagenparameter",
                "{problems}",
                "Mindestens RSA 2048 und höchstens 3 Jahre Gültigkeit verlangen.",
            ),
        },
        "ok": {"en": ("Template parameters fine", "", ""), "de": ("Vorlagenparameter in Ordnung", "", "")},
    },
    "pki.root_distributed": {
        "missing": {
            "en": (
                "Tenant root not trusted in AD",
                "{names} is in the tenant SST but not in AD's Certification Authorities container; domain clients will not trust it.",
                "Publish it: certutil -dspublish -f root.cer RootCA (or by GPO).",
            ),
            "de": (
                "Tenant-Wurzel im AD nicht vertraut",
                "{names} ist in der SST des Tenants, aber nicht im Container Certification Authorities des AD; Domänen-Clients vertrauen ihr nicht.",
                "Veröffentlichen: certutil -dspublish -f root.cer RootCA (oder per GPO).",
            ),
        },
        "manual": {
            "en": (
                "Roots distributed to domain clients",
                "Non-domain devices (phones, Macs, home PCs) need the root installed by hand or by MDM.",
                "",
            ),
            "de": (
                "Wurzeln an Domänen-Clients verteilt",
                "Geräte außerhalb der Domäne (Handys, Macs, Heim-PCs) brauchen die Wurzel manuell oder per MDM.",
                "",
            ),
        },
    },
}

F = make_finder(TEXTS)
