#!/usr/bin/env python3
"""Generate the bundled demo snapshot "Contoso (demo)" (workers/demo_tenant/data).

A fictional hybrid tenant: on-premises AD ``DC=contoso,DC=example`` synced by Entra
Connect to ``contoso.onmicrosoft.com`` with Exchange Online. Every user is one field case
from the seed article and docs/checks.md; ``expected.json`` records, per user, the statuses the
engine must report for the checks that case is built for.

All dates are relative to the fixed instant ``COLLECTED_AT`` so verdicts are reproducible
with ``--at 2026-11-20T06:00:00Z``. Keys (and so certificate bytes) are fresh on every run;
the structure, the names and every verdict are not.

Usage: ``python scripts/make_demo_tenant.py [--out DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# The repository root (for ``workers``) and tests/support (for the PKI factory, a plain
# module there because tests/ is not a package).
for _path in (REPO, REPO / "tests" / "support"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import pki_factory as pf  # noqa: E402

from workers.certs.sst import write_sst  # noqa: E402

# --- the tenant -------------------------------------------------------------------------

COLLECTED_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
NOW = COLLECTED_AT
SYNC_INTERVAL_MINUTES = 30
# Last Entra Connect delta cycle: 25 minutes before collection - fresh (sync.freshness
# passes), but *after* fresh.cert's AD change at 05:40 would not be: that change landed at
# 05:40, after this cycle, so it is still waiting for the 06:05 run.
LAST_SYNC = NOW - timedelta(minutes=25)
SYNC_SCOPE = {"attribute": "extensionAttribute15", "equals": "NoSync"}

DOMAIN = "contoso.example"
TENANT = "contoso.onmicrosoft.com"
ROUTING_DOMAIN = "contoso.mail.onmicrosoft.com"
BASE_DN = "DC=contoso,DC=example"
USERS_OU = f"OU=Users,OU=Contoso,{BASE_DN}"
PKS_DN = f"CN=Public Key Services,CN=Services,CN=Configuration,{BASE_DN}"
PKS_DN_URL = PKS_DN.replace(" ", "%20")
ID_NAMESPACE = uuid.UUID("6f1c6b7e-2d1a-4f0e-9a57-0c0a7e5d2026")
TENANT_ID = str(uuid.uuid5(ID_NAMESPACE, "tenant"))
ROOT_PEM = "contoso-root-ca.pem"

# AD CS template OIDs (msPKI-Cert-Template-OID) under one forest arc.
FOREST_ARC = "1.3.6.1.4.1.311.21.8.8462115.1509784.12287693.4139214.7823614.160"
TPL_SMIME = f"{FOREST_ARC}.5316811.10472592"
TPL_USER = f"{FOREST_ARC}.1.1"
TPL_SMARTCARD = f"{FOREST_ARC}.7361920.11592841"
TPL_LEGACY = f"{FOREST_ARC}.9512884.2750811"

CONTOSO_CDP = "http://pki.contoso.example/crl/ContosoIssuingCA01.crl"
CONTOSO_AIA = "http://pki.contoso.example/aia/ContosoIssuingCA01.crt"
CONTOSO_OCSP = "http://pki.contoso.example/ocsp"
PUBLIC_CDP = "http://crl.public-ca.example/smime-ca.crl"
PUBLIC_OCSP = "http://ocsp.public-ca.example"
BR_MAILBOX_LEGACY = "2.23.140.1.5.1.1"
BR_MAILBOX_MULTIPURPOSE = "2.23.140.1.5.1.2"

DEFAULT_WHEN_CHANGED = NOW - timedelta(days=9, hours=3)


def days(n: float) -> timedelta:
    return timedelta(days=n)


# --- PKI --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    root: pf.Issued  # Contoso Root CA (SST, AD Certification Authorities, trusted_roots)
    ca01: pf.Issued  # Contoso Issuing CA 01 (SST, AD AIA, NTAuth) - issues today's certificates
    ca00: pf.Issued  # Contoso Issuing CA 00, previous generation, expires in 46 days (SST)
    fabrikam_root: pf.Issued  # external partner PKI: root in no trust store of ours
    fabrikam_ca: pf.Issued
    public_root: pf.Issued  # publicly-trusted style: root in the SST, not in AD
    public_ca: pf.Issued
    legacy_ca: pf.Issued  # weak old root: RSA-1024, SHA-1; in AD Certification Authorities only
    kra: pf.Issued  # key recovery agent certificate (AD CN=KRA)


def build_pki() -> Pki:
    root = pf.make_ca(
        "Contoso Root CA",
        organization="Contoso",
        not_before=datetime(2016, 1, 1, tzinfo=UTC),
        not_after=datetime(2036, 1, 1, tzinfo=UTC),
    )
    root_urls: dict[str, Any] = {
        "crl_urls": ["http://pki.contoso.example/crl/ContosoRootCA.crl"],
        "ca_issuer_urls": ["http://pki.contoso.example/aia/ContosoRootCA.crt"],
    }
    ca01 = pf.make_ca(
        "Contoso Issuing CA 01",
        organization="Contoso",
        issuer=root,
        path_length=0,
        not_before=datetime(2024, 3, 1, tzinfo=UTC),
        not_after=datetime(2034, 3, 1, tzinfo=UTC),
        **root_urls,
    )
    ca00 = pf.make_ca(
        "Contoso Issuing CA 00",
        organization="Contoso",
        issuer=root,
        path_length=0,
        not_before=datetime(2017, 1, 5, tzinfo=UTC),
        not_after=NOW + days(46),
        **root_urls,
    )
    fabrikam_root = pf.make_ca(
        "Fabrikam Partner Root",
        organization="Fabrikam",
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2040, 1, 1, tzinfo=UTC),
    )
    fabrikam_ca = pf.make_ca(
        "Fabrikam Mail CA",
        organization="Fabrikam",
        issuer=fabrikam_root,
        path_length=0,
        not_before=datetime(2020, 2, 1, tzinfo=UTC),
        not_after=datetime(2030, 2, 1, tzinfo=UTC),
        crl_urls=["http://pki.fabrikam.example/crl/FabrikamMailCA.crl"],
    )
    public_root = pf.make_ca(
        "Example Public S/MIME Root R1",
        organization="Example Trust Services",
        not_before=datetime(2021, 1, 1, tzinfo=UTC),
        not_after=datetime(2046, 1, 1, tzinfo=UTC),
    )
    public_ca = pf.make_ca(
        "Example Public S/MIME CA",
        organization="Example Trust Services",
        issuer=public_root,
        path_length=0,
        not_before=datetime(2023, 6, 1, tzinfo=UTC),
        not_after=datetime(2033, 6, 1, tzinfo=UTC),
        crl_urls=["http://crl.public-ca.example/root-r1.crl"],
    )
    legacy_ca = pf.make_ca(
        "Contoso Legacy CA",
        organization="Contoso",
        key_size=1024,
        hash_name="sha1",
        not_before=datetime(2012, 1, 1, tzinfo=UTC),
        not_after=datetime(2032, 1, 1, tzinfo=UTC),
    )
    kra = pf.make_leaf(
        ca01,
        "Contoso Key Recovery Agent",
        not_before=datetime(2024, 4, 1, tzinfo=UTC),
        not_after=datetime(2029, 4, 1, tzinfo=UTC),
        eku=[pf.EKU_KEY_RECOVERY_AGENT],
        capabilities=None,
        key_usage_flags={"key_encipherment"},
        crl_urls=[CONTOSO_CDP],
    )
    return Pki(root, ca01, ca00, fabrikam_root, fabrikam_ca, public_root, public_ca, legacy_ca, kra)


def contoso_cert(
    pki: Pki,
    name: str,
    email: str,
    *,
    issued: datetime | None = None,
    lifetime: float = 730,
    **overrides: Any,
) -> pf.Issued:
    """A certificate from the ContosoSMIME template on Contoso Issuing CA 01 (override anything)."""
    start = issued or NOW - days(120)
    options: dict[str, Any] = {
        "emails": [email],
        "organization": "Contoso",
        "template_oid": TPL_SMIME,
        "crl_urls": [CONTOSO_CDP],
        "ocsp_urls": [CONTOSO_OCSP],
        "ca_issuer_urls": [CONTOSO_AIA],
    }
    options.update(overrides)
    issuer = options.pop("issuer", pki.ca01)
    return pf.make_leaf(issuer, name, not_before=start, not_after=start + days(lifetime), **options)


def public_cert(
    pki: Pki,
    name: str,
    email: str,
    *,
    policy: str = BR_MAILBOX_MULTIPURPOSE,
    issued: datetime | None = None,
    lifetime: float = 365,
    **overrides: Any,
) -> pf.Issued:
    """A certificate from the publicly-trusted-style Example Public S/MIME CA (S/MIME BR policy OID)."""
    start = issued or NOW - days(90)
    options: dict[str, Any] = {
        "emails": [email],
        "policies": [policy],
        "crl_urls": [PUBLIC_CDP],
        "ocsp_urls": [PUBLIC_OCSP],
        "ca_issuer_urls": ["http://certs.public-ca.example/smime-ca.crt"],
    }
    options.update(overrides)
    return pf.make_leaf(pki.public_ca, name, not_before=start, not_after=start + days(lifetime), **options)


# --- users ------------------------------------------------------------------------------


@dataclass
class User:
    """One directory person (or cloud recipient) and what it is built to show."""

    sam: str
    display: str
    description: str
    expect: dict[str, str]
    user_certs: list[bytes] = field(default_factory=list)  # AD userCertificate
    smime_certs: list[bytes] = field(default_factory=list)  # AD userSMIMECertificate
    mail: str | None = None  # AD mail; default sam@contoso.example
    primary: str | None = None  # primary SMTP; default = mail
    secondary: list[str] = field(default_factory=list)  # extra smtp: addresses
    mail_nickname: bool = True
    when_changed: datetime = DEFAULT_WHEN_CHANGED
    hidden: bool = False
    no_sync: bool = False  # extensionAttribute15 = NoSync (outside the sync scope)
    ad: bool = True  # has an on-premises AD object
    entra: bool = True  # has an Entra user
    exo: bool = True  # has an Exchange Online recipient
    exo_user_certs: list[bytes] | None = None  # None: same as AD (synced)
    exo_smime_certs: list[bytes] | None = None
    exo_when_changed: datetime | None = None
    exo_addresses: list[str] | None = None  # None: derived from AD proxyAddresses
    recipient_type: str = "UserMailbox"
    service_errors: list[dict[str, Any]] = field(default_factory=list)
    cert_attr: str = "userCertificate"  # or "userCertificate;binary"
    byte_style: str = "base64"  # base64 | ints | flat_ints | mixed
    odata: bool = False  # "@odata.type" annotations on multi-valued properties
    query: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # extra keys for expected.json

    @property
    def address(self) -> str:
        return self.mail or f"{self.sam}@{DOMAIN}"

    @property
    def primary_smtp(self) -> str:
        return self.primary or self.address

    @property
    def guid(self) -> uuid.UUID:
        return uuid.uuid5(ID_NAMESPACE, f"ad:{self.sam}")

    @property
    def entra_id(self) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"entra:{self.sam}"))

    @property
    def dn(self) -> str:
        return f"CN={self.display},{USERS_OU}"

    @property
    def proxy_addresses(self) -> list[str]:
        out = [f"SMTP:{self.primary_smtp}"]
        out += [f"smtp:{a}" for a in self.secondary]
        if self.mail and self.mail.lower() != self.primary_smtp.lower() and self.mail not in self.secondary:
            out.append(f"smtp:{self.mail}")
        out.append(f"smtp:{self.sam}@{ROUTING_DOMAIN}")
        return out


# Statuses every healthy Contoso user (cert in userCertificate from Contoso Issuing CA 01,
# synced, same cert in EXO, lower-case addresses, visible in the GAL) must produce.
HEALTHY: dict[str, str] = {
    "publish.ad_present": "pass",
    "cert.parse": "pass",
    "cert.end_entity": "pass",
    "cert.validity": "pass",
    "cert.eku_email": "pass",
    "cert.can_encrypt": "pass",
    "cert.can_sign": "pass",
    "cert.key_strength": "pass",
    "cert.signature_hash": "pass",
    "cert.address_present": "pass",
    "cert.address_match": "pass",
    "cert.address_case": "pass",
    "cert.subject_email_consistency": "pass",
    "cert.ski_present": "pass",
    "cert.smime_capabilities": "pass",
    "cert.br_profile": "info",
    "cert.template": "info",
    "trust.chain": "pass",
    "trust.exo_issuing_ca": "pass",
    "trust.revocation_endpoints": "pass",
    "trust.ca_health": "pass",
    "publish.smime_precedence": "pass",
    "publish.smime_only": "pass",
    "publish.count_limit": "pass",
    "publish.attr_size": "pass",
    "publish.clutter": "pass",
    "publish.multiple_encryption_keys": "pass",
    "publish.reenrollment_loop": "pass",
    "publish.foreign_cert": "pass",
    "sync.in_scope": "pass",
    "sync.mailnickname": "pass",
    "sync.errors": "pass",
    "exo.recipient_found": "pass",
    "exo.cert_matches_ad": "pass",
    "exo.hidden_from_gal": "pass",
    "exo.propagation": "info",
    "addr.lowercase": "pass",
    "addr.mail_is_primary": "pass",
    "advice.private_key": "info",
}


def healthy(pki: Pki, sam: str, display: str, **options: Any) -> User:
    user = User(
        sam,
        display,
        "Healthy: S/MIME certificate from Contoso Issuing CA 01 in userCertificate, "
        "synced, the same certificate in Exchange Online, visible in the GAL.",
        dict(HEALTHY),
        **options,
    )
    user.user_certs = [contoso_cert(pki, display, user.address).der]
    return user


def case_adele(pki: Pki) -> User:
    return healthy(pki, "adele.vance", "Adele Vance", odata=True)


def case_alex(pki: Pki) -> User:
    return healthy(pki, "alex.wilber", "Alex Wilber", byte_style="ints", cert_attr="userCertificate;binary")


def case_megan(pki: Pki) -> User:
    return healthy(pki, "megan.bowen", "Megan Bowen", query=f"megan.bowen@{DOMAIN}")


def case_lynne(pki: Pki) -> User:
    return healthy(pki, "lynne.robbins", "Lynne Robbins", byte_style="flat_ints")


def case_diego(pki: Pki) -> User:
    return healthy(pki, "diego.siciliani", "Diego Siciliani", cert_attr="userCertificate;binary", odata=True)


def case_public_healthy(pki: Pki) -> User:
    expect = {k: v for k, v in HEALTHY.items() if k not in ("cert.template",)}
    expect["cert.br_profile"] = "pass"
    user = User(
        "pradeep.gupta",
        "Pradeep Gupta",
        "Healthy with a publicly-trusted S/MIME certificate (BR Multipurpose profile, 1 year, EKU emailProtection).",
        expect,
    )
    user.user_certs = [public_cert(pki, user.display, user.address).der]
    return user


def case_ext_partner(pki: Pki) -> User:
    user = User(
        "ext.partner",
        "Erik Partner (Fabrikam)",
        "Certificate from the external Fabrikam PKI imported into userSMIMECertificate only; "
        "the Fabrikam root is missing from the tenant SST and from AD.",
        {
            "publish.smime_only": "warn",
            "trust.chain": "fail",
            "trust.exo_issuing_ca": "fail",
            "publish.ad_present": "pass",
            "publish.smime_default_cert": "info",
            "cert.validity": "pass",
            "exo.cert_matches_ad": "pass",
            "sync.mailnickname": "pass",
        },
    )
    leaf = pf.make_leaf(
        pki.fabrikam_ca,
        user.display,
        emails=[user.address],
        organization="Fabrikam",
        not_before=NOW - days(200),
        not_after=NOW + days(530),
        crl_urls=["http://pki.fabrikam.example/crl/FabrikamMailCA.crl"],
    )
    user.smime_certs = [pf.certs_only_pkcs7([leaf, pki.fabrikam_ca])]
    return user


def case_no_nickname(pki: Pki) -> User:
    user = User(
        "no.nickname",
        "Nora Nickless",
        "AD mailNickname is empty: Entra Connect syncs no Exchange attribute, so the certificate in AD "
        "never reaches the Exchange Online mailbox.",
        {
            "sync.mailnickname": "fail",
            "exo.cert_matches_ad": "fail",
            "publish.ad_present": "pass",
            "exo.recipient_found": "pass",
            "sync.in_scope": "pass",
            "cert.validity": "pass",
            "trust.chain": "pass",
        },
        mail_nickname=False,
        when_changed=NOW - days(30),
        exo_user_certs=[],
        exo_smime_certs=[],
    )
    user.exo_addresses = [f"SMTP:{user.address}", f"smtp:{user.sam}@{TENANT}"]
    user.user_certs = [contoso_cert(pki, user.display, user.address, issued=NOW - days(31)).der]
    return user


def case_ts_user(pki: Pki) -> User:
    user = User(
        "ts.user",
        "Tom Terminal",
        "Autoenrollment on a terminal server with non-persistent profiles: 20 certificates from the "
        "User template, one a day; > 15 values, so Entra Connect exports none to Exchange Online.",
        {
            "publish.count_limit": "fail",
            "publish.reenrollment_loop": "fail",
            "publish.clutter": "warn",
            "publish.multiple_encryption_keys": "warn",
            "exo.cert_matches_ad": "fail",
            "publish.ad_present": "pass",
            "cert.validity": "pass",
            "sync.mailnickname": "pass",
        },
        when_changed=NOW - days(0.5),
        exo_user_certs=[],
        exo_smime_certs=[],
        odata=True,
        exo_when_changed=NOW - days(25),
    )
    for i in range(20):
        issued = NOW - days(19.5 - i)
        user.user_certs.append(
            contoso_cert(
                pki,
                user.display,
                user.address,
                issued=issued,
                lifetime=365,
                template_oid=None,
                template_name="User",
                eku=[pf.EKU_EFS, pf.EKU_EMAIL, pf.EKU_CLIENT_AUTH],
            ).der
        )
    return user


def case_stale_smime(pki: Pki) -> User:
    user = User(
        "stale.smime",
        "Stella Stale",
        "An expired certificate published by Outlook (PKCS#7 with the default-certificate marker) in "
        "userSMIMECertificate hides the current valid one in userCertificate; Outlook does not fall back.",
        {
            "publish.smime_precedence": "fail",
            "publish.ad_present": "fail",
            "publish.smime_default_cert": "fail",
            "cert.validity": "fail",
            "publish.clutter": "warn",
            "exo.cert_matches_ad": "pass",
        },
    )
    stale = contoso_cert(
        pki, user.display, user.address, issued=datetime(2024, 4, 2, tzinfo=UTC), lifetime=548
    )
    current = contoso_cert(pki, user.display, user.address, issued=datetime(2025, 10, 1, tzinfo=UTC))
    user.smime_certs = [
        pf.outlook_pkcs7(
            [stale], signer=stale, default=stale, signing_time=datetime(2024, 4, 3, 8, 12, tzinfo=UTC)
        )
    ]
    user.user_certs = [current.der]
    return user


def case_mixed_case(pki: Pki) -> User:
    user = User(
        "mixed.case",
        "Max Mixed-Case",
        "mail and proxyAddresses are Mixed.Case@contoso.example; the certificate carries the lower-case form.",
        {
            "addr.lowercase": "warn",
            "cert.address_case": "warn",
            "cert.address_match": "pass",
            "publish.ad_present": "pass",
            "exo.cert_matches_ad": "pass",
        },
        mail=f"Mixed.Case@{DOMAIN}",
        query=f"mixed.case@{DOMAIN}",
    )
    user.user_certs = [contoso_cert(pki, user.display, f"mixed.case@{DOMAIN}").der]
    return user


def case_fresh_cert(pki: Pki) -> User:
    user = User(
        "fresh.cert",
        "Fiona Fresh",
        "Certificate published 20 minutes before collection; Exchange Online has not been updated yet "
        "(the next sync cycle is due).",
        {
            "exo.cert_matches_ad": "info",
            "exo.propagation": "info",
            "publish.ad_present": "pass",
            "cert.validity": "pass",
            "trust.chain": "pass",
            "sync.mailnickname": "pass",
        },
        when_changed=NOW - timedelta(minutes=20),
        exo_user_certs=[],
        exo_smime_certs=[],
        exo_when_changed=NOW - days(40),
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address, issued=NOW - timedelta(minutes=30)).der]
    return user


def case_cloud_only(pki: Pki) -> User:
    user = User(
        "christie.cline",
        "Christie Cline",
        "Cloud-only mailbox: no AD object, Entra user not synced, certificate set in Exchange Online only.",
        {
            "exo.recipient_found": "pass",
            "cert.validity": "pass",
            "trust.chain": "pass",
            "trust.exo_issuing_ca": "pass",
            "cert.br_profile": "pass",
            "exo.hidden_from_gal": "pass",
        },
        ad=False,
        query=f"christie.cline@{DOMAIN}",
    )
    user.exo_user_certs = [public_cert(pki, user.display, user.address).der]
    user.exo_smime_certs = []
    user.exo_addresses = [f"SMTP:{user.address}", f"smtp:christie.cline@{TENANT}"]
    return user


def case_hidden(pki: Pki) -> User:
    user = User(
        "hidden.gal",
        "Hannah Hidden",
        "Hidden from address lists: no GAL/OAB lookup finds her certificate.",
        {
            "exo.hidden_from_gal": "fail",
            "publish.ad_present": "pass",
            "exo.cert_matches_ad": "pass",
            "cert.validity": "pass",
        },
        hidden=True,
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address).der]
    return user


def case_out_of_scope(pki: Pki) -> User:
    user = User(
        "out.scope",
        "Oscar Outofscope",
        "extensionAttribute15 = NoSync puts him outside the Entra Connect scope: no Entra user, no recipient.",
        {"sync.in_scope": "fail", "exo.recipient_found": "fail", "publish.ad_present": "pass"},
        no_sync=True,
        entra=False,
        exo=False,
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address).der]
    return user


def case_provisioning_error(pki: Pki) -> User:
    user = User(
        "prov.error",
        "Paula Provisioning",
        "The Entra user carries an Exchange serviceProvisioningError (proxy address conflict).",
        {"sync.errors": "fail", "publish.ad_present": "pass", "sync.in_scope": "pass"},
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address).der]
    user.service_errors = [
        {
            "@odata.type": "#microsoft.graph.serviceProvisioningXmlError",
            "createdDateTime": "2026-11-02T09:14:51Z",
            "isResolved": False,
            "serviceInstance": "exchange/EURPR05A012-DB0",
            "errorDetail": (
                '<ServiceInstance Name="exchange/EURPR05A012-DB0" xmlns="http://schemas.microsoft.com/online/'
                'directoryservices/change/2008/11"><ObjectErrors><ErrorRecord><ErrorCode>ExA77C31</ErrorCode>'
                "<ErrorParameters><ErrorParameter>The proxy address &quot;SMTP:prov.error@contoso.example&quot; is "
                "already being used by the proxy addresses or LegacyExchangeDN. Please choose another proxy address."
                "</ErrorParameter></ErrorParameters></ErrorRecord></ObjectErrors></ServiceInstance>"
            ),
        }
    ]
    return user


def case_no_mailbox(pki: Pki) -> User:
    user = User(
        "no.mailbox",
        "Nico Nomailbox",
        "Synced Entra user without any Exchange Online recipient (no licence, no mail user).",
        {"exo.recipient_found": "fail", "sync.in_scope": "pass", "publish.ad_present": "pass"},
        exo=False,
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address).der]
    return user


def case_mail_not_primary(pki: Pki) -> User:
    user = User(
        "mail.notprimary",
        "Patricia Ops",
        "AD mail (pat.ops@) differs from the primary SMTP address (patricia.ops@); the certificate "
        "carries the mail address.",
        {"addr.mail_is_primary": "warn", "cert.address_match": "warn", "publish.ad_present": "pass"},
        mail=f"pat.ops@{DOMAIN}",
        primary=f"patricia.ops@{DOMAIN}",
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address).der]
    return user


def case_shared_pair(pki: Pki) -> tuple[User, User]:
    rita = User(
        "rita.shared",
        "Rita Shared",
        "Her valid certificate is also published on a colleague's AD object (sam.assistant).",
        {"publish.foreign_cert": "fail", "publish.ad_present": "pass", "cert.address_match": "pass"},
    )
    sam = User(
        "sam.assistant",
        "Sam Assistant",
        "Carries his own certificate and a copy of Rita Shared's certificate (another person's address).",
        {"publish.foreign_cert": "fail", "cert.address_match": "fail", "publish.ad_present": "pass"},
    )
    rita_cert = contoso_cert(pki, rita.display, rita.address).der
    rita.user_certs = [rita_cert]
    sam.user_certs = [contoso_cert(pki, sam.display, sam.address).der, rita_cert]
    return rita, sam


def case_client_auth_only(pki: Pki) -> User:
    user = User(
        "eku.clientauth",
        "Carl Clientauth",
        "His only certificate has EKU clientAuth only: no S/MIME use, Outlook skips it.",
        {"cert.eku_email": "fail", "publish.ad_present": "fail"},
    )
    user.user_certs = [
        contoso_cert(pki, user.display, user.address, eku=[pf.EKU_CLIENT_AUTH], template_oid=None).der
    ]
    return user


def case_subject_email(pki: Pki) -> User:
    user = User(
        "subj.email",
        "Susan Subject",
        "Certificate without a SAN: the address is only in the subject emailAddress.",
        {
            "cert.address_present": "warn",
            "cert.subject_email_consistency": "warn",
            "cert.address_match": "pass",
            "publish.ad_present": "pass",
        },
    )
    user.user_certs = [
        contoso_cert(pki, user.display, user.address, emails=[], subject_email=user.address).der
    ]
    return user


def case_ec_p256(pki: Pki) -> User:
    user = User(
        "ec.p256",
        "Eve Elliptic",
        "EC P-256 certificate with keyAgreement for encryption (client support uneven).",
        {"cert.key_strength": "warn", "cert.can_encrypt": "pass", "publish.ad_present": "pass"},
    )
    user.user_certs = [
        contoso_cert(
            pki,
            user.display,
            user.address,
            key=pf.new_key("ec", curve="secp256r1"),
            key_usage_flags={"digital_signature", "key_agreement"},
        ).der
    ]
    return user


def case_ec_k1(pki: Pki) -> User:
    user = User(
        "ec.k1",
        "Kurt Koblitz",
        "EC certificate on the odd curve secp256k1.",
        {"cert.key_strength": "fail", "cert.can_encrypt": "pass"},
    )
    user.user_certs = [
        contoso_cert(
            pki,
            user.display,
            user.address,
            key=pf.new_key("ec", curve="secp256k1"),
            key_usage_flags={"digital_signature", "key_agreement"},
        ).der
    ]
    return user


def case_legacy_key(pki: Pki) -> User:
    user = User(
        "legacy.key",
        "Leo Legacy",
        "Old-style certificate: RSA-1024, SHA-1 signature from the private CA, ldap:/// CDP and AIA only, "
        "SMIMECapabilities listing only 3DES and RC2.",
        {
            "cert.key_strength": "fail",
            "cert.signature_hash": "warn",
            "trust.revocation_endpoints": "warn",
            "cert.smime_capabilities": "warn",
            "publish.ad_present": "pass",
            "cert.validity": "pass",
        },
    )
    ldap_cdp = (
        f"ldap:///CN=Contoso%20Issuing%20CA%2001,CN=ca01,CN=CDP,{PKS_DN_URL}"
        "?certificateRevocationList?base?objectClass=cRLDistributionPoint"
    )
    ldap_aia = f"ldap:///CN=Contoso%20Issuing%20CA%2001,CN=AIA,{PKS_DN_URL}?cACertificate?base?objectClass=certificationAuthority"
    user.user_certs = [
        contoso_cert(
            pki,
            user.display,
            user.address,
            key=pf.new_key("rsa", size=1024),
            hash_name="sha1",
            crl_urls=[ldap_cdp],
            ocsp_urls=[],
            ca_issuer_urls=[ldap_aia],
            capabilities=[pf.CAP_3DES, pf.CAP_RC2],
        ).der
    ]
    return user


def case_sign_and_encrypt(pki: Pki) -> User:
    user = User(
        "sign.enc",
        "Dana Dualkey",
        "Dual-key user: a signing-only certificate (digitalSignature) next to an encryption-only one "
        "(keyEncipherment).",
        {"cert.can_encrypt": "info", "cert.can_sign": "fail", "publish.ad_present": "pass"},
        byte_style="mixed",
    )
    user.user_certs = [
        contoso_cert(pki, user.display, user.address, key_usage_flags={"digital_signature"}).der,
        contoso_cert(pki, user.display, user.address, key_usage_flags={"key_encipherment"}).der,
    ]
    return user


def case_sign_only(pki: Pki) -> User:
    user = User(
        "sign.only",
        "Simon Signonly",
        "His only certificate is signing-only (digitalSignature).",
        {"cert.can_encrypt": "fail", "publish.ad_present": "fail", "cert.can_sign": "pass"},
    )
    user.user_certs = [
        contoso_cert(pki, user.display, user.address, key_usage_flags={"digital_signature"}).der
    ]
    return user


def case_no_ski(pki: Pki) -> User:
    user = User(
        "no.ski",
        "Nina Noski",
        "Hand-made certificate without Subject Key Identifier and without any CDP or AIA.",
        {"cert.ski_present": "warn", "trust.revocation_endpoints": "fail", "publish.ad_present": "pass"},
    )
    user.user_certs = [
        contoso_cert(
            pki, user.display, user.address, ski=False, crl_urls=[], ocsp_urls=[], ca_issuer_urls=[]
        ).der
    ]
    return user


def case_expiring_soon(pki: Pki) -> User:
    user = User(
        "exp.soon",
        "Ernest Expiring",
        "His only certificate expires in 20 days.",
        {"cert.validity": "warn", "publish.ad_present": "pass"},
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address, issued=NOW - days(710)).der]
    return user


def case_not_yet_valid(pki: Pki) -> User:
    user = User(
        "not.yet",
        "Nathan Notyet",
        "His only certificate becomes valid in 3 days.",
        {"cert.validity": "fail", "publish.ad_present": "fail"},
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address, issued=NOW + days(3)).der]
    return user


def case_ca_true(pki: Pki) -> User:
    user = User(
        "ca.true",
        "Carla Catrue",
        "Next to her S/MIME certificate, a certificate with basicConstraints cA=TRUE is published on her.",
        {"cert.end_entity": "fail", "publish.ad_present": "pass"},
    )
    user.user_certs = [
        contoso_cert(pki, user.display, user.address).der,
        contoso_cert(
            pki,
            user.display,
            user.address,
            is_ca=True,
            eku=None,
            template_oid=None,
            key_usage_flags={"digital_signature", "key_cert_sign", "crl_sign"},
        ).der,
    ]
    return user


def case_junk_value(pki: Pki) -> User:
    user = User(
        "junk.value",
        "Jules Junk",
        "userCertificate holds an undecodable value (random bytes) next to a good one.",
        {"cert.parse": "fail", "publish.ad_present": "pass"},
    )
    junk = b"\x00\xff" + b"".join(hashlib.sha256(f"junk-{i}".encode()).digest() for i in range(8))
    user.user_certs = [contoso_cert(pki, user.display, user.address).der, junk]
    return user


def case_bare_smime(pki: Pki) -> User:
    user = User(
        "bare.smime",
        "Bart Bare",
        "userSMIMECertificate holds a bare X.509 certificate (not PKCS#7), the same one as userCertificate.",
        {"cert.parse": "info", "publish.ad_present": "pass", "publish.smime_precedence": "pass"},
    )
    cert = contoso_cert(pki, user.display, user.address).der
    user.user_certs = [cert]
    user.smime_certs = [cert]
    return user


def case_many_values(pki: Pki) -> User:
    user = User(
        "many.values",
        "Mona Many",
        "12 values in userCertificate: 11 expired certificates from years of renewals plus the current one.",
        {
            "publish.count_limit": "warn",
            "publish.clutter": "warn",
            "cert.validity": "fail",
            "publish.ad_present": "pass",
            "publish.reenrollment_loop": "pass",
            "exo.cert_matches_ad": "pass",
        },
    )
    for i in range(11):
        issued = datetime(2021, 1, 10, tzinfo=UTC) + days(120 * i)
        user.user_certs.append(
            contoso_cert(
                pki,
                user.display,
                user.address,
                issued=issued,
                lifetime=365,
                issuer=pki.ca00,
                crl_urls=[CONTOSO_CDP.replace("01", "00")],
                ca_issuer_urls=[CONTOSO_AIA.replace("01", "00")],
            ).der
        )
    user.user_certs.append(contoso_cert(pki, user.display, user.address, issued=NOW - days(200)).der)
    return user


def case_big_value(pki: Pki) -> User:
    user = User(
        "big.value",
        "Bruno Bigvalue",
        "One userCertificate value is larger than 32,768 bytes (a reissue padded with a huge extension).",
        {"publish.attr_size": "fail", "publish.ad_present": "pass"},
    )
    key = pf.new_key()
    user.user_certs = [
        contoso_cert(pki, user.display, user.address, key=key).der,
        contoso_cert(pki, user.display, user.address, key=key, issued=NOW - days(60), pad_to=34_000).der,
    ]
    return user


def case_two_keys(pki: Pki) -> User:
    user = User(
        "two.keys",
        "Tina Twokeys",
        "Two valid encryption certificates with distinct keys: the old one expires in 50 days.",
        {"publish.multiple_encryption_keys": "warn", "cert.validity": "info", "publish.ad_present": "pass"},
    )
    user.user_certs = [
        contoso_cert(pki, user.display, user.address, issued=NOW - days(680)).der,
        contoso_cert(pki, user.display, user.address, issued=NOW - days(30)).der,
    ]
    return user


def case_smartcard(pki: Pki) -> User:
    user = User(
        "smartcard",
        "Sven Smartcard",
        "Three smart-card-logon certificates take slots in userCertificate next to the S/MIME certificate.",
        {
            "publish.non_smime_certs": "info",
            "cert.template": "warn",
            "cert.eku_email": "fail",
            "publish.ad_present": "pass",
        },
    )
    user.user_certs = [contoso_cert(pki, user.display, user.address).der]
    for age in (300, 200, 100):
        user.user_certs.append(
            contoso_cert(
                pki,
                user.display,
                user.address,
                issued=NOW - days(age),
                lifetime=365,
                upn=f"{user.sam}@{DOMAIN}",
                template_oid=TPL_SMARTCARD,
                eku=[pf.EKU_CLIENT_AUTH, pf.EKU_SMART_CARD_LOGON],
                key_usage_flags={"digital_signature"},
                capabilities=None,
            ).der
        )
    return user


def case_alice(pki: Pki) -> User:
    user = User(
        "alice",
        "Alice Uppercase",
        "The certificate names ALICE@contoso.example; mail is alice@contoso.example.",
        {
            "cert.address_case": "warn",
            "cert.address_match": "pass",
            "addr.lowercase": "pass",
            "publish.ad_present": "pass",
        },
        query=f"alice@{DOMAIN}",
    )
    user.user_certs = [contoso_cert(pki, user.display, f"ALICE@{DOMAIN}").der]
    return user


def case_smime_older(pki: Pki) -> User:
    user = User(
        "smime.older",
        "Olga Older",
        "Outlook-published userSMIMECertificate (valid) is older than the newest certificate in userCertificate.",
        {
            "publish.smime_precedence": "warn",
            "publish.smime_default_cert": "pass",
            "publish.ad_present": "pass",
            "publish.multiple_encryption_keys": "warn",
        },
    )
    old = contoso_cert(pki, user.display, user.address, issued=NOW - days(300))
    new = contoso_cert(pki, user.display, user.address, issued=NOW - days(20))
    user.smime_certs = [pf.outlook_pkcs7([old], signer=old, default=old, signing_time=NOW - days(299))]
    user.user_certs = [old.der, new.der]
    return user


def case_distribution_group(pki: Pki) -> User:
    del pki
    return User(
        "sales",
        "Sales Team",
        "A cloud distribution group as the recipient: every member needs a certificate.",
        {"sender.distribution_list": "warn", "exo.recipient_found": "pass"},
        ad=False,
        entra=False,
        recipient_type="MailUniversalDistributionGroup",
        query=f"sales@{DOMAIN}",
        exo_user_certs=[],
        exo_smime_certs=[],
        extra={"kind": "encrypt_to", "sender": f"adele.vance@{DOMAIN}"},
    )


def case_weak_ca(pki: Pki) -> User:
    user = User(
        "weak.ca",
        "Walter Weakca",
        "Certificate from the old Contoso Legacy CA (RSA-1024, SHA-1; trusted in AD, absent from the SST) "
        "with a CDP on the internal host ca01.contoso.local.",
        {
            "trust.ca_health": "fail",
            "trust.exo_issuing_ca": "fail",
            "trust.revocation_endpoints": "warn",
            "publish.ad_present": "pass",
        },
    )
    user.user_certs = [
        contoso_cert(
            pki,
            user.display,
            user.address,
            issuer=pki.legacy_ca,
            template_oid=None,
            crl_urls=["http://ca01.contoso.local/CertEnroll/ContosoLegacyCA.crl"],
            ocsp_urls=[],
            ca_issuer_urls=["http://ca01.contoso.local/CertEnroll/ContosoLegacyCA.crt"],
        ).der
    ]
    return user


def case_br_server_auth(pki: Pki) -> User:
    user = User(
        "br.server",
        "Brenda Serverauth",
        "Publicly-trusted S/MIME certificate whose EKU also has serverAuth (forbidden by the S/MIME BR).",
        {
            "cert.br_profile": "fail",
            "trust.chain": "pass",
            "trust.exo_issuing_ca": "pass",
            "publish.ad_present": "pass",
        },
    )
    user.user_certs = [
        public_cert(pki, user.display, user.address, eku=[pf.EKU_EMAIL, pf.EKU_SERVER_AUTH]).der
    ]
    return user


def case_br_legacy(pki: Pki) -> User:
    user = User(
        "br.legacy",
        "Lars Legacyprofile",
        "Publicly-trusted S/MIME certificate in the Legacy profile, issued after 2025-07-15.",
        {"cert.br_profile": "warn", "trust.chain": "pass", "publish.ad_present": "pass"},
    )
    user.user_certs = [
        public_cert(
            pki,
            user.display,
            user.address,
            policy=BR_MAILBOX_LEGACY,
            issued=datetime(2025, 9, 1, tzinfo=UTC),
            lifetime=730,
        ).der
    ]
    return user


CaseFn = Callable[[Pki], "User | tuple[User, ...]"]

# The table of users: one function per field case, in the order they appear in the files.
CASES: list[CaseFn] = [
    case_adele, case_alex, case_megan, case_lynne, case_diego, case_public_healthy,
    case_ext_partner, case_no_nickname, case_ts_user, case_stale_smime, case_mixed_case, case_fresh_cert,
    case_cloud_only, case_hidden, case_out_of_scope, case_provisioning_error, case_no_mailbox,
    case_mail_not_primary, case_shared_pair, case_client_auth_only, case_subject_email, case_ec_p256,
    case_ec_k1, case_legacy_key, case_sign_and_encrypt, case_sign_only, case_no_ski, case_expiring_soon,
    case_not_yet_valid, case_ca_true, case_junk_value, case_bare_smime, case_many_values, case_big_value,
    case_two_keys, case_smartcard, case_alice, case_smime_older, case_distribution_group, case_weak_ca,
    case_br_server_auth, case_br_legacy,
]  # fmt: skip

# Tenant-level verdicts (see data/README.md for why each comes out this way).
TENANT_EXPECT = {
    "trust.exo_issuing_ca_health": "warn",  # Contoso Issuing CA 00 in the SST expires in 46 days
    "exo.smime_config": "warn",  # 3DES preferred in OWAEncryptionAlgorithms, OWADisableCRLCheck true
    "sync.freshness": "pass",  # last sync 25 min ago (< 3 intervals)
    "pki.template_smime_only": "warn",  # ContosoSMIMELegacy: emailProtection + clientAuth
    "pki.template_publish_to_ds": "info",  # ContosoSMIME/User publish to DS; publishing only appends
    "pki.template_check_existing": "warn",  # User: autoenrollment 0x20 without 0x10
    "pki.template_key_archival": "warn",  # User and ContosoSMIMELegacy: no archival
    "pki.template_subject_from_ad": "warn",  # ContosoSMIMELegacy: enrollee supplies subject
    "pki.template_key_params": "warn",  # ContosoSMIMELegacy: 1024-bit minimum, 5-year validity
    "pki.root_distributed": "warn",  # Example Public S/MIME Root R1 in the SST, not in AD
}


def build_users(pki: Pki) -> list[User]:
    users: list[User] = []
    for case in CASES:
        made = case(pki)
        users.extend(made if isinstance(made, tuple) else (made,))
    return users


# --- writers ----------------------------------------------------------------------------


def ad_entries(users: list[User]) -> list[tuple[str, dict[str, list[str | bytes]]]]:
    entries: list[tuple[str, dict[str, list[str | bytes]]]] = []
    for u in users:
        if not u.ad:
            continue
        given, _, surname = u.display.partition(" ")
        attrs: dict[str, list[str | bytes]] = {
            "objectClass": ["top", "person", "organizationalPerson", "user"],
            "cn": [u.display],
            "displayName": [u.display],
            "givenName": [given],
            "sn": [surname or given],
            "sAMAccountName": [u.sam],
            "userPrincipalName": [f"{u.sam}@{DOMAIN}"],
            "mail": [u.address],
            "mailNickname": [u.sam] if u.mail_nickname else [],
            "proxyAddresses": list(u.proxy_addresses),
            "objectGUID": [pf.guid_bytes(u.guid)],
            "userAccountControl": ["512"],
            "whenCreated": [pf.generalized_time(datetime(2022, 5, 2, 8, 0, tzinfo=UTC))],
            "whenChanged": [pf.generalized_time(u.when_changed)],
            "memberOf": [f"CN=All Staff,OU=Groups,OU=Contoso,{BASE_DN}"],
            "msExchHideFromAddressLists": ["TRUE"] if u.hidden else [],
            "extensionAttribute15": ["NoSync"] if u.no_sync else [],
            u.cert_attr: list(u.user_certs),
            "userSMIMECertificate": list(u.smime_certs),
        }
        entries.append((u.dn, attrs))
    return entries


def template_entry(
    cn: str,
    oid: str,
    *,
    schema: int,
    enrollment: int,
    private_key: int,
    name_flag: int,
    min_key: int,
    ekus: list[str],
    validity_days: int,
    key_usage: bytes,
) -> tuple[str, dict[str, list[str | bytes]]]:
    def i32(v: int) -> str:  # AD stores these flags as signed 32-bit integers
        return str(v - (1 << 32) if v >= 1 << 31 else v)

    return (
        f"CN={cn},CN=Certificate Templates,{PKS_DN}",
        {
            "objectClass": ["top", "pKICertificateTemplate"],
            "cn": [cn],
            "displayName": [cn],
            "flags": ["131642" if schema > 1 else "66106"],
            "revision": ["100"],
            "msPKI-Template-Schema-Version": [str(schema)],
            "msPKI-Template-Minor-Revision": ["4"],
            "msPKI-Cert-Template-OID": [oid],
            "msPKI-Enrollment-Flag": [i32(enrollment)],
            "msPKI-Private-Key-Flag": [i32(private_key)],
            "msPKI-Certificate-Name-Flag": [i32(name_flag)],
            "msPKI-Minimal-Key-Size": [str(min_key)],
            "msPKI-RA-Signature": ["0"],
            "msPKI-Certificate-Application-Policy": list(ekus) if schema > 1 else [],
            "pKIExtendedKeyUsage": list(ekus),
            "pKIKeyUsage": [key_usage],
            "pKIDefaultKeySpec": ["1"],
            "pKIMaxIssuingDepth": ["0"],
            "pKICriticalExtensions": ["2.5.29.15"],
            "pKIExpirationPeriod": [pf.filetime_interval(validity_days)],
            "pKIOverlapPeriod": [pf.filetime_interval(42)],
        },
    )


# msPKI-Enrollment-Flag / -Private-Key-Flag / -Certificate-Name-Flag bits used below.
INCLUDE_SYMMETRIC, PUBLISH_TO_DS, CHECK_USER_DS, AUTOENROLL = 0x1, 0x8, 0x10, 0x20
KEY_ARCHIVAL, EXPORTABLE = 0x1, 0x10
ENROLLEE_SUPPLIES_SUBJECT, SAN_UPN, SAN_EMAIL, SUBJECT_EMAIL, SUBJECT_DN = (
    0x1,
    0x02000000,
    0x04000000,
    0x20000000,
    0x80000000,
)


def ad_config_entries(pki: Pki) -> list[tuple[str, dict[str, list[str | bytes]]]]:
    email, client, efs, sc = pf.EKU_EMAIL, pf.EKU_CLIENT_AUTH, pf.EKU_EFS, pf.EKU_SMART_CARD_LOGON
    ca_classes: list[str | bytes] = ["top", "certificationAuthority"]
    return [
        # The S/MIME template done right: emailProtection only, publish to DS, autoenrol
        # with "check user DS certificate", key archival, SAN from AD mail.
        template_entry(
            "ContosoSMIME",
            TPL_SMIME,
            schema=2,
            enrollment=INCLUDE_SYMMETRIC | PUBLISH_TO_DS | CHECK_USER_DS | AUTOENROLL,
            private_key=KEY_ARCHIVAL | EXPORTABLE,
            name_flag=SAN_EMAIL | SUBJECT_DN,
            min_key=2048,
            ekus=[email],
            validity_days=730,
            key_usage=b"\xa0\x00",
        ),
        # The built-in v1 User template as AD CS ships it: 0x29 = autoenrol without 0x10.
        template_entry(
            "User",
            TPL_USER,
            schema=1,
            enrollment=INCLUDE_SYMMETRIC | PUBLISH_TO_DS | AUTOENROLL,
            private_key=EXPORTABLE,
            name_flag=SAN_UPN | SAN_EMAIL | SUBJECT_EMAIL | SUBJECT_DN,
            min_key=2048,
            ekus=[efs, email, client],
            validity_days=365,
            key_usage=b"\xa0\x00",
        ),
        template_entry(
            "ContosoSmartcardLogon",
            TPL_SMARTCARD,
            schema=2,
            enrollment=PUBLISH_TO_DS,
            private_key=0,
            name_flag=SAN_UPN | SAN_EMAIL | SUBJECT_DN,
            min_key=2048,
            ekus=[client, sc],
            validity_days=365,
            key_usage=b"\x80\x00",
        ),
        # A leftover: enrollee supplies the subject, 1024-bit minimum, 5 years, extra EKU, no archival.
        template_entry(
            "ContosoSMIMELegacy",
            TPL_LEGACY,
            schema=2,
            enrollment=INCLUDE_SYMMETRIC | PUBLISH_TO_DS,
            private_key=EXPORTABLE,
            name_flag=ENROLLEE_SUPPLIES_SUBJECT,
            min_key=1024,
            ekus=[email, client],
            validity_days=5 * 365,
            key_usage=b"\xa0\x00",
        ),
        (
            f"CN=Contoso Root CA,CN=Certification Authorities,{PKS_DN}",
            {"objectClass": ca_classes, "cn": ["Contoso Root CA"], "cACertificate": [pki.root.der]},
        ),
        (
            f"CN=Contoso Legacy CA,CN=Certification Authorities,{PKS_DN}",
            {"objectClass": ca_classes, "cn": ["Contoso Legacy CA"], "cACertificate": [pki.legacy_ca.der]},
        ),
        (
            f"CN=Contoso Issuing CA 01,CN=AIA,{PKS_DN}",
            {"objectClass": ca_classes, "cn": ["Contoso Issuing CA 01"], "cACertificate": [pki.ca01.der]},
        ),
        (
            f"CN=Contoso Issuing CA 00,CN=AIA,{PKS_DN}",
            {"objectClass": ca_classes, "cn": ["Contoso Issuing CA 00"], "cACertificate": [pki.ca00.der]},
        ),
        (
            f"CN=NTAuthCertificates,{PKS_DN}",
            {
                "objectClass": ca_classes,
                "cn": ["NTAuthCertificates"],
                "cACertificate": [pki.ca01.der, pki.ca00.der],
            },
        ),
        (
            f"CN=Contoso Issuing CA 01,CN=Enrollment Services,{PKS_DN}",
            {
                "objectClass": ["top", "pKIEnrollmentService"],
                "cn": ["Contoso Issuing CA 01"],
                "dNSHostName": ["ca01.contoso.example"],
                "cACertificate": [pki.ca01.der],
                "certificateTemplates": [
                    "ContosoSMIME",
                    "User",
                    "ContosoSmartcardLogon",
                    "ContosoSMIMELegacy",
                ],
            },
        ),
        (
            f"CN=Contoso Key Recovery Agent,CN=KRA,{PKS_DN}",
            {
                "objectClass": ["top", "msPKI-PrivateKeyRecoveryAgent"],
                "cn": ["Contoso Key Recovery Agent"],
                "userCertificate": [pki.kra.der],
            },
        ),
    ]


def _byte_values(values: list[bytes], style: str) -> Any:
    if style == "flat_ints" and len(values) == 1:
        return pf.exo_bytes(values[0], "ints")  # a single byte[] as ConvertTo-Json writes it
    if style == "mixed":
        return [pf.exo_bytes(v, "base64" if i % 2 == 0 else "ints") for i, v in enumerate(values)]
    if style in ("ints", "flat_ints"):
        return [pf.exo_bytes(v, "ints") for v in values]
    return [pf.exo_bytes(v, "base64") for v in values]


def exo_recipient(u: User) -> dict[str, Any]:
    addresses = (
        u.exo_addresses if u.exo_addresses is not None else [*u.proxy_addresses, f"smtp:{u.sam}@{TENANT}"]
    )
    rec: dict[str, Any] = {
        "Identity": u.display,
        "Name": u.display,
        "Alias": u.sam,
        "DisplayName": u.display,
        "PrimarySmtpAddress": u.primary_smtp,
    }
    if u.odata:
        rec["EmailAddresses@odata.type"] = "#Collection(String)"
    rec["EmailAddresses"] = addresses
    if u.recipient_type != "MailUniversalDistributionGroup":
        rec["UserPrincipalName"] = f"{u.sam}@{DOMAIN}"
    rec["ExternalDirectoryObjectId"] = u.entra_id
    rec["RecipientTypeDetails"] = u.recipient_type
    rec["IsDirSynced"] = u.ad and u.entra
    rec["HiddenFromAddressListsEnabled"] = u.hidden
    if u.recipient_type != "MailUniversalDistributionGroup":
        user_certs = u.user_certs if u.exo_user_certs is None else u.exo_user_certs
        smime_certs = u.smime_certs if u.exo_smime_certs is None else u.exo_smime_certs
        if u.odata:
            rec["UserCertificate@odata.type"] = "#Collection(String)"
        rec["UserCertificate"] = _byte_values(user_certs, u.byte_style)
        if u.odata:
            rec["UserSMimeCertificate@odata.type"] = "#Collection(String)"
        rec["UserSMimeCertificate"] = _byte_values(smime_certs, u.byte_style)
    changed = u.exo_when_changed or (u.when_changed + timedelta(minutes=17))
    rec["WhenChangedUTC"] = pf.iso_utc(changed)
    return rec


def entra_user(u: User) -> dict[str, Any]:
    synced = u.ad
    return {
        "id": u.entra_id,
        "displayName": u.display,
        "userPrincipalName": f"{u.sam}@{DOMAIN}",
        "mail": u.primary_smtp if not synced else u.address,
        "mailNickname": u.sam,
        "proxyAddresses": u.proxy_addresses if synced else [f"SMTP:{u.address}", f"smtp:{u.sam}@{TENANT}"],
        "onPremisesSyncEnabled": True if synced else None,
        "onPremisesImmutableId": pf.immutable_id(u.guid) if synced else None,
        "onPremisesDistinguishedName": u.dn if synced else None,
        "onPremisesSamAccountName": u.sam if synced else None,
        "onPremisesLastSyncDateTime": pf.iso_utc(LAST_SYNC) if synced else None,
        "onPremisesProvisioningErrors": [],
        "serviceProvisioningErrors": u.service_errors,
    }


def smime_config(sst: bytes, earliest_expiry: datetime) -> dict[str, Any]:
    import base64

    return {
        "Identity": "SmimeConfig",
        "Name": "SmimeConfig",
        "OWACheckCRLOnSend": False,
        "OWADLExpansionTimeout": 60000,
        "OWAUseSecondaryProxiesWhenFindingCertificates": True,
        "OWACRLConnectionTimeout": 60000,
        "OWACRLRetrievalTimeout": 10000,
        "OWADisableCRLCheck": True,
        "OWAAlwaysSign": False,
        "OWAAlwaysEncrypt": False,
        "OWAClearSign": True,
        "OWAIncludeCertificateChainWithoutRootCertificate": False,
        "OWAIncludeCertificateChainAndRootCertificate": False,
        "OWAEncryptTemporaryBuffers": True,
        "OWASignedEmailCertificateInclusion": True,
        "OWABCCEncryptedEmailForking": 0,
        "OWAIncludeSMIMECapabilitiesInMessage": False,
        "OWACopyRecipientHeaders": False,
        "OWAOnlyUseSmartCard": False,
        "OWATripleWrapSignedEncryptedMail": True,
        "OWAUseKeyIdentifier": False,
        "OWAEncryptionAlgorithms": "6603",  # CALG_3DES only: 3DES is what OWA prefers
        "OWASigningAlgorithms": "800C",  # CALG_SHA_256
        "OWAForceSMIMEClientUpgrade": True,
        "OWASenderCertificateAttributesToDisplay": "",
        "OWAAllowUserChoiceOfSigningCertificate": False,
        "SMIMECertificateIssuingCA": base64.b64encode(sst).decode("ascii"),
        "SMIMECertificatesExpiryDate": pf.iso_utc(earliest_expiry),
        "SMIMEExpiredCertificateThumbprint": "",
    }


def expected(users: list[User]) -> dict[str, Any]:
    out: dict[str, Any] = {"tenant": {"expect": dict(TENANT_EXPECT)}}
    for u in users:
        key = u.sam if u.ad else u.primary_smtp
        entry: dict[str, Any] = {
            "description": u.description,
            "query": u.query or u.sam,
            "expect": dict(u.expect),
        }
        entry.update(u.extra)
        out[key] = entry
    return out


def snapshot_meta() -> dict[str, Any]:
    return {
        "collected_at": pf.iso_utc(COLLECTED_AT),
        "sync_interval_minutes": SYNC_INTERVAL_MINUTES,
        "sync_scope": SYNC_SCOPE,
        "trusted_roots": [ROOT_PEM],
        "tenant": TENANT,
        "organization": "Contoso (demo)",
        "ad_domain": DOMAIN,
        "ad_base_dn": BASE_DN,
    }


README = """\
# Contoso (demo) - bundled offline snapshot

