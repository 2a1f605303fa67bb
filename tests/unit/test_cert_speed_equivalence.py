"""The fast certificate parse and the trust fast path change nothing but their cost.

``parse_certificate`` reads each part of a certificate once and caches what repeats
across certificates; every CertInfo field is compared here with a plain derivation from
``cryptography`` (the calls the parser made before it was optimised), and every error
message too, over PKITS, cryptography's own test certificates and the demo tenant.
The trust fast path reads the extension facts the parser noted instead of walking the
extensions again; its decisions and PathResults are compared with the walk and with
pyhanko's full validation.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import re
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from workers.certs import x509 as certs_x509
from workers.certs.trust import TrustStore, _checkable_by_extensions
from workers.certs.x509 import CertInfo, parse_certificate
from workers.errors import CertificateError

# cryptography warns about the odd certificates of its own test set
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def _vectors_dir() -> Path | None:
    try:
        import cryptography_vectors
    except ImportError:
        return None
    return Path(cryptography_vectors.__file__).parent / "x509"


def _file_items(path: Path) -> Iterator[tuple[str, bytes]]:
    data = path.read_bytes()
    blocks = PEM.findall(data)
    if not blocks:
        yield path.name, data
    for i, (_, body) in enumerate(blocks):
        try:
            yield f"{path.name}#{i}", base64.b64decode(b"".join(body.split()))
        except ValueError:  # PEM headers (Proc-Type: ...) in the block
            continue


@cache
def vector_items() -> tuple[tuple[str, bytes], ...]:
    """PKITS certificates and cryptography's own (odd, broken, non-certificate) test files."""
    root = _vectors_dir()
    if root is None:
        return ()
    paths = sorted((root / "PKITS_data" / "certs").glob("*.crt"))
    paths += sorted(p for p in (root / "custom").iterdir() if p.suffix in (".pem", ".der"))
    paths += sorted(p for p in root.iterdir() if p.suffix in (".pem", ".der"))
    paths += sorted((root / "ed25519").glob("*")) + sorted((root / "ed448").glob("*"))
    return tuple(item for p in paths if p.is_file() for item in _file_items(p))


@cache
def demo_items() -> tuple[tuple[str, bytes], ...]:
    """Every certificate of the demo tenant, and every raw published value (blobs, junk)."""
    from workers.demo_tenant import DATA_DIR
    from workers.sources.snapshot import Snapshot

    snap = Snapshot(DATA_DIR)
    t = snap.tenant
    pool = list(t.sst_certificates or []) + list(t.trusted_roots)
    if t.ad_config:
        pool += t.ad_config.ca_certificates + t.ad_config.aia_certificates
    out = [("tenant", c.der) for c in pool]
    for user in snap.iter_users():
        for value in user.values:
            if value.raw:
                out.append((f"{user.key} raw {value.location}", value.raw))
            out += [(f"{user.key} {value.location}", c.der) for c in value.certificates]
    return tuple(out)


def corpus() -> list[tuple[str, bytes]]:
    return list({der: (name, der) for name, der in reversed([*vector_items(), *demo_items()])}.values())


