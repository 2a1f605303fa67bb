"""One X.509 certificate, reduced to the facts the diagnostic checks need.

``cryptography`` parses the certificate; ``asn1crypto`` decodes the few extensions it
does not expose (SMIMECapabilities, the Microsoft template extensions, SmtpUTF8Mailbox).
Parsing is done once per distinct certificate (callers cache by sha256) and never
raises anything but :class:`CertificateError`.

An audit parses every certificate of the tenant, so :func:`_facts` reads each part of a
certificate once and keeps what repeats across certificates (issuer names, OID strings
and lists, key classes) in small bounded caches; the CertInfo is exactly what the plain
``cryptography`` calls give (tests/unit/test_cert_speed_equivalence.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import cast

from asn1crypto import core as asn1_core
from asn1crypto.parser import _parse as _asn1_parse
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
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
    # For the trust fast path (workers.certs.trust), so it need not walk the extensions
    # again. None = not known (a CertInfo made by hand): the reader looks for itself.
    # Derived from ``der`` like every other field, so left out of ==, hash and repr.
    extension_oids: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    critical_extension_oids: tuple[str, ...] | None = field(default=None, repr=False, compare=False)
    aki_cert_serial: int | None = field(default=None, repr=False, compare=False)  # AKI's cert serial

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


# Extension values by dotted OID. cryptography refuses duplicate extensions, so this is
# what get_extension_for_oid would find, without a linear search (and new objects) per
# lookup; str keys hash once, an ObjectIdentifier key hashes its DER on every lookup.
_Exts = dict[str, x509.ExtensionType]

# Bounded caches of values that repeat across a tenant's certificates. A full cache
# stops growing (results stay the same, only slower): a tenant has a handful of each.
_CACHE_MAX = 4096
_DOTTED: dict[x509.ObjectIdentifier, str] = {}  # one str per OID, shared by every CertInfo
_SHARED: dict[tuple[str, ...], tuple[str, ...]] = {}  # OID lists, URL lists
_KEY_KINDS: dict[type, str] = {}  # key class -> RSA, EC, ...


def _dotted(oid: x509.ObjectIdentifier) -> str:
    text = _DOTTED.get(oid)
    if text is None:
        text = oid.dotted_string
        if len(_DOTTED) < _CACHE_MAX:
            _DOTTED[oid] = text
    return text


def _shared(values: tuple[str, ...]) -> tuple[str, ...]:
    """An equal tuple seen before, if any: one object for what many certificates share."""
    found = _SHARED.get(values)
    if found is not None:
        return found
    if len(_SHARED) < _CACHE_MAX:
        _SHARED[values] = values
    return values


def _raw_ext(exts: _Exts, oid: str) -> bytes | None:
    value = exts.get(oid)
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _key_kind(key: object) -> str:
    kind = _KEY_KINDS.get(type(key))
    if kind is None:
        if isinstance(key, rsa.RSAPublicKey):
            kind = "RSA"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            kind = "EC"
        elif isinstance(key, ed25519.Ed25519PublicKey):
            kind = "Ed25519"
        elif isinstance(key, ed448.Ed448PublicKey):
            kind = "Ed448"
        elif isinstance(key, dsa.DSAPublicKey):
            kind = "DSA"
        else:
            kind = "unknown"
        if len(_KEY_KINDS) < 64:
            _KEY_KINDS[type(key)] = kind
    return kind


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None, str | None, bytes]:
    try:
        key = cert.public_key()
    except Exception:  # unsupported or malformed key: still a certificate we can report on
        return "unknown", None, None, cert.tbs_certificate_bytes
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    kind = _key_kind(key)  # the isinstance chain, once per key class
    if kind == "RSA":
        return "RSA", cast(rsa.RSAPublicKey, key).key_size, None, spki
    if kind == "EC":
        ec_key = cast(ec.EllipticCurvePublicKey, key)
        return "EC", ec_key.key_size, ec_key.curve.name, spki
    if kind == "Ed25519":
        return "Ed25519", 256, None, spki
    if kind == "Ed448":
        return "Ed448", 456, None, spki
    if kind == "DSA":
        return "DSA", cast(dsa.DSAPublicKey, key).key_size, None, spki
    return "unknown", None, None, spki


def _san_mailboxes(san: x509.SubjectAlternativeName) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(rfc822Name values, SmtpUTF8Mailbox otherName values), in one pass over the names."""
    emails: list[str] = []
    utf8: list[str] = []
    for name in san:
        if isinstance(name, x509.RFC822Name):
            emails.append(name.value)
        elif isinstance(name, x509.OtherName) and name.type_id.dotted_string == OID_SMTP_UTF8_MAILBOX:
            try:
                utf8.append(str(asn1_core.UTF8String.load(name.value).native))
            except Exception:
                continue
    return tuple(emails), tuple(utf8)


