"""The parsers, one behaviour a user would notice per test.

SST (MS-OSHARED 2.3.9.1), PKCS#7 as Outlook publishes it (DER and BER), the X.509 facts
the checks read, byte values in Exchange Online exports, LDIF from ldifde, JSON from
Exchange Online and Graph, and the three time formats those exports use.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from asn1crypto import core as asn1_core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

from tests.support.pki_factory import (
    CAP_3DES,
    CAP_AES128,
    CAP_AES256,
    EKU_ANY,
    EKU_CLIENT_AUTH,
    EKU_EMAIL,
    Issued,
    certs_only_pkcs7,
    exo_bytes,
    generalized_time,
    ldif_bytes,
    make_ca,
    make_leaf,
    new_key,
    outlook_pkcs7,
    to_ber,
)
from workers.certs.encoding import decode_byte_list, decode_bytes
from workers.certs.pkcs7 import (
    OID_MS_ENCRYPTION_KEY_PREFERENCE,
    OID_SMIME_ENCRYPTION_KEY_PREFERENCE,
    parse_pkcs7,
)
from workers.certs.sst import read_sst, write_sst
from workers.certs.x509 import parse_certificate, parse_certificate_pem_or_der
from workers.errors import (
    CertificateError,
    EncodingError,
    JsonExportError,
    LdifError,
    Pkcs7Error,
    SstError,
)
from workers.facts import PublishedValue
from workers.sources.parsing import (
    ad_cert_values,
    ad_user_from_ldif,
    entra_from_json,
    exo_cert_values,
    exo_from_json,
    iter_ldif,
    load_json_records,
    parse_json_bytes,
    parse_time,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)
YEAR = timedelta(days=365)


@cache
def pki() -> tuple[Issued, Issued]:
    root = make_ca("Test Root CA", not_before=T0, not_after=T0 + 10 * YEAR)
    ca = make_ca(
        "Test Issuing CA",
        issuer=root,
        not_before=T0,
        not_after=T0 + 5 * YEAR,
        path_length=0,
        organization="Contoso",
    )
    return root, ca


def leaf(name: str = "Alice", **kw: Any) -> Issued:
    kw.setdefault("emails", [f"{name.lower()}@contoso.test"])
    return make_leaf(pki()[1], name, not_before=T0, not_after=T0 + YEAR, **kw)


@cache
def alice_pair() -> tuple[Issued, Issued]:
    """Alice's encryption and signing certificates, as Outlook publishes two-cert users."""
    enc = leaf("Alice", key_usage_flags={"key_encipherment"})
    sig = leaf("Alice", key_usage_flags={"digital_signature"})
    return enc, sig


# --- SST ---------------------------------------------------------------------------------

# Wine's dlls/crypt32/tests/store.c: bigCert (a 124-byte unsigned test certificate) and the
# 156-byte serialized store CertSaveStore writes for a memory store holding only it.
WINE_BIG_CERT = bytes.fromhex(
    "307a020101300206003015311330110603550403130a4a75616e204c616e6700"
    "3022180f31363031303130313030303030305a180f3136303130313031303030"
    "3030305a3015311330110603550403130a4a75616e204c616e67003007300206"
    "00030100a316301430120603551d130101ff040830060101ff020101"
)
WINE_STORE = bytes.fromhex("000000004345525420000000010000007c000000") + WINE_BIG_CERT + bytes(12)


def test_sst_one_certificate_store_matches_wine_layout() -> None:
    assert len(WINE_STORE) == 156
    assert write_sst([WINE_BIG_CERT]) == WINE_STORE
    assert read_sst(WINE_STORE) == [WINE_BIG_CERT]


def test_sst_round_trip_keeps_certificates_in_order() -> None:
    root, ca = pki()
    certs = [leaf().der, ca.der, root.der]
    assert read_sst(write_sst(certs)) == certs
    assert read_sst(write_sst([])) == []