# ------------------------------------------------------------------ the plain derivation


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _ext_value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> Any:
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def _raw(cert: x509.Certificate, dotted: str) -> bytes | None:
    value = _ext_value(cert, x509.ObjectIdentifier(dotted))
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _capabilities(raw: bytes | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    try:
        out = []
        for item in asn1_core.SequenceOf.load(raw, spec=asn1_core.Sequence):
            oid = item[0] if len(item) else None
            if isinstance(oid, asn1_core.Any):
                oid = oid.parse(asn1_core.ObjectIdentifier)
            if isinstance(oid, asn1_core.ObjectIdentifier):
                out.append(oid.dotted)
        return tuple(out)
    except Exception:
        return ()


def _template(cert: x509.Certificate) -> tuple[str | None, str | None]:
    oid = name = None
    v2 = _ext_value(cert, x509.ObjectIdentifier(certs_x509.OID_MS_TEMPLATE_V2))
    if isinstance(v2, x509.MSCertificateTemplate):
        oid = v2.template_id.dotted_string
    elif isinstance(v2, x509.UnrecognizedExtension):
        try:
            first = asn1_core.Sequence.load(v2.value)[0]
            if not isinstance(first, asn1_core.ObjectIdentifier):
                first = first.parse(asn1_core.ObjectIdentifier)
            oid = first.dotted
        except Exception:
            oid = None
    v1 = _raw(cert, certs_x509.OID_MS_TEMPLATE_V1)
    if v1 is not None:
        for spec in (asn1_core.BMPString, asn1_core.UTF8String, asn1_core.PrintableString):
            try:
                name = str(spec.load(v1).native)
                break
            except Exception:
                continue
    return oid, name


def _key(cert: x509.Certificate) -> tuple[str, int | None, str | None, bytes]:
    try:
        key = cert.public_key()
    except Exception:
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


def _text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:
        return repr(name)


def reference(der: bytes) -> dict[str, Any] | str:
    """Every CertInfo field the plain way, or the CertificateError message."""
    if not der:
        return "empty value where a certificate was expected"
    try:
        cert = x509.load_der_x509_certificate(der)
        extensions = list(cert.extensions)  # malformed extensions raise here, as in the parser
        subject, issuer = cert.subject, cert.issuer
        key_type, key_size, curve, spki = _key(cert)
        subject_text = _text(subject)
        issuer_der = issuer.public_bytes()
        serial = cert.serial_number
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    except Exception as exc:
        return f"not a readable X.509 certificate ({_first_line(exc)})"
    eku = _ext_value(cert, x509.ExtensionOID.EXTENDED_KEY_USAGE)
    ku = _ext_value(cert, x509.ExtensionOID.KEY_USAGE)
    key_usage = None
    if ku is not None:
        flags = {
            f
            for f in (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
            )
            if getattr(ku, f)
        }
        if ku.key_agreement:
            flags |= {f for f in ("encipher_only", "decipher_only") if getattr(ku, f)}
        key_usage = frozenset(flags)
    san = _ext_value(cert, x509.ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    utf8: list[str] = []
    for other in san.get_values_for_type(x509.OtherName) if san is not None else []:
        if other.type_id.dotted_string == certs_x509.OID_SMTP_UTF8_MAILBOX:
            with contextlib.suppress(Exception):
                utf8.append(str(asn1_core.UTF8String.load(other.value).native))
    bc = _ext_value(cert, x509.ExtensionOID.BASIC_CONSTRAINTS)
    ski = _ext_value(cert, x509.ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    aki = _ext_value(cert, x509.ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    cdp = _ext_value(cert, x509.ExtensionOID.CRL_DISTRIBUTION_POINTS)
    aia = _ext_value(cert, x509.ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    policies = _ext_value(cert, x509.ExtensionOID.CERTIFICATE_POLICIES)
    uri = x509.UniformResourceIdentifier
    access = [
        (d.access_method, d.access_location.value) for d in aia or [] if isinstance(d.access_location, uri)
    ]
    template_oid, template_name = _template(cert)
    cns = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    sig_oid = cert.signature_algorithm_oid.dotted_string
    return {
        "der": der,
        "sha256": hashlib.sha256(der).hexdigest(),
        "subject": subject_text,
        "issuer": _text(issuer),
        "issuer_der": issuer_der,
        "serial": format(serial, "x"),
        "serial_number": serial,
        "not_before": not_before,
        "not_after": not_after,
        "subject_cn": str(cns[0].value) if cns else None,
        "subject_emails": tuple(str(a.value) for a in subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)),
        "san_emails": tuple(san.get_values_for_type(x509.RFC822Name)) if san is not None else (),
        "san_utf8_emails": tuple(utf8),
        "eku": tuple(o.dotted_string for o in eku) if eku is not None else None,
        "key_usage": key_usage,
        "key_type": key_type,
        "key_size": key_size,
        "curve": curve,
        "signature_hash": certs_x509._SIGNATURE_HASHES.get(sig_oid),
        "signature_oid": sig_oid,
        "ski": ski.digest if ski is not None else None,
        "aki": aki.key_identifier if aki is not None else None,
        "is_ca": bc.ca if bc is not None else None,
        "path_length": bc.path_length if bc is not None else None,
        "template_oid": template_oid,
        "template_name": template_name,
        "smime_capabilities": _capabilities(_raw(cert, certs_x509.OID_SMIME_CAPABILITIES)),
        "crl_urls": tuple(n.value for dp in cdp or [] for n in dp.full_name or [] if isinstance(n, uri)),
        "ocsp_urls": tuple(v for m, v in access if m == x509.AuthorityInformationAccessOID.OCSP),
        "ca_issuer_urls": tuple(v for m, v in access if m == x509.AuthorityInformationAccessOID.CA_ISSUERS),
        "policy_oids": tuple(p.policy_identifier.dotted_string for p in policies)
        if policies is not None
        else (),
        "self_issued": subject == issuer,
        "public_key_der": spki,
        "extension_oids": tuple(e.oid.dotted_string for e in extensions),
        "critical_extension_oids": tuple(e.oid.dotted_string for e in extensions if e.critical),
        "aki_cert_serial": aki.authority_cert_serial_number if aki is not None else None,
    }


def parsed(der: bytes) -> CertInfo | str:
    try:
        return parse_certificate.__wrapped__(der)  # type: ignore[attr-defined]  # past the lru_cache
    except CertificateError as exc:
        return str(exc)


def _clear_caches() -> None:
    for cache_ in (
        certs_x509._ISSUERS,
        certs_x509._DOTTED,
        certs_x509._SHARED,
        certs_x509._KEY_KINDS,
        certs_x509._NAME_ATTRS,
        certs_x509._KEY_USAGES,
    ):
        cache_.clear()


FIELDS = [f.name for f in dataclasses.fields(CertInfo)]


def _differences(info: CertInfo | str, want: dict[str, Any] | str) -> list[str]:
    if isinstance(info, str) or isinstance(want, str):
        return [] if info == want else [f"{info!r} != {want!r}"[:300]]
    out = []
    for name in FIELDS:
        got, expected = getattr(info, name), want[name]
        if got != expected or type(got) is not type(expected) or repr(got) != repr(expected):
            out.append(f"{name}: {got!r} != {expected!r}"[:300])
    return out


# ------------------------------------------------------------------ parse_certificate


def test_corpus_is_large_and_varied() -> None:
    items = corpus()
    infos = [i for i in (parsed(d) for _, d in items) if isinstance(i, CertInfo)]
    if _vectors_dir() is not None:
        assert len(infos) > 500
    assert len({i.key_type for i in infos}) >= (4 if _vectors_dir() else 1)
    assert any(i.template_oid for i in infos) and any(i.smime_capabilities for i in infos)
    assert any(i.self_issued for i in infos) and any(not i.self_issued for i in infos)
    assert any(isinstance(i, str) for i in (parsed(d) for _, d in items))  # errors are covered too


@pytest.mark.parametrize("warm", [False, True], ids=["cold caches", "warm caches"])
def test_every_field_and_error_equals_the_plain_derivation(warm: bool) -> None:
    items = corpus()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns about odd name attributes
        _clear_caches()
        if warm:  # every cache filled by other certificates first, in another order
            for _, der in reversed(items):
                parsed(der)
        problems = {}
        for where, der in items:
            diff = _differences(parsed(der), reference(der))
            if diff:
                problems[where] = diff
    assert not problems, list(problems.items())[:5]


def test_certinfo_is_the_dataclass_it_always_was() -> None:
    """_facts fills __dict__ directly: same fields in the same order, ==, hash and repr."""
    for _, der in demo_items()[:40]:
        info = parsed(der)
        if isinstance(info, str):
            continue
        assert list(vars(info)) == FIELDS
        again = CertInfo(**vars(info))
        assert again == info and hash(again) == hash(info) and repr(again) == repr(info)
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.subject = "x"  # type: ignore[misc]
        # the trust-path facts stay out of equality, as derived data
        assert dataclasses.replace(info, extension_oids=None, aki_cert_serial=7) == info


def test_raw_issuer_is_the_encoded_issuer() -> None:
    """The issuer cache key is the issuer exactly as encoded (asn1crypto's full parse agrees)."""
    checked = 0
    for _, der in corpus():
        try:
            x509.load_der_x509_certificate(der)
        except Exception:
            continue
        assert (
            certs_x509._raw_issuer(der) == asn1_x509.Certificate.load(der)["tbs_certificate"]["issuer"].dump()
        )
        checked += 1
    assert checked > 100


def _cert_with_issuer(issuer: x509.Name, subject: x509.Name | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject or issuer)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.DER)


def test_issuer_cache_keeps_differently_encoded_equal_names_apart() -> None:
    """Names equal to cryptography (same text) but encoded differently keep their own issuer_der."""
    printable = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Same CA", _ASN1Type.PrintableString)])
    utf8 = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Same CA", _ASN1Type.UTF8String)])
    assert printable == utf8 and printable.public_bytes() != utf8.public_bytes()
    _clear_caches()
    for first, second in ((printable, utf8), (utf8, printable)):
        a, b = parsed(_cert_with_issuer(first)), parsed(_cert_with_issuer(second, subject=first))
        assert isinstance(a, CertInfo) and isinstance(b, CertInfo)
        assert (a.issuer_der, b.issuer_der) == (first.public_bytes(), second.public_bytes())
        assert a.issuer == b.issuer == "CN=Same CA"
        assert a.self_issued and b.self_issued  # cryptography's Name equality, as before


def test_escaped_and_unusual_name_values_match_rfc4514_string() -> None:
    values = [
        "a,b",
        "+lead",
        "#hash",
        " lead",
        "trail ",
        " ",
        'q"uote',
        "semi;colon",
        "x<y>z",
        "back\\slash",
        "nul\0",
    ]
    values += ["Ünïcödé", "plain", "a=b", "tab\tin", "new\nline", "end\n "]
    for value in values:
        name = x509.Name(
            [
                x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, value)]),
                x509.RelativeDistinguishedName(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "O" + value),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, value + "U"),
                    ]
                ),
                x509.RelativeDistinguishedName([x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4"), value)]),
            ]
        )
        info = parsed(_cert_with_issuer(name))
        assert isinstance(info, CertInfo)
        assert info.subject == info.issuer == name.rfc4514_string(), value