_KEY_USAGES: dict[tuple[bool, ...], frozenset[str]] = {}  # one frozenset per combination


def _key_usage(ku: x509.KeyUsage) -> frozenset[str]:
    bits: tuple[bool, ...] = (
        ku.digital_signature,
        ku.content_commitment,
        ku.key_encipherment,
        ku.data_encipherment,
        ku.key_agreement,
        ku.key_cert_sign,
        ku.crl_sign,
    )
    if ku.key_agreement:  # encipher_only / decipher_only raise without it
        bits += (ku.encipher_only, ku.decipher_only)
    found = _KEY_USAGES.get(bits)
    if found is None:
        flags = {f for f, on in zip(_KEY_USAGE_FLAGS, bits, strict=False) if on}
        if len(bits) > 7:
            if bits[7]:
                flags.add("encipher_only")
            if bits[8]:
                flags.add("decipher_only")
        found = _KEY_USAGES[bits] = frozenset(flags)  # at most 2**9 combinations
    return found


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


_OID_CDP = ExtensionOID.CRL_DISTRIBUTION_POINTS.dotted_string
_OID_AIA = ExtensionOID.AUTHORITY_INFORMATION_ACCESS.dotted_string
_OID_OCSP = x509.AuthorityInformationAccessOID.OCSP
_OID_CA_ISSUERS = x509.AuthorityInformationAccessOID.CA_ISSUERS


def _urls(exts: _Exts) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    crl: list[str] = []
    cdp = exts.get(_OID_CDP)
    if isinstance(cdp, x509.CRLDistributionPoints):
        for dp in cdp:
            for name in dp.full_name or []:
                if isinstance(name, x509.UniformResourceIdentifier):
                    crl.append(name.value)
    ocsp: list[str] = []
    issuers: list[str] = []
    aia = exts.get(_OID_AIA)
    if isinstance(aia, x509.AuthorityInformationAccess):
        for desc in aia:
            location = desc.access_location
            if isinstance(location, x509.UniformResourceIdentifier):
                method = desc.access_method
                if method == _OID_OCSP:
                    ocsp.append(location.value)
                elif method == _OID_CA_ISSUERS:
                    issuers.append(location.value)
    return _shared(tuple(crl)), _shared(tuple(ocsp)), _shared(tuple(issuers))  # the same for a CA's leaves


# A value RFC 4514 (cryptography's _escape_dn_value) would change: one of \ " + , ; < > NUL,
# a leading # or space, a trailing space. Any other str value is written as it is.
_DN_ESCAPED = re.compile(r'[\\"+,;<>\x00]|\A[# ]| \Z')
_CN, _EMAIL = 1, 2
# NameAttribute OID -> (NameAttribute.rfc4514_attribute_name, _CN / _EMAIL / 0)
_NAME_ATTRS: dict[x509.ObjectIdentifier, tuple[str, int]] = {}


def _name_facts(name: x509.Name) -> tuple[str, list[str], list[str]]:
    """(``name.rfc4514_string()``, its commonName values, its emailAddress values)."""
    cns: list[str] = []
    emails: list[str] = []
    rdns: list[str] = []
    try:
        for rdn in name.rdns:
            parts: list[str] = []
            for attr in rdn:
                oid = attr.oid
                value = attr.value
                known = _NAME_ATTRS.get(oid)
                if known is None:
                    known = (
                        attr.rfc4514_attribute_name,
                        _CN if oid == NameOID.COMMON_NAME else _EMAIL if oid == NameOID.EMAIL_ADDRESS else 0,
                    )
                    if len(_NAME_ATTRS) < _CACHE_MAX:
                        _NAME_ATTRS[oid] = known
                label, kind = known
                if kind == _CN:
                    cns.append(str(value))
                elif kind == _EMAIL:
                    emails.append(str(value))
                if type(value) is str and _DN_ESCAPED.search(value) is None:
                    parts.append(f"{label}={value}")
                else:
                    parts.append(attr.rfc4514_string())
            rdns.append("+".join(parts))
        rdns.reverse()
        return ",".join(rdns), cns, emails
    except Exception:  # as before: rfc4514_string(), else repr (which may raise in turn)
        try:
            text = name.rfc4514_string()
        except Exception:
            text = repr(name)
        attrs = list(name)
        return (
            text,
            [str(a.value) for a in attrs if a.oid == NameOID.COMMON_NAME],
            [str(a.value) for a in attrs if a.oid == NameOID.EMAIL_ADDRESS],
        )


