"""Build test PKI material: CAs, leaf certificates with any extension mix, Outlook-style
PKCS#7 blobs, and the directory/export records that carry them.

Everything here is deliberately small and explicit so tests (and the demo-tenant
generator, ``scripts/make_demo_tenant.py``) can say exactly which oddity a certificate
has. Keys are fresh on every call unless a key is passed in, so the bytes differ between
runs while the *facts* (names, dates, extensions) stay the same.

Typical use::

    root = make_ca("Test Root CA", not_before=T0, not_after=T0 + timedelta(days=3650))
    ca = make_ca("Test Issuing CA", issuer=root, not_before=..., not_after=..., path_length=0)
    leaf = make_leaf(ca, "Alice", emails=["alice@example.test"], not_before=..., not_after=...)
    blob = outlook_pkcs7([leaf], signer=leaf, default=leaf)
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import ldif
from asn1crypto import algos, cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# --- OIDs a test usually wants by name -------------------------------------------------
EKU_EMAIL = ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string
EKU_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
EKU_SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
EKU_ANY = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string
EKU_SMART_CARD_LOGON = "1.3.6.1.4.1.311.20.2.2"
EKU_EFS = "1.3.6.1.4.1.311.10.3.4"
EKU_KEY_RECOVERY_AGENT = "1.3.6.1.4.1.311.21.6"
OID_UPN = "1.3.6.1.4.1.311.20.2.3"
OID_MS_TEMPLATE_V2 = "1.3.6.1.4.1.311.21.7"
OID_MS_TEMPLATE_V1 = "1.3.6.1.4.1.311.20.2"
OID_SMIME_CAPABILITIES = "1.2.840.113549.1.9.15"
OID_MS_ENCRYPTION_KEY_PREFERENCE = "1.3.6.1.4.1.311.16.4"
OID_PADDING_EXTENSION = "1.3.6.1.4.1.55555.1.1"  # private arc, used only to make huge certificates

CAP_AES256 = "2.16.840.1.101.3.4.1.42"
CAP_AES192 = "2.16.840.1.101.3.4.1.22"
CAP_AES128 = "2.16.840.1.101.3.4.1.2"
CAP_3DES = "1.2.840.113549.3.7"
CAP_RC2 = "1.2.840.113549.3.2"
CAP_DES = "1.3.14.3.2.7"
MODERN_CAPABILITIES = (CAP_AES256, CAP_AES192, CAP_AES128)

# Key usage names, as cryptography's KeyUsage arguments.
KU_SIGN_ENCRYPT = frozenset({"digital_signature", "key_encipherment"})
KU_CA = frozenset({"key_cert_sign", "crl_sign", "digital_signature"})
_KU_FIELDS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


# --- keys -----------------------------------------------------------------------------


def new_key(kind: str = "rsa", *, size: int = 2048, curve: str = "secp256r1") -> PrivateKey:
    """A fresh private key: ``kind`` "rsa" (``size`` bits) or "ec" (``curve`` by name)."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    if kind == "ec":
        curves: dict[str, ec.EllipticCurve] = {
            "secp256r1": ec.SECP256R1(),
            "secp384r1": ec.SECP384R1(),
            "secp521r1": ec.SECP521R1(),
            "secp256k1": ec.SECP256K1(),
        }
        return ec.generate_private_key(curves[curve])
    raise ValueError(f"unknown key kind {kind!r}")


# --- extension helpers ----------------------------------------------------------------


class _TemplateV2(asn1_core.Sequence):
    _fields = [
        ("template_id", asn1_core.ObjectIdentifier),
        ("major_version", asn1_core.Integer),
        ("minor_version", asn1_core.Integer, {"optional": True}),
    ]


def template_v2_extension(
    template_oid: str, major: int = 100, minor: int = 4
) -> x509.Extension[x509.ExtensionType]:
    """Microsoft certificate template information (1.3.6.1.4.1.311.21.7)."""
    value = _TemplateV2({"template_id": template_oid, "major_version": major, "minor_version": minor}).dump()
    return x509.Extension(
        x509.ObjectIdentifier(OID_MS_TEMPLATE_V2),
        False,
        x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_MS_TEMPLATE_V2), value),
    )


def template_v1_extension(name: str) -> x509.Extension[x509.ExtensionType]:
    """Microsoft v1 certificate template name (1.3.6.1.4.1.311.20.2), a BMPString such as "User"."""
    value = asn1_core.BMPString(name).dump()
    return x509.Extension(
        x509.ObjectIdentifier(OID_MS_TEMPLATE_V1),
        False,
        x509.UnrecognizedExtension(x509.ObjectIdentifier(OID_MS_TEMPLATE_V1), value),
    )


