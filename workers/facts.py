"""The gathered facts the checks judge: one user (with their published values) and the tenant.

Sources (snapshot, live AD, Exchange Online, Graph) fill these; checks only read them.
Certificates stay raw bytes until :func:`PublishedValue.from_bytes` parses them once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from workers.certs.pkcs7 import DefaultCertMarker, looks_like_pkcs7, parse_pkcs7
from workers.certs.x509 import CertInfo, parse_certificate
from workers.errors import InputError

AD_USER_CERT = "ad.userCertificate"
AD_SMIME_CERT = "ad.userSMIMECertificate"
EXO_USER_CERT = "exo.UserCertificate"
EXO_SMIME_CERT = "exo.UserSMimeCertificate"
LOCATIONS = (AD_USER_CERT, AD_SMIME_CERT, EXO_USER_CERT, EXO_SMIME_CERT)


@dataclass(frozen=True)
class PublishedValue:
    """One value of a certificate attribute, parsed as far as it can be."""

    location: str
    index: int
    size: int
    kind: str  # "der", "pkcs7" or "invalid"
    certificates: tuple[CertInfo, ...]  # for PKCS#7 all certificates in the blob, CAs included
    error: str | None = None
    marker: DefaultCertMarker | None = None
    blob_capabilities: tuple[str, ...] | None = None
    raw: bytes = field(
        default=b"", repr=False, compare=False
    )  # the value as stored (remediation removes exactly it)

    @property
    def end_entities(self) -> tuple[CertInfo, ...]:
        """The user's certificates in this value (PKCS#7 blobs also carry their CA chain)."""
        if self.kind == "der":
            return self.certificates
        return tuple(c for c in self.certificates if c.is_ca is not True) or self.certificates[:1]

    @property
    def chain_extras(self) -> tuple[CertInfo, ...]:
        return tuple(c for c in self.certificates if c.is_ca is True)

    @staticmethod
    def from_bytes(location: str, index: int, raw: bytes) -> PublishedValue:
        """Parse one attribute value; a bad value becomes kind "invalid", never an exception."""
        if looks_like_pkcs7(raw):
            try:
                blob = parse_pkcs7(raw)
                certs = []
                errors = []
                for der in blob.certificates:
                    try:
                        certs.append(parse_certificate(der))
                    except InputError as exc:
                        errors.append(str(exc))
                if not certs:
                    return PublishedValue(
                        location, index, len(raw), "invalid", (), "; ".join(errors), raw=raw
                    )
                return PublishedValue(
                    location,
                    index,
                    len(raw),
                    "pkcs7",
                    tuple(certs),
                    "; ".join(errors) or None,
                    blob.default_marker,
                    blob.smime_capabilities,
                    raw=raw,
                )
            except InputError as exc:
                pkcs7_error = str(exc)
        else:
            pkcs7_error = None
        try:
            return PublishedValue(location, index, len(raw), "der", (parse_certificate(raw),), raw=raw)
        except InputError as exc:
            return PublishedValue(location, index, len(raw), "invalid", (), pkcs7_error or str(exc), raw=raw)

    def marked_certificate(self) -> CertInfo | None:
        """The certificate the Outlook default-encryption marker names, if any."""
        m = self.marker
        if m is None:
            return None
        for cert in self.certificates:
            if m.serial is not None and m.issuer_der is not None:
                if cert.serial_number == m.serial and cert.issuer_der == m.issuer_der:
                    return cert
            elif m.key_id is not None and cert.ski == m.key_id:
                return cert
        return None


@dataclass
class AdUser:
    dn: str
    object_guid: str | None = None  # canonical GUID text, lower case
    object_guid_b64: str | None = None  # base64 of the 16 bytes, as Entra's immutableId
    sam: str | None = None
    upn: str | None = None
    mail: str | None = None
    proxy_addresses: list[str] = field(default_factory=list)
    mail_nickname: str | None = None
    display_name: str | None = None
    object_classes: list[str] = field(default_factory=list)
    when_changed: datetime | None = None
    user_account_control: int | None = None
    hidden: bool = False
    member_of: list[str] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)  # other text attributes (sync scope)


@dataclass
class ExoRecipient:
    identity: str | None = None
    alias: str | None = None
    display_name: str | None = None
    primary_smtp: str | None = None
    email_addresses: list[str] = field(default_factory=list)
    upn: str | None = None
    external_id: str | None = None
    type_details: str | None = None
    is_dir_synced: bool | None = None
    hidden: bool = False
    when_changed: datetime | None = None


@dataclass
class EntraUser:
    id: str | None = None
    upn: str | None = None
    mail: str | None = None
    mail_nickname: str | None = None
    display_name: str | None = None
    proxy_addresses: list[str] = field(default_factory=list)
    sync_enabled: bool | None = None
    immutable_id: str | None = None
    on_prem_dn: str | None = None
    last_sync: datetime | None = None
    provisioning_errors: list[Any] = field(default_factory=list)
    service_errors: list[Any] = field(default_factory=list)