def _raw_issuer(der: bytes) -> bytes | None:
    """The issuer Name exactly as encoded in ``der``, or None.

    asn1crypto's parser steps from the Certificate into the tbsCertificate and over its
    [0] version, serialNumber and signature to the issuer. Its ``_parse`` gives positions
    in ``der``; the public ``parse`` copies the rest of the certificate at each step and
    costs twice as much. Only a cache key: everything CertInfo says about the issuer
    comes from cryptography's parse of the same bytes, and on any surprise (another
    asn1crypto, say) this is None and the issuer is read without the cache.
    """
    try:
        end = len(der)
        pos = _asn1_parse(der, end, 0, True)[0]  # into the Certificate
        pos = _asn1_parse(der, end, pos, True)[0]  # into the tbsCertificate
        (cls, _, tag, _, _, _), pos = _asn1_parse(der, end, pos)
        if (cls, tag) == (2, 0):  # it was the version: past the serialNumber too
            pos = _asn1_parse(der, end, pos, True)[1]
        pos = _asn1_parse(der, end, pos, True)[1]  # past the signature AlgorithmIdentifier
        (cls, _, tag, header, contents, _), _ = _asn1_parse(der, end, pos)
    except Exception:
        return None
    if (cls, tag) != (0, 16):  # a Name is a SEQUENCE
        return None
    return header + contents


# Issuer names by their encoding: (issuer.public_bytes(), its RFC 4514 text, the Name).
# A tenant's leaves share a handful of issuers; building the Name costs as much as the
# subject's.
_ISSUERS: dict[bytes, tuple[bytes, str, x509.Name]] = {}


@lru_cache(maxsize=4096)
def parse_certificate(der: bytes) -> CertInfo:
    """Parse a DER certificate. Raises CertificateError if it is not one we can read."""
    if not der:
        raise CertificateError("empty value where a certificate was expected")
    try:
        return _facts(x509.load_der_x509_certificate(der), der)
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
        return [parse_certificate(c.public_bytes(Encoding.DER)) for c in certs]
    return [parse_certificate(data)]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _certinfo(values: dict[str, object]) -> CertInfo:
    """``CertInfo(**values)`` for ``values`` naming every field in order, without the
    frozen dataclass ``__init__``, whose object.__setattr__ per field cost about a tenth
    of the whole parse. The object is the same (the tests compare it with __init__'s)."""
    info = object.__new__(CertInfo)
    info.__dict__.update(values)
    return info


_OID_EKU = ExtensionOID.EXTENDED_KEY_USAGE.dotted_string
_OID_KU = ExtensionOID.KEY_USAGE.dotted_string
_OID_SAN = ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string
_OID_BC = ExtensionOID.BASIC_CONSTRAINTS.dotted_string
_OID_SKI = ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string
_OID_AKI = ExtensionOID.AUTHORITY_KEY_IDENTIFIER.dotted_string
_OID_POLICIES = ExtensionOID.CERTIFICATE_POLICIES.dotted_string