Generated by `python scripts/make_demo_tenant.py`; do not edit by hand. A fictional hybrid
tenant: AD `DC=contoso,DC=example`, Entra Connect, Exchange Online `contoso.onmicrosoft.com`.
Evaluate it at the collection instant: `--at 2026-11-20T06:00:00Z`.

- `expected.json`: per user (key = sAMAccountName; cloud-only recipients by primary SMTP)
  the field case and the statuses the engine must report for the checks listed (worst
  status per check id). `"tenant"` holds the tenant-level checks. An entry with
  `"kind": "encrypt_to"` is meant for `why-cant-encrypt --sender <sender> --recipient <query>`.
- `sync_scope` (snapshot.json): `extensionAttribute15 = NoSync` excludes an object from
  Entra Connect (user `out.scope`).
- sync.freshness passes on purpose: the last delta sync ran 25 minutes before collection
  (`onPremisesLastSyncDateTime` 05:35Z). A stale sync would put a warning on every user and
  hide the per-user verdicts; `fresh.cert` changed at 05:40Z, after that cycle.
- sync.cert_flow is not pinned: only 3 synced users with AD certificates have none in
  Exchange Online (no.nickname, ts.user, fresh.cert), each for its own reason.
- The tenant SST holds Contoso Root CA, Contoso Issuing CA 01 and 00 (00 expires in 46
  days: trust.exo_issuing_ca_health warn), Example Public S/MIME Root R1 and CA. AD
  `CN=Certification Authorities` holds Contoso Root CA and the weak Contoso Legacy CA, not
  the public root (pki.root_distributed warn). The Fabrikam root is nowhere.