def test_sst_skips_property_elements_before_the_certificate() -> None:
    root, ca = pki()
    sha1_prop = struct.pack("<III", 3, 1, 20) + bytes(range(20))  # CERT_SHA1_HASH_PROP_ID
    name = "Issuing CA".encode("utf-16-le") + b"\0\0"
    friendly = struct.pack("<III", 11, 1, len(name)) + name  # CERT_FRIENDLY_NAME_PROP_ID
    crl = struct.pack("<III", 0x21, 1, 4) + b"\x30\x02\x05\x00"  # a CRL element
    cert = struct.pack("<III", 0x20, 1, len(ca.der)) + ca.der
    data = b"\0\0\0\0CERT" + sha1_prop + friendly + cert + crl + bytes(12)
    assert read_sst(data) == [ca.der]


def test_sst_without_end_marker_is_accepted() -> None:
    assert read_sst(WINE_STORE[:-12]) == [WINE_BIG_CERT]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\0\0\0\0CER", "too short"),
        (b"MZ\x90\0\x03\0\0\0" + bytes(40), "not a serialized certificate store"),
        (b"-----BEGIN CERTIFICATE-----\n", "not a serialized certificate store"),
        (WINE_STORE[:100], "claims 124 bytes, only 80 left"),
        (WINE_STORE[:150], "element header truncated at byte 144"),
        (WINE_STORE[:-12] + struct.pack("<III", 0, 0, 5), "end marker at byte 144 has non-zero length 5"),
        (WINE_STORE[:12] + b"\x02" + WINE_STORE[13:], "encoding 2, expected 1"),
    ],
)
def test_bad_sst_raises_sst_error_saying_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(SstError, match=message):
        read_sst(data)


# --- PKCS#7 ------------------------------------------------------------------------------


def test_certs_only_pkcs7_gives_all_certificates_unsigned() -> None:
    root, ca = pki()
    alice = leaf()
    blob = parse_pkcs7(certs_only_pkcs7([alice, ca]))
    assert set(blob.certificates) == {alice.der, ca.der}
    assert blob.signed is False
    assert blob.default_marker is None
    assert blob.smime_capabilities is None


def test_outlook_blob_marks_the_encryption_certificate() -> None:
    _, ca = pki()
    enc, sig = alice_pair()
    raw = outlook_pkcs7([sig, enc, ca], signer=sig, default=enc)
    blob = parse_pkcs7(raw)
    assert blob.signed is True
    assert set(blob.certificates) == {sig.der, enc.der, ca.der}
    assert blob.default_marker is not None
    assert blob.default_marker.attribute in (
        OID_SMIME_ENCRYPTION_KEY_PREFERENCE,
        OID_MS_ENCRYPTION_KEY_PREFERENCE,
    )
    assert blob.default_marker.serial == enc.cert.serial_number
    assert blob.smime_capabilities == (CAP_AES256, "2.16.840.1.101.3.4.1.22", CAP_AES128)

    value = PublishedValue.from_bytes("ad.userSMIMECertificate", 0, raw)
    assert value.kind == "pkcs7" and value.error is None
    marked = value.marked_certificate()
    assert marked is not None and marked.sha256 == enc.sha256
    assert {c.sha256 for c in value.end_entities} == {enc.sha256, sig.sha256}
    assert [c.sha256 for c in value.chain_extras] == [ca.sha256]


def _with_only_attribute(raw: bytes, keep_oid: str) -> bytes:
    """The Outlook blob with just one of the two marker attributes left in."""
    info = cms.ContentInfo.load(raw)
    signer = info["content"]["signer_infos"][0]
    attrs = [
        a for a in signer["signed_attrs"] if a["type"].dotted not in _MARKERS or a["type"].dotted == keep_oid
    ]
    signer["signed_attrs"] = cms.CMSAttributes([cms.CMSAttribute.load(a.dump()) for a in attrs])
    return info.dump(force=True)


_MARKERS = (OID_SMIME_ENCRYPTION_KEY_PREFERENCE, OID_MS_ENCRYPTION_KEY_PREFERENCE)


@pytest.mark.parametrize("oid", _MARKERS)
def test_either_marker_attribute_alone_names_the_certificate(oid: str) -> None:
    _, ca = pki()
    enc, sig = alice_pair()
    raw = _with_only_attribute(outlook_pkcs7([sig, enc, ca], signer=sig, default=enc), oid)
    blob = parse_pkcs7(raw)
    assert blob.default_marker is not None and blob.default_marker.attribute == oid
    marked = PublishedValue.from_bytes("exo.UserSMimeCertificate", 0, raw).marked_certificate()
    assert marked is not None and marked.sha256 == enc.sha256