def _facts(cert: x509.Certificate, der: bytes) -> CertInfo:
    # What can raise (the extensions, the subject and issuer Names, the issuer's encoding)
    # runs in the same order as always, so a malformed certificate keeps its message.
    # cert.extensions forces extension parsing (malformed extensions raise here).
    exts: _Exts = {}
    oids: list[str] = []
    critical: list[str] = []
    dotted_of = _DOTTED.get
    for ext in cert.extensions:
        oid = ext.oid
        dotted = dotted_of(oid) or _dotted(oid)
        exts[dotted] = ext.value
        oids.append(dotted)
        if ext.critical:
            critical.append(dotted)
    subject = cert.subject
    raw_issuer = _raw_issuer(der)
    known = _ISSUERS.get(raw_issuer) if raw_issuer is not None else None
    issuer = known[2] if known is not None else cert.issuer
    eku_ext = exts.get(_OID_EKU)
    eku = (
        _shared(tuple([dotted_of(o) or _dotted(o) for o in eku_ext]))
        if isinstance(eku_ext, x509.ExtendedKeyUsage)
        else None
    )
    ku_ext = exts.get(_OID_KU)
    key_usage = _key_usage(ku_ext) if isinstance(ku_ext, x509.KeyUsage) else None
    san_ext = exts.get(_OID_SAN)
    san_emails: tuple[str, ...] = ()
    utf8: tuple[str, ...] = ()
    if isinstance(san_ext, x509.SubjectAlternativeName):
        san_emails, utf8 = _san_mailboxes(san_ext)
    bc = exts.get(_OID_BC)
    if not isinstance(bc, x509.BasicConstraints):
        bc = None
    ski_ext = exts.get(_OID_SKI)
    aki_ext = exts.get(_OID_AKI)
    aki = aki_ext if isinstance(aki_ext, x509.AuthorityKeyIdentifier) else None
    pol = exts.get(_OID_POLICIES)
    key_type, key_size, curve, spki = _key_facts(cert)
    crl, ocsp, issuers = _urls(exts)
    template_v2 = exts.get(OID_MS_TEMPLATE_V2)
    raw_v2 = template_v2.value if isinstance(template_v2, x509.UnrecognizedExtension) else None
    raw_v1 = _raw_ext(exts, OID_MS_TEMPLATE_V1)
    template_oid = template_name = None
    if raw_v2 is not None or raw_v1 is not None:
        template_oid, template_name = _template(raw_v2, raw_v1)
    if isinstance(template_v2, x509.MSCertificateTemplate):  # cryptography >= 41 decodes it itself
        template_oid = _dotted(template_v2.template_id)
    sig_oid = _dotted(cert.signature_algorithm_oid)
    subject_text, cns, subject_emails = _name_facts(subject)
    if known is not None:
        issuer_der, issuer_text = known[0], known[1]
    else:
        issuer_der = issuer.public_bytes()
        issuer_text = _name_facts(issuer)[0]
        if raw_issuer is not None and len(_ISSUERS) < _CACHE_MAX:
            _ISSUERS[raw_issuer] = (issuer_der, issuer_text, issuer)
    serial_number = cert.serial_number
    return _certinfo(
        {
            "der": der,
            "sha256": hashlib.sha256(der).hexdigest(),
            "subject": subject_text,
            "issuer": issuer_text,
            "issuer_der": issuer_der,
            "serial": format(serial_number, "x"),
            "serial_number": serial_number,
            "not_before": _utc(cert.not_valid_before_utc),
            "not_after": _utc(cert.not_valid_after_utc),
            "subject_cn": cns[0] if cns else None,
            "subject_emails": tuple(subject_emails),
            "san_emails": san_emails,
            "san_utf8_emails": utf8,
            "eku": eku,
            "key_usage": key_usage,
            "key_type": key_type,
            "key_size": key_size,
            "curve": curve,
            "signature_hash": _SIGNATURE_HASHES.get(sig_oid),
            "signature_oid": sig_oid,
            "ski": ski_ext.digest if isinstance(ski_ext, x509.SubjectKeyIdentifier) else None,
            "aki": aki.key_identifier if aki is not None else None,
            "is_ca": bc.ca if bc is not None else None,
            "path_length": bc.path_length if bc is not None else None,
            "template_oid": template_oid,
            "template_name": template_name,
            "smime_capabilities": _smime_capabilities(_raw_ext(exts, OID_SMIME_CAPABILITIES)),
            "crl_urls": crl,
            "ocsp_urls": ocsp,
            "ca_issuer_urls": issuers,
            "policy_oids": _shared(tuple([_dotted(p.policy_identifier) for p in pol]))
            if isinstance(pol, x509.CertificatePolicies)
            else (),
            "self_issued": subject == issuer,
            "public_key_der": spki,
            "extension_oids": _shared(tuple(oids)),
            "critical_extension_oids": _shared(tuple(critical)),
            "aki_cert_serial": aki.authority_cert_serial_number if aki is not None else None,
        }
    )