def smime_capabilities_der(oids: Iterable[str]) -> bytes:
    """DER of an SMIMECapabilities SEQUENCE listing the given algorithm OIDs."""
    return cms.SMIMECapabilites([{"capability_id": oid} for oid in oids]).dump()


def smime_capabilities_extension(oids: Iterable[str]) -> x509.Extension[x509.ExtensionType]:
    """The SMIMECapabilities certificate extension (1.2.840.113549.1.9.15, RFC 4262)."""
    oid = x509.ObjectIdentifier(OID_SMIME_CAPABILITIES)
    return x509.Extension(oid, False, x509.UnrecognizedExtension(oid, smime_capabilities_der(oids)))


def padding_extension(size: int) -> x509.Extension[x509.ExtensionType]:
    """A non-critical private extension of ``size`` zero bytes, to make a certificate huge."""
    oid = x509.ObjectIdentifier(OID_PADDING_EXTENSION)
    return x509.Extension(
        oid, False, x509.UnrecognizedExtension(oid, asn1_core.OctetString(b"\0" * size).dump())
    )


def key_usage(flags: Iterable[str]) -> x509.KeyUsage:
    """A KeyUsage from flag names (cryptography's argument names, e.g. "key_encipherment")."""
    wanted = set(flags)
    unknown = wanted - set(_KU_FIELDS)
    if unknown:
        raise ValueError(f"unknown key usage flags {sorted(unknown)}")
    return x509.KeyUsage(**{f: f in wanted for f in _KU_FIELDS})


def _upn_other_name(upn: str) -> x509.OtherName:
    return x509.OtherName(x509.ObjectIdentifier(OID_UPN), asn1_core.UTF8String(upn).dump())


def _hash(name: str) -> hashes.SHA256 | hashes.SHA384:
    if name == "sha384":
        return hashes.SHA384()
    if name == "sha256":
        return hashes.SHA256()
    raise ValueError(f"unsupported signature hash {name!r}")


_ALGID_SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
_ALGID_SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")


def _sign(builder: x509.CertificateBuilder, key: PrivateKey, hash_name: str) -> x509.Certificate:
    """Sign with SHA-256/384, or with SHA-1/RSA (which cryptography refuses) by re-signing the TBS.

    For SHA-1 the TBS is signed as sha256WithRSA first, then its AlgorithmIdentifier is
    swapped byte for byte (same length) so nothing else in the TBS is re-encoded.
    """
    if hash_name != "sha1":
        return builder.sign(key, _hash(hash_name))
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("SHA-1 signatures are only made with RSA issuer keys")
    draft = builder.sign(key, hashes.SHA256())
    tbs_der = draft.tbs_certificate_bytes.replace(_ALGID_SHA256_RSA, _ALGID_SHA1_RSA, 1)
    signature = key.sign(tbs_der, padding.PKCS1v15(), hashes.SHA1())
    cert = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha1_rsa"}),
            "signature_value": signature,
        }
    )
    return x509.load_der_x509_certificate(cert.dump())


# --- certificates ---------------------------------------------------------------------