@dataclass
class UserFacts:
    """Everything known about one directory user (or recipient) at one instant."""

    key: str
    ad: AdUser | None = None
    exo: ExoRecipient | None = None
    entra: EntraUser | None = None
    values: list[PublishedValue] = field(default_factory=list)
    source_errors: dict[str, str] = field(default_factory=dict)  # source -> sentence
    external: bool = False  # an address outside the organisation (senders only)
    external_address: str | None = None

    # -- addresses ------------------------------------------------------------------
    # Computed once: a source fills ad/exo/entra when it builds the facts, and checks ask
    # for these dozens of times per user.
    @cached_property
    def primary_smtp(self) -> str | None:
        for source in (
            self.ad.proxy_addresses if self.ad else [],
            self.entra.proxy_addresses if self.entra else [],
        ):
            for p in source:
                if p.startswith("SMTP:"):
                    return p[5:]
        if self.exo and self.exo.primary_smtp:
            return self.exo.primary_smtp
        if self.ad and self.ad.mail:
            return self.ad.mail
        if self.entra and self.entra.mail:
            return self.entra.mail
        return self.external_address

    @cached_property
    def addresses(self) -> list[str]:
        """U in docs/checks.md: primary SMTP, secondary smtp: values, AD mail (original case)."""
        out: list[str] = []
        seen: set[str] = set()  # lower-case forms of out

        def add(a: str | None) -> None:
            if a and a.lower() not in seen:
                out.append(a)
                seen.add(a.lower())

        add(self.primary_smtp)
        proxies: list[str] = []
        if self.ad:
            proxies += self.ad.proxy_addresses
        if self.exo:
            proxies += self.exo.email_addresses
        if self.entra:
            proxies += self.entra.proxy_addresses
        for p in proxies:
            if p.lower().startswith("smtp:"):
                add(p[5:])
        if self.ad:
            add(self.ad.mail)
        if self.entra:
            add(self.entra.mail)
        return out

    @property
    def display(self) -> str:
        for name in (
            self.ad.display_name if self.ad else None,
            self.exo.display_name if self.exo else None,
            self.entra.display_name if self.entra else None,
        ):
            if name:
                return name
        return self.primary_smtp or self.key

    @property
    def sources(self) -> list[str]:
        return [n for n, v in (("ad", self.ad), ("exo", self.exo), ("entra", self.entra)) if v is not None]

    def values_at(self, location: str) -> list[PublishedValue]:
        return [v for v in self.values if v.location == location]

    def ad_values(self) -> list[PublishedValue]:
        return [v for v in self.values if v.location.startswith("ad.")]

    def certificates(self) -> Iterable[tuple[PublishedValue, CertInfo]]:
        """Every end-entity certificate with the value it sits in (a cert may appear in several)."""
        for value in self.values:
            for cert in value.end_entities:
                yield value, cert


@dataclass
class CertTemplate:
    name: str
    display_name: str | None = None
    oid: str | None = None
    enrollment_flag: int = 0
    private_key_flag: int = 0
    name_flag: int = 0
    ekus: list[str] = field(default_factory=list)
    min_key_size: int | None = None
    validity_days: float | None = None
    ra_signatures: int = 0


@dataclass(frozen=True)
class GroupInfo:
    """A directory group as role checks see it: every id it is known by ("dn:…", "sid:…",
    "guid:…", all lower case), and whether it is a security group (only those grant roles)."""

    name: str
    ids: frozenset[str]
    security: bool


@dataclass
class AdConfig:
    templates: list[CertTemplate] = field(default_factory=list)
    ca_certificates: list[CertInfo] = field(default_factory=list)  # CN=Certification Authorities
    aia_certificates: list[CertInfo] = field(default_factory=list)  # CN=AIA
    ntauth_certificates: list[CertInfo] = field(default_factory=list)
    kra_certificates: list[CertInfo] = field(default_factory=list)  # CN=KRA (key recovery agents)
    errors: list[str] = field(default_factory=list)

    def template_for(self, cert: CertInfo) -> CertTemplate | None:
        for t in self.templates:
            if cert.template_oid and t.oid == cert.template_oid:
                return t
            if cert.template_name and cert.template_name.lower() in {
                t.name.lower(),
                (t.display_name or "").lower(),
            }:
                return t
        return None


@dataclass
class TenantFacts:
    """Tenant-wide facts: trust settings, sync state, and indexes across all users."""

    collected_at: datetime | None = None
    sync_interval_minutes: int = 30
    sync_scope: dict[str, Any] | None = None
    available: set[str] = field(default_factory=set)  # names of the snapshot files present
    sst_certificates: list[CertInfo] | None = None  # None: no SST known
    sst_size: int | None = None
    sst_error: str | None = None
    smime_config: dict[str, Any] | None = None
    organization: dict[str, Any] | None = None
    trusted_roots: list[CertInfo] = field(default_factory=list)
    ad_config: AdConfig | None = None
    cert_owners: dict[str, set[str]] = field(default_factory=dict)  # cert sha256 -> AD user keys
    sync_flow: tuple[int, int] | None = None  # (synced users with AD certs, of which none in EXO)
    tenant_domains: set[str] = field(default_factory=set)
    source_errors: dict[str, str] = field(
        default_factory=dict
    )  # live source (file name key) -> why it failed
