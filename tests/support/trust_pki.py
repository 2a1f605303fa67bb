"""A tiny test PKI built with ``cryptography``: roots, intermediates, leaves, CRLs, OCSP.

Tests need many small, precise variations of certificates (expired, wrong key, name
constraints, unknown critical extensions); building them in code keeps each test's
intent visible and avoids checked-in fixtures that silently expire.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from workers.certs.x509 import CertInfo, parse_certificate

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

UTC = dt.UTC
T2025 = dt.datetime(2025, 1, 1, tzinfo=UTC)
T2026 = dt.datetime(2026, 1, 1, tzinfo=UTC)
_serials = itertools.count(1000)


def new_key(kind: str = "ec") -> PrivateKey:
    """EC P-256 by default: generation takes microseconds, so every test gets fresh keys."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def info(self) -> CertInfo:
        return parse_certificate(self.der)

    @property
    def name(self) -> x509.Name:
        return self.cert.subject


def name_of(cn: str, org: str = "Contoso Test") -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def issue(
    cn: str,
    issuer: Issued | None = None,
    *,
    key: PrivateKey | None = None,
    sign_key: PrivateKey | None = None,
    ca: bool = False,
    path_len: int | None = None,
    not_before: dt.datetime = T2025,
    not_after: dt.datetime | None = None,
    key_usage: str | None = "default",
    emails: Sequence[str] = (),
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    name_constraints: x509.NameConstraints | None = None,
    extra_extensions: Iterable[tuple[x509.ExtensionType, bool]] = (),
    crl_urls: Sequence[str] = (),
    ocsp_urls: Sequence[str] = (),
    ca_issuer_urls: Sequence[str] = (),
    serial: int | None = None,
    subject: x509.Name | None = None,
    issuer_name: x509.Name | None = None,
    hash_alg: hashes.HashAlgorithm | None = None,
) -> Issued:
    """Issue one certificate; ``issuer=None`` makes a self-signed root."""
    key = key or new_key()
    subject = subject or name_of(cn)
    issuer_name = issuer_name or (issuer.name if issuer else subject)
    signer = sign_key or (issuer.key if issuer else key)
    if not_after is None:
        not_after = not_before + dt.timedelta(days=3650 if ca else 730)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else next(_serials))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    issuer_pub = (issuer.key if issuer else key).public_key()
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub), critical=False)
    if key_usage == "default":
        if ca:
            ku = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        else:
            ku = x509.KeyUsage(True, False, True, False, False, False, False, False, False)
        b = b.add_extension(ku, critical=True)
    elif key_usage == "ca_no_certsign":
        b = b.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, True, False, False), critical=True
        )
    if emails:
        b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(e) for e in emails]), critical=False)
    if eku is None and not ca:
        eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if name_constraints is not None:
        b = b.add_extension(name_constraints, critical=True)
    if crl_urls:
        dps = [
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None) for u in crl_urls
        ]
        b = b.add_extension(x509.CRLDistributionPoints(dps), critical=False)
    aia = [
        x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(u))
        for u in ocsp_urls
    ] + [
        x509.AccessDescription(
            x509.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(u)
        )
        for u in ca_issuer_urls
    ]
    if aia:
        b = b.add_extension(x509.AuthorityInformationAccess(aia), critical=False)
    for ext, critical in extra_extensions:
        b = b.add_extension(ext, critical=critical)
    cert = b.sign(signer, hash_alg or hashes.SHA256())
    return Issued(cert, key)


def unknown_extension(oid: str = "1.3.6.1.4.1.55555.1.1") -> x509.UnrecognizedExtension:
    """An extension no validator knows, for the RFC 5280 critical-extension rule."""
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), b"\x05\x00")


def make_crl(
    issuer: Issued,
    revoked_serials: Iterable[int] = (),
    *,
    this_update: dt.datetime = T2025,
    next_update: dt.datetime | None = None,
    sign_key: PrivateKey | None = None,
    revoked_at: dt.datetime = T2025,
) -> bytes:
    """DER CRL; ``sign_key`` other than the issuer's makes a CRL with a bad signature."""
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.name)
        .last_update(this_update)
        .next_update(next_update or this_update + dt.timedelta(days=3650))
    )
    for s in revoked_serials:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(revoked_at).build()
        )
    return b.sign(sign_key or issuer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def make_ocsp_response(
    request_der: bytes,
    issuer: Issued,
    cert_for: dict[int, Issued],
    *,
    revoked: Iterable[int] = (),
    unknown: Iterable[int] = (),
    this_update: dt.datetime = T2025,
    next_update: dt.datetime | None = None,
    responder: Issued | None = None,
    corrupt_signature: bool = False,
) -> bytes:
    """Answer an OCSP request for a certificate we issued (by serial).

    ``corrupt_signature`` flips the last byte of the signature (cryptography refuses to
    sign with a key that does not match the responder certificate).
    """
    req = ocsp.load_der_ocsp_request(request_der)
    serial = req.serial_number
    subject = cert_for.get(serial)
    if subject is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER
        )
    revoked_set, unknown_set = set(revoked), set(unknown)
    if serial in revoked_set:
        status, rev_time, reason = ocsp.OCSPCertStatus.REVOKED, this_update, x509.ReasonFlags.key_compromise
    elif serial in unknown_set:
        status, rev_time, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    else:
        status, rev_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
    signer = responder or issuer
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=subject.cert,
        issuer=issuer.cert,
        algorithm=hashes.SHA1(),
        cert_status=status,
        this_update=this_update,
        next_update=next_update or this_update + dt.timedelta(days=3650),
        revocation_time=rev_time,
        revocation_reason=reason,
    )
    b = b.responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
    if responder is not None:
        b = b.certificates([responder.cert])
    der = b.sign(signer.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    if corrupt_signature:
        assert responder is None, "with embedded certificates the signature is not the last field"
        der = der[:-1] + bytes([der[-1] ^ 0x01])
    return der


@dataclass(frozen=True)
class SimplePki:
    root: Issued
    inter: Issued
    leaf: Issued


def simple_pki(**leaf_kwargs: object) -> SimplePki:
    """root → intermediate → leaf, everything valid in 2025–2026 unless told otherwise."""
    root = issue("Contoso Root CA", ca=True, not_after=T2025 + dt.timedelta(days=7300))
    inter = issue("Contoso Issuing CA", root, ca=True, path_len=0)
    leaf = issue("alice", inter, emails=["alice@contoso.com"], **leaf_kwargs)  # type: ignore[arg-type]
    return SimplePki(root, inter, leaf)