def make_ca(
    common_name: str,
    *,
    not_before: datetime,
    not_after: datetime,
    issuer: Issued | None = None,
    organization: str | None = None,
    key: PrivateKey | None = None,
    key_size: int = 2048,
    hash_name: str = "sha256",
    path_length: int | None = None,
    crl_urls: Sequence[str] = (),
    ca_issuer_urls: Sequence[str] = (),
    serial: int | None = None,
) -> Issued:
    """A CA certificate: self-signed root when ``issuer`` is None, else signed by ``issuer``.

    Carries basicConstraints cA=TRUE (critical), keyCertSign+cRLSign, SKI, and AKI when
    issued by another CA. ``hash_name`` "sha1" and ``key_size`` 1024 make a weak CA.
    """
    key = key or new_key("rsa", size=key_size)
    name_attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        name_attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    subject = x509.Name(name_attrs)
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(key_usage(KU_CA), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    builder = _add_urls(builder, crl_urls, (), ca_issuer_urls)
    return Issued(_sign(builder, signer, hash_name), key)


def make_leaf(
    issuer: Issued,
    common_name: str,
    *,
    not_before: datetime,
    not_after: datetime,
    emails: Sequence[str] = (),
    subject_email: str | None = None,
    upn: str | None = None,
    organization: str | None = None,
    key: PrivateKey | None = None,
    key_usage_flags: Iterable[str] | None = KU_SIGN_ENCRYPT,
    eku: Sequence[str] | None = (EKU_EMAIL,),
    template_oid: str | None = None,
    template_name: str | None = None,
    capabilities: Sequence[str] | None = MODERN_CAPABILITIES,
    ski: bool = True,
    aki: bool = True,
    crl_urls: Sequence[str] = (),
    ocsp_urls: Sequence[str] = (),
    ca_issuer_urls: Sequence[str] = (),
    policies: Sequence[str] = (),
    is_ca: bool | None = False,
    hash_name: str = "sha256",
    pad_to: int = 0,
    serial: int | None = None,
) -> Issued:
    """An end-entity certificate issued by ``issuer`` with exactly the extensions asked for.

    - ``emails``: rfc822Name SAN values (no SAN at all when empty and ``upn`` is None).
    - ``subject_email``: adds an emailAddress attribute to the subject.
    - ``key_usage_flags`` / ``eku`` / ``capabilities``: None leaves the extension out.
    - ``template_oid`` / ``template_name``: the Microsoft v2 / v1 template extensions.
    - ``is_ca``: True publishes a cA=TRUE certificate, None omits basicConstraints.
    - ``policies``: certificatePolicies OIDs (e.g. S/MIME BR 2.23.140.1.5.1.2).
    - ``pad_to``: grow the DER to at least this many bytes with a private padding extension.
    """
    key = key or new_key()
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if subject_email:
        attrs.append(x509.NameAttribute(NameOID.EMAIL_ADDRESS, subject_email))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if is_ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    if key_usage_flags is not None:
        builder = builder.add_extension(key_usage(key_usage_flags), critical=True)
    if eku is not None:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in eku]), critical=False
        )
    san: list[x509.GeneralName] = [x509.RFC822Name(e) for e in emails]
    if upn:
        san.append(_upn_other_name(upn))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    builder = _add_urls(builder, crl_urls, ocsp_urls, ca_issuer_urls)
    if policies:
        builder = builder.add_extension(
            x509.CertificatePolicies(
                [x509.PolicyInformation(x509.ObjectIdentifier(p), None) for p in policies]
            ),
            critical=False,
        )
    extra: list[x509.Extension[x509.ExtensionType]] = []
    if template_oid:
        extra.append(template_v2_extension(template_oid))
    if template_name:
        extra.append(template_v1_extension(template_name))
    if capabilities is not None:
        extra.append(smime_capabilities_extension(capabilities))
    if pad_to:
        extra.append(padding_extension(pad_to))
    for ext in extra:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    return Issued(_sign(builder, issuer.key, hash_name), key)


def _add_urls(
    builder: x509.CertificateBuilder, crl: Sequence[str], ocsp: Sequence[str], ca_issuers: Sequence[str]
) -> x509.CertificateBuilder:
    if crl:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(u) for u in crl], None, None, None)]
            ),
            critical=False,
        )
    access = [
        x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(u))
        for u in ocsp
    ] + [
        x509.AccessDescription(
            x509.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)
        )
        for u in ca_issuers
    ]
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    return builder


# --- PKCS#7 blobs (userSMIMECertificate) ----------------------------------------------


def _asn1_cert(item: Issued | bytes) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(item.der if isinstance(item, Issued) else item)