- Get-SmimeConfig: `OWAEncryptionAlgorithms` 6603 (3DES) and `OWADisableCRLCheck` true
  (exo.smime_config warn).
- Templates: ContosoSMIME (done right), User (v1, autoenrol 0x20 without 0x10, no archival),
  ContosoSmartcardLogon, ContosoSMIMELegacy (enrollee supplies subject, 1024-bit minimum,
  5 years, emailProtection + clientAuth).
- Certificate bytes differ between runs (fresh keys); names, dates and verdicts do not.
"""


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def generate(out: Path) -> dict[str, int]:
    """Write the snapshot into ``out``; return file name -> size in bytes."""
    pki = build_pki()
    users = build_users(pki)
    sst_certs = [pki.root, pki.ca01, pki.ca00, pki.public_root, pki.public_ca]
    sst = write_sst([c.der for c in sst_certs])
    earliest = min(c.cert.not_valid_after_utc for c in sst_certs)
    files: dict[str, bytes] = {
        "ad.ldif": pf.ldif_bytes(ad_entries(users)),
        "ad-config.ldif": pf.ldif_bytes(ad_config_entries(pki)),
        "exo-recipients.json": _json(
            {
                "@odata.context": f"https://outlook.office365.com/adminapi/beta/{TENANT}/$metadata#Recipient",
                "value": [exo_recipient(u) for u in users if u.exo],
            }
        ),
        "exo-smimeconfig.json": _json(smime_config(sst, earliest)),
        "smime-issuing-ca.sst": sst,
        "entra-users.json": _json([entra_user(u) for u in users if u.entra]),
        "entra-organization.json": _json(
            {
                "id": TENANT_ID,
                "displayName": "Contoso (demo)",
                "onPremisesSyncEnabled": True,
                "onPremisesLastSyncDateTime": pf.iso_utc(LAST_SYNC),
                "verifiedDomains": [
                    {"name": DOMAIN, "isDefault": True, "isInitial": False, "type": "Managed"},
                    {"name": TENANT, "isDefault": False, "isInitial": True, "type": "Managed"},
                ],
            }
        ),
        ROOT_PEM: pki.root.pem,
        "snapshot.json": _json(snapshot_meta()),
        "expected.json": _json(expected(users)),
        "README.md": README.encode("utf-8"),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    return {name: len(data) for name, data in files.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "workers" / "demo_tenant" / "data",
        help="output directory (default: workers/demo_tenant/data)",
    )
    args = parser.parse_args(argv)
    sizes = generate(args.out)
    for name, size in sizes.items():
        print(f"{size:>8}  {args.out / name}")
    print(f"{sum(sizes.values()):>8}  total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