# ------------------------------------------------------------------ trust fast path


AT = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


def test_leaf_checkable_from_parsed_facts_equals_walking_the_extensions() -> None:
    store = TrustStore([], at=AT)
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for where, der in corpus():
            info = parsed(der)
            if isinstance(info, str):
                continue
            by_walk = _checkable_by_extensions(der) is not None
            assert (store._leaf_checkable(info) is not None) == (
                by_walk and info.signature_hash in {"sha1", "sha224", "sha256", "sha384", "sha512"}
            ), where
            by_hand = dataclasses.replace(info, extension_oids=None, critical_extension_oids=None)
            assert (store._leaf_checkable(by_hand) is None) == (store._leaf_checkable(info) is None), where
            compared += 1
    assert compared > 100


def _demo() -> tuple[Any, dt.datetime]:
    from workers.demo_tenant import COLLECTED_AT, DATA_DIR
    from workers.sources.snapshot import Snapshot

    return Snapshot(DATA_DIR), dt.datetime.fromisoformat(COLLECTED_AT.replace("Z", "+00:00"))


def test_demo_tenant_fast_path_results_equal_full_validation() -> None:
    """Every PathResult field, for every leaf of every demo user in audit order (test_trust
    compares a synthetic batch); then every leaf again through the fast path itself."""
    from workers.diagnosis import trust_store_for

    snap, at = _demo()
    fast, full = trust_store_for(snap.tenant, at), trust_store_for(snap.tenant, at)
    leaves = [
        (user.key, leaf, value.chain_extras)
        for user in snap.iter_users()
        for value in user.values
        for leaf in value.end_entities
        if leaf.is_ca is not True
    ]
    for key, leaf, extras in leaves:
        assert fast.validate(leaf, extras) == full.validate_full(leaf, extras), (key, leaf.subject)
    assert len(leaves) > 50 and fast.stats["fast"] > 20
    before = fast.stats["fast"]
    for key, leaf, extras in leaves:
        fast._results.clear()  # computed again: calibrated chains now take the fast path
        got, want = fast.validate(leaf, extras), full.validate_full(leaf, extras)
        # under a failed chain the fast path gives the chain's sentence (by design), else all equal
        assert (got.ok, got.reason_code, got.path, got.anchor_sha256, got.needed_aia_fetch) == (
            want.ok,
            want.reason_code,
            want.path,
            want.anchor_sha256,
            want.needed_aia_fetch,
        ), (key, leaf.subject)
        if got.ok or got.reason_code in ("expired", "signature"):
            assert got == want, (key, leaf.subject)
    assert fast.stats["fast"] - before > len(leaves) // 2


def test_leaf_without_parsed_facts_validates_the_same() -> None:
    """A CertInfo made by hand (no extension facts) takes the extension walk, with the same result."""
    from workers.diagnosis import trust_store_for

    snap, at = _demo()
    a, b = trust_store_for(snap.tenant, at), trust_store_for(snap.tenant, at)
    compared = 0
    for user in snap.iter_users():
        for value in user.values:
            for leaf in value.end_entities:
                if leaf.is_ca is True:
                    continue
                bare = dataclasses.replace(
                    leaf, extension_oids=None, critical_extension_oids=None, aki_cert_serial=None
                )
                assert a.validate(leaf, value.chain_extras) == b.validate(bare, value.chain_extras)
                compared += 1
    assert compared > 50 and a.stats["fast"] == b.stats["fast"] > 0