def spoil_attribute(blob: bytes, oid: str) -> bytes:
    """Turn the value of the signed attribute `oid` into an OCTET STRING of the same length."""
    oid_der = asn1_core.ObjectIdentifier(oid).dump()
    at = blob.rindex(oid_der) + len(oid_der)  # the last one: signed attributes follow the certificates
    assert blob[at] == 0x31  # SET OF values
    value = at + 2 + (blob[at + 1] & 0x7F if blob[at + 1] & 0x80 else 0)
    return blob[:value] + b"\x04" + blob[value + 1 :]


@pytest.mark.parametrize(
    ("spoilt", "marker_from"),
    [
        (OID_MS_ENCRYPTION_KEY_PREFERENCE, OID_SMIME_ENCRYPTION_KEY_PREFERENCE),
        (OID_SMIME_ENCRYPTION_KEY_PREFERENCE, OID_MS_ENCRYPTION_KEY_PREFERENCE),
        ("1.2.840.113549.1.9.15", OID_SMIME_ENCRYPTION_KEY_PREFERENCE),
    ],
)
def test_malformed_signed_attribute_does_not_hide_the_certificates(spoilt: str, marker_from: str) -> None:
    # Regression: a junk marker or capabilities attribute used to make the whole blob
    # "not readable PKCS#7", so a published value with good certificates showed as invalid.
    _, ca = pki()
    enc, sig = alice_pair()
    raw = spoil_attribute(outlook_pkcs7([sig, enc, ca], signer=sig, default=enc), spoilt)
    blob = parse_pkcs7(raw)
    assert set(blob.certificates) == {sig.der, enc.der, ca.der}
    assert blob.default_marker is not None and blob.default_marker.attribute == marker_from
    assert (blob.smime_capabilities is None) == (spoilt == "1.2.840.113549.1.9.15")
    marked = PublishedValue.from_bytes("ad.userSMIMECertificate", 0, raw).marked_certificate()
    assert marked is not None and marked.sha256 == enc.sha256


def test_blob_without_default_has_no_marker() -> None:
    enc, sig = alice_pair()
    value = PublishedValue.from_bytes(
        "ad.userSMIMECertificate", 0, outlook_pkcs7([sig, enc], signer=sig, default=None)
    )
    assert value.marker is None and value.marked_certificate() is None


def test_ber_indefinite_length_blob_reads_like_der() -> None:
    _, ca = pki()
    enc, sig = alice_pair()
    der = outlook_pkcs7([sig, enc, ca], signer=sig, default=enc)
    ber = to_ber(der, keep=frozenset({sig.der, enc.der, ca.der}))
    assert ber != der and ber[:2] == b"\x30\x80"  # really indefinite length
    assert b"\x24\x80" in ber  # and a constructed OCTET STRING
    from_der, from_ber = parse_pkcs7(der), parse_pkcs7(ber)
    assert from_ber.certificates == from_der.certificates
    assert from_ber.default_marker == from_der.default_marker
    assert from_ber.smime_capabilities == from_der.smime_capabilities
    value = PublishedValue.from_bytes("ad.userSMIMECertificate", 0, ber)
    assert value.kind == "pkcs7"
    marked = value.marked_certificate()
    assert marked is not None and marked.sha256 == enc.sha256


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x30\x03\x02\x01\x01", "not readable PKCS#7"),
        (bytes.fromhex("300b06092a864886f70d010701"), "not signedData"),  # ContentInfo of type data
    ],
)
def test_bad_pkcs7_raises_pkcs7_error(data: bytes, message: str) -> None:
    with pytest.raises(Pkcs7Error, match=message):
        parse_pkcs7(data)


def test_pkcs7_without_certificates_is_an_error() -> None:
    with pytest.raises(Pkcs7Error, match="no certificate"):
        parse_pkcs7(certs_only_pkcs7([]))


