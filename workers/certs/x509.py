"""One X.509 certificate, reduced to the facts the diagnostic checks need.

``cryptography`` parses the certificate; ``asn1crypto`` decodes the few extensions it
does not expose (SMIMECapabilities, the Microsoft template extensions, SmtpUTF8Mailbox).
Parsing is done once per distinct certificate (callers cache by sha256) and never
raises anything but :class:`CertificateError`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from workers.errors import CertificateError

OID_EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string
OID_ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string
OID_SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
OID_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
OID_CODE_SIGNING = ExtendedKeyUsageOID.CODE_SIGNING.dotted_string
OID_TIME_STAMPING = ExtendedKeyUsageOID.TIME_STAMPING.dotted_string
OID_SMART_CARD_LOGON = "1.3.6.1.4.1.311.20.2.2"
OID_EFS = "1.3.6.1.4.1.311.10.3.4"
OID_SMIME_CAPABILITIES = "1.2.840.113549.1.9.15"
OID_MS_TEMPLATE_V2 = "1.3.6.1.4.1.311.21.7"
OID_MS_TEMPLATE_V1 = "1.3.6.1.4.1.311.20.2"
OID_SMTP_UTF8_MAILBOX = "1.3.6.1.5.5.7.8.9"
OID_SMIME_BR_PREFIX = "2.23.140.1.5."
_OID_MS_TEMPLATE_V2 = x509.ObjectIdentifier(OID_MS_TEMPLATE_V2)

# Symmetric algorithms in SMIMECapabilities that are considered weak today.
WEAK_SMIME_CAPABILITIES = {
    "1.3.14.3.2.7": "DES-CBC",
    "1.2.840.113549.3.7": "3DES-CBC",
    "1.2.840.113549.3.2": "RC2-CBC",
    "1.2.840.113549.3.4": "RC4",
}
SMIME_CAPABILITY_NAMES = {
    **WEAK_SMIME_CAPABILITIES,
    "2.16.840.1.101.3.4.1.2": "AES-128-CBC",
    "2.16.840.1.101.3.4.1.22": "AES-192-CBC",
    "2.16.840.1.101.3.4.1.42": "AES-256-CBC",
    "2.16.840.1.101.3.4.1.6": "AES-128-GCM",
    "2.16.840.1.101.3.4.1.46": "AES-256-GCM",
}

_SIGNATURE_HASHES = {
    "1.2.840.113549.1.1.2": "md2",
    "1.2.840.113549.1.1.4": "md5",
    "1.2.840.113549.1.1.5": "sha1",
    "1.3.14.3.2.29": "sha1",
    "1.2.840.10040.4.3": "sha1",
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
    "2.16.840.1.101.3.4.3.2": "sha256",
    "1.3.101.112": "ed25519",
    "1.3.101.113": "ed448",
}

_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@dataclass(frozen=True)
class CertInfo:
    """What the checks know about one certificate. Dates are timezone-aware UTC."""

    der: bytes = field(repr=False)
    sha256: str
    subject: str
    issuer: str
    issuer_der: bytes = field(repr=False)
    serial: str  # lower-case hex, no leading zeros
    serial_number: int
    not_before: datetime
    not_after: datetime
    subject_cn: str | None
    subject_emails: tuple[str, ...]  # emailAddress attributes of the subject
    san_emails: tuple[str, ...]  # rfc822Name values
    san_utf8_emails: tuple[str, ...]  # SmtpUTF8Mailbox otherName values
    eku: tuple[str, ...] | None  # dotted OIDs; None = extension absent
    key_usage: frozenset[str] | None  # flag names; None = extension absent
    key_type: str  # RSA, EC, Ed25519, Ed448, DSA, unknown
    key_size: int | None
    curve: str | None  # secp256r1 ...
    signature_hash: str | None  # md5, sha1, sha256 ... or None if unknown
    signature_oid: str
    ski: bytes | None
    aki: bytes | None
    is_ca: bool | None  # basicConstraints cA; None = extension absent
    path_length: int | None
    template_oid: str | None  # Microsoft v2 template extension
    template_name: str | None  # Microsoft v1 template name extension
    smime_capabilities: tuple[str, ...] | None  # dotted OIDs; None = extension absent
    crl_urls: tuple[str, ...]
    ocsp_urls: tuple[str, ...]
    ca_issuer_urls: tuple[str, ...]
    policy_oids: tuple[str, ...]
    self_issued: bool
    public_key_der: bytes = field(repr=False)

    @property
    def emails(self) -> tuple[str, ...]:
        """Every mailbox the certificate names: SAN first, then the subject."""
        seen: list[str] = []
        for e in (*self.san_emails, *self.san_utf8_emails, *self.subject_emails):
            if e not in seen:
                seen.append(e)
        return tuple(seen)

    @property
    def can_encrypt(self) -> bool:
        ku = self.key_usage
        if self.key_type == "RSA":
            return ku is None or "key_encipherment" in ku
        if self.key_type == "EC":
            return ku is not None and "key_agreement" in ku
        return False

    @property
    def can_sign(self) -> bool:
        ku = self.key_usage
        return ku is None or "digital_signature" in ku or "content_commitment" in ku

    @property
    def smime_br_policies(self) -> tuple[str, ...]:
        return tuple(p for p in self.policy_oids if p.startswith(OID_SMIME_BR_PREFIX))

    @property
    def eku_allows_email(self) -> bool:
        return self.eku is None or OID_EMAIL_PROTECTION in self.eku or OID_ANY_EKU in self.eku

    @property
    def key_id(self) -> str:
        """Identity of the key pair: two certificates with one key share it."""
        return hashlib.sha256(self.public_key_der).hexdigest()

    def is_valid_at(self, now: datetime) -> bool:
        return self.not_before <= now < self.not_after

    def short(self) -> str:
        """How a person recognises the certificate in a sentence."""
        who = self.emails[0] if self.emails else (self.subject_cn or self.subject)
        return f"{who} ({self.issuer_cn}, {self.not_before:%Y-%m-%d} … {self.not_after:%Y-%m-%d})"

    @property
    def issuer_cn(self) -> str:
        for part in self.issuer.split(","):
            if part.strip().upper().startswith("CN="):
                return part.strip()[3:]
        return self.issuer


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# Extension values by OID. cryptography refuses duplicate extensions, so this is what
# get_extension_for_oid would find, without a linear search (and new objects) per lookup.
_Exts = dict[x509.ObjectIdentifier, x509.ExtensionType]


def _raw_ext(exts: _Exts, dotted: str) -> bytes | None:
    value = exts.get(x509.ObjectIdentifier(dotted))
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None, str | None, bytes]:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    try:
        key = cert.public_key()
    except Exception:  # unsupported or malformed key: still a certificate we can report on
        return "unknown", None, None, cert.tbs_certificate_bytes
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None, spki
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size, key.curve.name, spki
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None, spki
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None, spki
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None, spki
    return "unknown", None, None, spki


def _smtputf8_mailboxes(san: x509.SubjectAlternativeName) -> tuple[str, ...]:
    out = []
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id.dotted_string == OID_SMTP_UTF8_MAILBOX:
            try:
                out.append(str(asn1_core.UTF8String.load(other.value).native))
            except Exception:
                continue
    return tuple(out)


@lru_cache(maxsize=256)  # a tenant has a handful of distinct capability lists
def _smime_capabilities(raw: bytes | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    try:
        seq = asn1_core.SequenceOf.load(raw, spec=asn1_core.Sequence)
        oids = []
        for item in seq:
            oid = item[0] if len(item) else None
            if isinstance(oid, asn1_core.Any):
                oid = oid.parse(asn1_core.ObjectIdentifier)
            if isinstance(oid, asn1_core.ObjectIdentifier):
                oids.append(oid.dotted)
        return tuple(oids)
    except Exception:
        return ()


@lru_cache(maxsize=256)  # and a handful of templates
def _template(raw_v2: bytes | None, raw_v1: bytes | None) -> tuple[str | None, str | None]:
    oid = name = None
    if raw_v2 is not None:
        try:
            seq = asn1_core.Sequence.load(raw_v2)
            first = seq[0]
            if not isinstance(first, asn1_core.ObjectIdentifier):
                first = first.parse(asn1_core.ObjectIdentifier)
            oid = first.dotted
        except Exception:
            oid = None
    if raw_v1 is not None:
        for spec in (asn1_core.BMPString, asn1_core.UTF8String, asn1_core.PrintableString):
            try:
                name = str(spec.load(raw_v1).native)
                break
            except Exception:
                continue
    return oid, name


def _urls(exts: _Exts) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    crl: list[str] = []
    cdp = exts.get(ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if isinstance(cdp, x509.CRLDistributionPoints):
        for dp in cdp:
            for name in dp.full_name or []:
                if isinstance(name, x509.UniformResourceIdentifier):
                    crl.append(name.value)
    ocsp: list[str] = []
    issuers: list[str] = []
    aia = exts.get(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if isinstance(aia, x509.AuthorityInformationAccess):
        for desc in aia:
            if isinstance(desc.access_location, x509.UniformResourceIdentifier):
                if desc.access_method == x509.AuthorityInformationAccessOID.OCSP:
                    ocsp.append(desc.access_location.value)
                elif desc.access_method == x509.AuthorityInformationAccessOID.CA_ISSUERS:
                    issuers.append(desc.access_location.value)
    return tuple(crl), tuple(ocsp), tuple(issuers)


def _name_text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:
        return repr(name)


_ISSUER_TEXTS: dict[bytes, str] = {}  # a tenant's leaves share a handful of issuer names


def _issuer_text(issuer_der: bytes, issuer: x509.Name) -> str:
    text = _ISSUER_TEXTS.get(issuer_der)
    if text is None:
        text = _name_text(issuer)
        if len(_ISSUER_TEXTS) < 4096:
            _ISSUER_TEXTS[issuer_der] = text
    return text


def _attrs(name: x509.Name, oid: x509.ObjectIdentifier) -> tuple[str, ...]:
    return tuple(str(a.value) for a in name.get_attributes_for_oid(oid))


# The few most recently parsed certificates as cryptography objects: path validation
# needs a user's leaves again right after their values were parsed.
_RECENT: dict[bytes, x509.Certificate] = {}
_RECENT_MAX = 64


def loaded_certificate(der: bytes) -> x509.Certificate:
    """``x509.load_der_x509_certificate(der)``, reusing a recently parsed object."""
    cert = _RECENT.get(der)
    return cert if cert is not None else x509.load_der_x509_certificate(der)


@lru_cache(maxsize=4096)
def parse_certificate(der: bytes) -> CertInfo:
    """Parse a DER certificate. Raises CertificateError if it is not one we can read."""
    if not der:
        raise CertificateError("empty value where a certificate was expected")
    try:
        cert = x509.load_der_x509_certificate(der)
        info = _facts(cert, der)
        if len(_RECENT) >= _RECENT_MAX:
            del _RECENT[next(iter(_RECENT))]
        _RECENT[der] = cert
        return info
    except CertificateError:
        raise
    except Exception as exc:  # cryptography raises ValueError and friends for malformed DER
        raise CertificateError(f"not a readable X.509 certificate ({_first_line(exc)})") from None


def parse_certificate_pem_or_der(data: bytes) -> list[CertInfo]:
    """Certificates from a file: one DER certificate or any number of PEM blocks."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except Exception as exc:
            raise CertificateError(f"PEM file holds no readable certificate ({_first_line(exc)})") from None
        from cryptography.hazmat.primitives.serialization import Encoding

        return [parse_certificate(c.public_bytes(Encoding.DER)) for c in certs]
    return [parse_certificate(data)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _facts(cert: x509.Certificate, der: bytes) -> CertInfo:
    # cert.extensions forces extension parsing (malformed extensions raise here); the
    # subject and issuer are read once too, each access builds a new Name.
    exts: _Exts = {e.oid: e.value for e in cert.extensions}
    subject, issuer = cert.subject, cert.issuer
    eku_ext = exts.get(ExtensionOID.EXTENDED_KEY_USAGE)
    eku = tuple(o.dotted_string for o in eku_ext) if isinstance(eku_ext, x509.ExtendedKeyUsage) else None
    ku_ext = exts.get(ExtensionOID.KEY_USAGE)
    key_usage: frozenset[str] | None = None
    if isinstance(ku_ext, x509.KeyUsage):
        flags = {f for f in _KEY_USAGE_FLAGS if getattr(ku_ext, f)}
        if ku_ext.key_agreement:
            if ku_ext.encipher_only:
                flags.add("encipher_only")
            if ku_ext.decipher_only:
                flags.add("decipher_only")
        key_usage = frozenset(flags)
    san_ext = exts.get(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    san_emails: tuple[str, ...] = ()
    utf8: tuple[str, ...] = ()
    if isinstance(san_ext, x509.SubjectAlternativeName):
        san_emails = tuple(san_ext.get_values_for_type(x509.RFC822Name))
        utf8 = _smtputf8_mailboxes(san_ext)
    bc = exts.get(ExtensionOID.BASIC_CONSTRAINTS)
    ski_ext = exts.get(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki_ext = exts.get(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    pol = exts.get(ExtensionOID.CERTIFICATE_POLICIES)
    key_type, key_size, curve, spki = _key_facts(cert)
    crl, ocsp, issuers = _urls(exts)
    template_oid, template_name = _template(
        _raw_ext(exts, OID_MS_TEMPLATE_V2), _raw_ext(exts, OID_MS_TEMPLATE_V1)
    )
    parsed_template = exts.get(_OID_MS_TEMPLATE_V2)
    if isinstance(parsed_template, x509.MSCertificateTemplate):  # cryptography >= 41 decodes it itself
        template_oid = parsed_template.template_id.dotted_string
    sig_oid = cert.signature_algorithm_oid.dotted_string
    cns = _attrs(subject, NameOID.COMMON_NAME)
    subject_text = _name_text(subject)
    issuer_der = issuer.public_bytes()
    issuer_text = _issuer_text(issuer_der, issuer)
    return CertInfo(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        subject=subject_text,
        issuer=issuer_text,
        issuer_der=issuer_der,
        serial=format(cert.serial_number, "x"),
        serial_number=cert.serial_number,
        not_before=_utc(cert.not_valid_before_utc),
        not_after=_utc(cert.not_valid_after_utc),
        subject_cn=cns[0] if cns else None,
        subject_emails=_attrs(subject, NameOID.EMAIL_ADDRESS),
        san_emails=san_emails,
        san_utf8_emails=utf8,
        eku=eku,
        key_usage=key_usage,
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        signature_hash=_SIGNATURE_HASHES.get(sig_oid),
        signature_oid=sig_oid,
        ski=ski_ext.digest if isinstance(ski_ext, x509.SubjectKeyIdentifier) else None,
        aki=aki_ext.key_identifier if isinstance(aki_ext, x509.AuthorityKeyIdentifier) else None,
        is_ca=bc.ca if isinstance(bc, x509.BasicConstraints) else None,
        path_length=bc.path_length if isinstance(bc, x509.BasicConstraints) else None,
        template_oid=template_oid,
        template_name=template_name,
        smime_capabilities=_smime_capabilities(_raw_ext(exts, OID_SMIME_CAPABILITIES)),
        crl_urls=crl,
        ocsp_urls=ocsp,
        ca_issuer_urls=issuers,
        policy_oids=tuple(p.policy_identifier.dotted_string for p in pol)
        if isinstance(pol, x509.CertificatePolicies)
        else (),
        self_issued=subject == issuer,
        public_key_der=spki,
    )