def certs_only_pkcs7(certificates: Sequence[Issued | bytes]) -> bytes:
    """A degenerate SignedData carrying only certificates (no signer), as import scripts write."""
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [],
            "encap_content_info": {"content_type": "data"},
            "certificates": [
                cms.CertificateChoices(name="certificate", value=_asn1_cert(c)) for c in certificates
            ],
            "signer_infos": [],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def outlook_pkcs7(
    certificates: Sequence[Issued],
    *,
    signer: Issued,
    default: Issued | None,
    capabilities: Sequence[str] = MODERN_CAPABILITIES,
    signing_time: datetime | None = None,
) -> bytes:
    """SignedData as Outlook's "Publish to GAL" writes it to userSMIMECertificate.

    Detached empty content, one SignerInfo by ``signer`` (RSA key), signed attributes:
    contentType, signingTime, messageDigest, SMIMECapabilities, and - when ``default`` is
    given - the default-encryption-certificate markers naming it by issuer and serial:
    Microsoft's 1.3.6.1.4.1.311.16.4 and RFC 8551 smimeEncryptionKeyPreference
    (1.2.840.113549.1.9.16.2.11).
    """
    if not isinstance(signer.key, rsa.RSAPrivateKey):
        raise ValueError("outlook_pkcs7 signs with RSA keys only")
    signer_asn1 = _asn1_cert(signer)
    attrs: list[dict[str, object]] = [
        {"type": "content_type", "values": ["data"]},
        {
            "type": "signing_time",
            "values": [cms.Time(name="utc_time", value=signing_time or datetime.now(UTC))],
        },
        {"type": "message_digest", "values": [hashlib.sha256(b"").digest()]},
        {
            "type": "smime_capabilities",
            "values": [cms.SMIMECapabilites([{"capability_id": c} for c in capabilities])],
        },
    ]
    signed_attrs = cms.CMSAttributes(attrs)
    if default is not None:
        target = _asn1_cert(default)
        ias = cms.IssuerAndSerialNumber(
            {"issuer": target["tbs_certificate"]["issuer"], "serial_number": target.serial_number}
        )
        pref = cms.SMIMEEncryptionKeyPreference(name="issuer_and_serial_number", value=ias)
        signed_attrs.append(cms.CMSAttribute({"type": "encrypt_key_pref", "values": [pref]}))
        ms_attr = cms.CMSAttribute(
            {
                "type": cms.CMSAttributeType(OID_MS_ENCRYPTION_KEY_PREFERENCE),
                "values": [asn1_core.Any.load(ias.dump())],
            }
        )
        signed_attrs.append(ms_attr)
    to_sign = cms.CMSAttributes.load(signed_attrs.dump()).dump()
    signature = signer.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={
                    "issuer": signer_asn1["tbs_certificate"]["issuer"],
                    "serial_number": signer_asn1.serial_number,
                },
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}),
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data"},
            "certificates": [
                cms.CertificateChoices(name="certificate", value=_asn1_cert(c)) for c in certificates
            ],
            "signer_infos": [signer_info],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


# --- directory and export records -----------------------------------------------------


def guid_bytes(guid: uuid.UUID) -> bytes:
    """objectGUID as AD stores it (little-endian ``bytes_le``)."""
    return guid.bytes_le


def immutable_id(guid: uuid.UUID) -> str:
    """Entra ``onPremisesImmutableId`` for an AD objectGUID: base64 of the bytes_le form."""
    return base64.b64encode(guid.bytes_le).decode("ascii")


def generalized_time(moment: datetime) -> str:
    """AD GeneralizedTime as ldifde writes it, e.g. ``20261120054000.0Z``."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S.0Z")


def iso_utc(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, as Graph writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def filetime_interval(days: float) -> bytes:
    """pKIExpirationPeriod / pKIOverlapPeriod: 8-byte little-endian negative 100 ns count."""
    return struct.pack("<q", -round(days * 86400 * 10_000_000))


def ldif_bytes(entries: Iterable[tuple[str, Mapping[str, Sequence[str | bytes]]]]) -> bytes:
    """Serialize ``(dn, {attribute: [values]})`` entries as RFC 2849 LDIF with LDIFWriter.

    ``bytes`` values are written base64 (``attr:: ...``); empty value lists are dropped.
    """
    out = io.BytesIO()
    writer = ldif.LDIFWriter(out, cols=76)
    for dn, attrs in entries:
        record = {name: list(values) for name, values in attrs.items() if values}
        writer.unparse(dn, record)
    return out.getvalue()


def exo_bytes(value: bytes, style: str = "base64") -> str | list[int]:
    """One byte value as Exchange Online exports write it: "base64" or "ints" (ConvertTo-Json)."""
    if style == "base64":
        return base64.b64encode(value).decode("ascii")
    if style == "ints":
        return list(value)
    raise ValueError(f"unknown byte style {style!r}")


def to_ber(der: bytes, keep: frozenset[bytes] = frozenset(), depth: int = 6) -> bytes:
    """Re-encode DER as BER: indefinite lengths on the outer `depth` constructed levels and
    OCTET STRINGs split into 8-byte chunks, leaving any TLV in `keep` (the certificates) as is.
    """
    out = bytearray()
    pos = 0
    while pos < len(der):
        start = pos
        tag, first = der[pos], der[pos + 1]
        pos += 2
        length = first
        if first & 0x80:
            n = first & 0x7F
            length = int.from_bytes(der[pos : pos + n], "big")
            pos += n
        body = der[pos : pos + length]
        pos += length
        whole = der[start:pos]
        if whole in keep:
            out += whole
        elif tag & 0x20 and depth > 0:
            out += bytes([tag, 0x80]) + to_ber(body, keep, depth - 1) + b"\0\0"
        elif tag == 0x04 and len(body) > 8:
            out += b"\x24\x80"
            for i in range(0, len(body), 8):
                out += bytes([0x04, len(body[i : i + 8])]) + body[i : i + 8]
            out += b"\0\0"
        else:
            out += whole
    return bytes(out)