def test_truncated_blob_is_an_invalid_value_not_an_exception() -> None:
    enc, sig = alice_pair()
    raw = outlook_pkcs7([sig, enc], signer=sig, default=enc)
    value = PublishedValue.from_bytes("ad.userSMIMECertificate", 3, raw[: len(raw) // 2])
    assert value.kind == "invalid" and value.certificates == ()
    assert value.error and "PKCS#7" in value.error
    assert value.size == len(raw) // 2 and value.index == 3


# --- X.509 facts -------------------------------------------------------------------------


def test_bare_der_value_is_kind_der() -> None:
    alice = leaf()
    value = PublishedValue.from_bytes("ad.userCertificate", 0, alice.der)
    assert value.kind == "der" and [c.sha256 for c in value.end_entities] == [alice.sha256]


def test_san_rfc822_and_subject_email_addresses() -> None:
    info = parse_certificate(
        leaf(
            "Alice", emails=["alice@contoso.test", "a.smith@contoso.test"], subject_email="Alice@Contoso.test"
        ).der
    )
    assert info.san_emails == ("alice@contoso.test", "a.smith@contoso.test")
    assert info.subject_emails == ("Alice@Contoso.test",)
    assert info.emails == ("alice@contoso.test", "a.smith@contoso.test", "Alice@Contoso.test")
    assert info.subject_cn == "Alice"


def test_smtputf8_mailbox_other_name() -> None:
    _, ca = pki()
    key = new_key("ec")
    mailbox = "用户@例子.test"
    san = x509.SubjectAlternativeName(
        [
            x509.OtherName(x509.ObjectIdentifier("1.3.6.1.5.5.7.8.9"), asn1_core.UTF8String(mailbox).dump()),
            x509.OtherName(
                x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), asn1_core.UTF8String("u@x").dump()
            ),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Yònghù")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + YEAR)
        .add_extension(san, critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    info = parse_certificate(cert.public_bytes(serialization.Encoding.DER))
    assert info.san_utf8_emails == (mailbox,)
    assert info.san_emails == ()
    assert info.emails == (mailbox,)


def test_eku_absent_versus_present() -> None:
    absent = parse_certificate(leaf(eku=None).der)
    assert absent.eku is None and absent.eku_allows_email
    email = parse_certificate(leaf(eku=(EKU_EMAIL, EKU_CLIENT_AUTH)).der)
    assert email.eku == (EKU_EMAIL, EKU_CLIENT_AUTH) and email.eku_allows_email
    client = parse_certificate(leaf(eku=(EKU_CLIENT_AUTH,)).der)
    assert client.eku == (EKU_CLIENT_AUTH,) and not client.eku_allows_email
    assert parse_certificate(leaf(eku=(EKU_ANY,)).der).eku_allows_email


@pytest.mark.parametrize(
    ("kind", "flags", "can_encrypt", "can_sign"),
    [
        ("rsa", None, True, True),  # RSA without keyUsage: anything goes
        ("rsa", {"digital_signature", "key_encipherment"}, True, True),
        ("rsa", {"key_encipherment"}, True, False),
        ("rsa", {"digital_signature"}, False, True),
        ("rsa", {"content_commitment"}, False, True),
        ("rsa", {"data_encipherment"}, False, False),
        ("ec", {"key_agreement"}, True, False),
        ("ec", {"digital_signature", "key_agreement"}, True, True),
        ("ec", {"digital_signature"}, False, True),
        ("ec", {"key_encipherment"}, False, False),  # keyEncipherment means nothing for EC
        ("ec", None, False, True),  # EC needs keyAgreement spelled out to encrypt
        ("ed25519", None, False, True),
        ("ed25519", {"digital_signature", "key_agreement"}, False, True),  # Ed25519 never encrypts
    ],
)
def test_key_usage_decides_encrypt_and_sign(
    kind: str, flags: set[str] | None, can_encrypt: bool, can_sign: bool
) -> None:
    key: Any = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else new_key(kind)
    info = parse_certificate(leaf(key=key, key_usage_flags=flags).der)
    assert info.key_usage == (frozenset(flags) if flags is not None else None)
    assert (info.can_encrypt, info.can_sign) == (can_encrypt, can_sign)


def test_encipher_only_is_reported_with_key_agreement() -> None:
    info = parse_certificate(leaf(key=new_key("ec"), key_usage_flags={"key_agreement", "encipher_only"}).der)
    assert info.key_usage == frozenset({"key_agreement", "encipher_only"})


@pytest.mark.parametrize(("curve", "size"), [("secp256r1", 256), ("secp384r1", 384), ("secp521r1", 521)])
def test_ec_curve_names(curve: str, size: int) -> None:
    info = parse_certificate(leaf(key=new_key("ec", curve=curve), key_usage_flags={"key_agreement"}).der)
    assert (info.key_type, info.curve, info.key_size) == ("EC", curve, size)


def test_rsa_and_ed25519_key_facts() -> None:
    rsa_info = parse_certificate(leaf().der)
    assert (rsa_info.key_type, rsa_info.key_size, rsa_info.curve) == ("RSA", 2048, None)
    ed = parse_certificate(leaf(key=ed25519.Ed25519PrivateKey.generate(), key_usage_flags=None).der)
    assert (ed.key_type, ed.curve) == ("Ed25519", None)
    assert ed.key_id != rsa_info.key_id


def test_sha1_signature_detected() -> None:
    assert parse_certificate(leaf(hash_name="sha1").der).signature_hash == "sha1"
    modern = parse_certificate(leaf().der)
    assert modern.signature_hash == "sha256"
    assert modern.signature_oid == "1.2.840.113549.1.1.11"


def test_microsoft_template_v2_oid_and_v1_name() -> None:
    oid = "1.3.6.1.4.1.311.21.8.16498471.1234567.1.2.3.4"
    info = parse_certificate(leaf(template_oid=oid, template_name="SmimeUser").der)
    assert (info.template_oid, info.template_name) == (oid, "SmimeUser")
    plain = parse_certificate(leaf().der)
    assert (plain.template_oid, plain.template_name) == (None, None)


def test_smime_capabilities_extension() -> None:
    info = parse_certificate(leaf(capabilities=[CAP_AES256, CAP_3DES]).der)
    assert info.smime_capabilities == (CAP_AES256, CAP_3DES)
    assert parse_certificate(leaf(capabilities=None).der).smime_capabilities is None
    assert parse_certificate(leaf(capabilities=[]).der).smime_capabilities == ()


def test_cdp_and_aia_urls() -> None:
    info = parse_certificate(
        leaf(
            crl_urls=["http://pki.contoso.test/ca.crl", "ldap:///CN=Test%20Issuing%20CA,CN=CDP"],
            ocsp_urls=["http://ocsp.contoso.test"],
            ca_issuer_urls=["http://pki.contoso.test/ca.cer"],
        ).der
    )
    assert info.crl_urls == ("http://pki.contoso.test/ca.crl", "ldap:///CN=Test%20Issuing%20CA,CN=CDP")
    assert info.ocsp_urls == ("http://ocsp.contoso.test",)
    assert info.ca_issuer_urls == ("http://pki.contoso.test/ca.cer",)
    bare = parse_certificate(leaf().der)
    assert (bare.crl_urls, bare.ocsp_urls, bare.ca_issuer_urls) == ((), (), ())


def test_smime_br_policy_oids() -> None:
    info = parse_certificate(
        leaf(policies=["2.23.140.1.5.1.2", "1.3.6.1.4.1.311.21.8.1", "2.23.140.1.5.4.3"]).der
    )
    assert info.policy_oids == ("2.23.140.1.5.1.2", "1.3.6.1.4.1.311.21.8.1", "2.23.140.1.5.4.3")
    assert info.smime_br_policies == ("2.23.140.1.5.1.2", "2.23.140.1.5.4.3")
    assert parse_certificate(leaf().der).smime_br_policies == ()


def test_ca_and_leaf_basic_constraints_and_identity() -> None:
    root, ca = pki()
    ca_info = parse_certificate(ca.der)
    assert (ca_info.is_ca, ca_info.path_length, ca_info.self_issued) == (True, 0, False)
    assert ca_info.issuer_cn == "Test Root CA"
    assert parse_certificate(root.der).self_issued is True
    alice = parse_certificate(leaf(serial=0x0ABC).der)
    assert alice.is_ca is False and alice.serial == "abc" and alice.serial_number == 0xABC
    assert alice.aki == ca_info.ski
    assert alice.not_before == T0 and alice.not_before.tzinfo is not None
    assert "alice@contoso.test" in alice.short() and "Test Issuing CA" in alice.short()


def test_pem_file_with_two_certificates() -> None:
    root, ca = pki()
    data = b"Bag Attributes\n" + ca.pem + b"\n" + root.pem
    infos = parse_certificate_pem_or_der(data)
    assert [i.sha256 for i in infos] == [ca.sha256, root.sha256]
    assert [i.sha256 for i in parse_certificate_pem_or_der(root.der)] == [root.sha256]


@pytest.mark.parametrize(
    "data",
    [b"", b"\x30\x03\x02\x01\x01", b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"],
)
def test_unreadable_certificate_raises_certificate_error(data: bytes) -> None:
    with pytest.raises(CertificateError):
        parse_certificate_pem_or_der(data)


# --- byte values in exports --------------------------------------------------------------


def test_base64_with_whitespace_and_line_breaks() -> None:
    raw = bytes(range(256))
    text = base64.encodebytes(raw).decode()  # 76-column lines
    assert decode_bytes("  " + text.replace("\n", "\r\n ") + "\t") == raw


def test_int_array_is_one_value() -> None:
    assert decode_bytes([48, 3, 2, 1, 255, 0]) == b"\x30\x03\x02\x01\xff\x00"
    assert decode_byte_list([48, 3, 2, 1, 255, 0]) == [b"\x30\x03\x02\x01\xff\x00"]


@pytest.mark.parametrize(
    "bad", [[48, 256], [48, -1], [48, True], [48, 1.5], [48, "1"], "not base64!", 42, {"a": 1}]
)
def test_bad_byte_values_raise_encoding_error(bad: Any) -> None:
    with pytest.raises(EncodingError):
        decode_bytes(bad)


def test_multi_valued_property_as_list_of_base64_strings() -> None:
    a, b = leaf().der, leaf("Bob").der
    assert decode_byte_list([exo_bytes(a), exo_bytes(b)]) == [a, b]
    assert decode_byte_list([list(a), list(b)]) == [a, b]  # ConvertTo-Json of byte[][]
    assert decode_byte_list(None) == [] and decode_byte_list("") == [] and decode_byte_list([]) == []


def test_exo_cert_values_keep_a_bad_value_as_its_error() -> None:
    a = leaf().der
    record = {"UserCertificate": [exo_bytes(a), "%%%"], "UserSMimeCertificate": list(a)}
    values = exo_cert_values(record)
    assert [loc for loc, _ in values] == [
        "exo.UserCertificate",
        "exo.UserCertificate",
        "exo.UserSMimeCertificate",
    ]
    assert values[0][1] == a and values[2][1] == a
    assert isinstance(values[1][1], EncodingError)


# --- LDIF --------------------------------------------------------------------------------


def _write(tmp_path: Path, data: bytes, name: str = "ad.ldif") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_ldif_base64_binary_values_and_binary_suffix(tmp_path: Path) -> None:
    alice = leaf()
    _, ca = pki()
    blob = certs_only_pkcs7([alice, ca])
    data = ldif_bytes(
        [
            (
                "CN=Alice,OU=Users,DC=contoso,DC=test",
                {
                    "objectGUID": [bytes(range(16))],
                    "mail": ["alice@contoso.test"],
                    "userCertificate;binary": [alice.der],
                    "userSMIMECertificate": [blob],
                    "whenChanged": [generalized_time(T0)],
                },
            )
        ]
    )
    [(dn, attrs)] = list(iter_ldif(_write(tmp_path, data)))
    assert dn == "CN=Alice,OU=Users,DC=contoso,DC=test"
    assert attrs["usercertificate"] == [alice.der]
    assert attrs["usersmimecertificate"] == [blob]
    assert ad_cert_values(attrs) == [("ad.userCertificate", alice.der), ("ad.userSMIMECertificate", blob)]
    user = ad_user_from_ldif(dn, attrs)
    assert user.mail == "alice@contoso.test"
    assert user.object_guid == "03020100-0504-0706-0809-0a0b0c0d0e0f"
    assert user.object_guid_b64 == base64.b64encode(bytes(range(16))).decode()
    assert user.when_changed == T0


LDIF_TEXT = (
    "version: 1\n"
    "\n"
    "# ldifde export\n"
    "dn: CN=Zoë Jiménez,OU=Users,DC=contoso,DC=test\n"
    "objectClass: user\n"
    "displayName: Zoë Jiménez\n"
    "description: a description long enough that ldifde folds it onto the next\n"
    "  line with a leading space\n"
    "userCertificate;binary:: MAMCAQE=\n"
    "proxyAddresses: SMTP:zoe@contoso.test\n"
    "proxyAddresses: smtp:zoe.jimenez@contoso.test\n"
    "\n"
    "dn: CN=Bob,OU=Users,DC=contoso,DC=test\n"
    "mail: bob@contoso.test\n"
)


def _check_ldif_text(records: list[tuple[str, dict[str, list[bytes]]]]) -> None:
    assert [dn for dn, _ in records] == [
        "CN=Zoë Jiménez,OU=Users,DC=contoso,DC=test",
        "CN=Bob,OU=Users,DC=contoso,DC=test",
    ]
    attrs = records[0][1]
    assert attrs["displayname"] == ["Zoë Jiménez".encode()]
    assert attrs["description"] == [
        b"a description long enough that ldifde folds it onto the next line with a leading space"
    ]
    assert attrs["usercertificate"] == [b"\x30\x03\x02\x01\x01"]
    assert attrs["proxyaddresses"] == [b"SMTP:zoe@contoso.test", b"smtp:zoe.jimenez@contoso.test"]
    assert records[1][1] == {"mail": [b"bob@contoso.test"]}


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda t: t.encode("utf-8"), id="utf-8"),
        pytest.param(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), id="utf-8-bom"),
        pytest.param(lambda t: t.replace("\n", "\r\n").encode("utf-8"), id="crlf"),
        pytest.param(
            lambda t: b"\xff\xfe" + t.replace("\n", "\r\n").encode("utf-16-le"), id="ldifde-u-utf16le"
        ),
        pytest.param(lambda t: t.encode("utf-16"), id="utf-16-native-bom"),
    ],
)
def test_ldif_encodings_line_endings_and_folding(tmp_path: Path, encode: Any) -> None:
    _check_ldif_text(list(iter_ldif(_write(tmp_path, encode(LDIF_TEXT)))))


@pytest.mark.parametrize(
    "text",
    [
        "dn: CN=Alice,DC=contoso,DC=test\nmail alice@contoso.test\n",  # no colon
        "dn: CN=Alice,DC=contoso,DC=test\nm\u00e9il: alice@contoso.test\n",  # non-ASCII attribute name
        "dn: CN=Alice,DC=contoso,DC=test\ndn: CN=Bob,DC=contoso,DC=test\n",  # two dn lines
        "dn: Alice\n",  # not a DN
        "mail: alice@contoso.test\n",  # record without dn
    ],
)
def test_malformed_ldif_raises_ldif_error_naming_the_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(LdifError, match=r"export\.ldif is not valid LDIF"):
        list(iter_ldif(_write(tmp_path, text.encode(), "export.ldif")))


def test_ldif_error_says_roughly_where(tmp_path: Path) -> None:
    text = "dn: CN=A,DC=x\nmail: a@x\n\ndn: CN=B,DC=x\nmail b@x\n"  # the bad line is line 5
    with pytest.raises(LdifError, match=r"near line 5 \(a line is not 'attribute: value'\)"):
        list(iter_ldif(_write(tmp_path, text.encode())))


def test_missing_or_odd_utf16_ldif_raises_ldif_error(tmp_path: Path) -> None:
    with pytest.raises(LdifError, match="cannot read"):
        list(iter_ldif(tmp_path / "absent.ldif"))
    with pytest.raises(LdifError):
        list(iter_ldif(_write(tmp_path, b"\xff\xfe" + "dn: CN=A".encode("utf-16-le") + b"\x00")))


# --- JSON --------------------------------------------------------------------------------

EXO_RECORD = {
    "Identity": "Alice Smith",
    "PrimarySmtpAddress": "alice@contoso.test",
    "EmailAddresses": ["SMTP:alice@contoso.test", "smtp:alice@contoso.mail.onmicrosoft.com"],
    "ExternalDirectoryObjectId": "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}",
    "IsDirSynced": "True",
    "HiddenFromAddressListsEnabled": False,
    "WhenChangedUTC": "/Date(1700000000000)/",
}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([EXO_RECORD], id="array"),
        pytest.param({"@odata.context": "x", "value": [EXO_RECORD]}, id="value-wrapper"),
        pytest.param(EXO_RECORD, id="single-object"),
    ],
)
def test_json_export_forms(tmp_path: Path, payload: Any) -> None:
    [record] = load_json_records(_write(tmp_path, json.dumps(payload).encode(), "exo-recipients.json"))
    exo = exo_from_json(record)
    assert exo.primary_smtp == "alice@contoso.test"
    assert exo.external_id == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert exo.is_dir_synced is True and exo.hidden is False
    assert exo.when_changed == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xef\xbb\xbf" + json.dumps([EXO_RECORD]).encode(), id="utf-8-bom"),
        pytest.param(json.dumps([EXO_RECORD], indent=2).encode("utf-16"), id="utf-16-bom"),
    ],
)
def test_json_with_bom(tmp_path: Path, raw: bytes) -> None:
    [record] = load_json_records(_write(tmp_path, raw, "exo-recipients.json"))
    assert record["Identity"] == "Alice Smith"


@pytest.mark.parametrize(
    "raw", [b"[{'Identity': 'single quotes'}]", b"[1, 2", b"\xff\xfe\x00", b"1" * 5000, b""]
)
def test_invalid_json_raises_json_export_error_with_file_name(raw: bytes) -> None:
    with pytest.raises(JsonExportError, match=r"exo-recipients\.json"):
        parse_json_bytes(raw, "exo-recipients.json")


def test_json_of_wrong_shape_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JsonExportError, match=r"entra-users\.json holds str"):
        load_json_records(_write(tmp_path, b'"hello"', "entra-users.json"))
    assert load_json_records(_write(tmp_path, b'[{"id": "x"}, 3, null]', "entra-users.json")) == [{"id": "x"}]


def test_entra_record() -> None:
    user = entra_from_json(
        {
            "id": "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
            "userPrincipalName": "alice@contoso.test",
            "proxyAddresses": ["SMTP:alice@contoso.test"],
            "onPremisesSyncEnabled": True,
            "onPremisesImmutableId": "AAECAwQFBgcICQoLDA0ODw==",
            "onPremisesLastSyncDateTime": "2026-11-20T05:40:00Z",
            "onPremisesProvisioningErrors": [{"category": "PropertyConflict"}],
            "serviceProvisioningErrors": None,
        }
    )
    assert user.id == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    assert user.sync_enabled is True
    assert user.last_sync == datetime(2026, 11, 20, 5, 40, tzinfo=UTC)
    assert user.provisioning_errors == [{"category": "PropertyConflict"}] and user.service_errors == []


# --- times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T05:40:00Z", datetime(2026, 11, 20, 5, 40, tzinfo=UTC)),
        ("2026-11-20T06:40:00+01:00", datetime(2026, 11, 20, 5, 40, tzinfo=UTC)),
        ("2026-11-20T05:40:00", datetime(2026, 11, 20, 5, 40, tzinfo=UTC)),  # naive means UTC
        ("2026-11-20T05:40:00.1234567Z", datetime(2026, 11, 20, 5, 40, 0, 123456, tzinfo=UTC)),
        ("20261120054000.0Z", datetime(2026, 11, 20, 5, 40, tzinfo=UTC)),
        ("20261120054000Z", datetime(2026, 11, 20, 5, 40, tzinfo=UTC)),
        ("/Date(1700000000000)/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("/Date(1700000000000+0100)/", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("/Date(-1000)/", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("yesterday", None),
        ("20261320054000.0Z", None),  # month 13
        ("/Date(99999999999999999999)/", None),  # past year 9999
    ],
)
def test_parse_time(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected
