"""Fuzzing the parsers: any input gives a result or one of our own errors, never a traceback.

Each parser gets arbitrary input *and* mutations (flipped, inserted, deleted bytes) of a
real input - a certificate, an Outlook PKCS#7 blob (DER and BER), an SST, an LDIF
export, a JSON export - so the fuzzer gets past the first length check into the code
that reads extensions, signed attributes, store elements and records.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.pki_factory import (
    CAP_3DES,
    EKU_CLIENT_AUTH,
    EKU_EMAIL,
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
from tests.support.strategies import mutations
from workers.certs.encoding import decode_byte_list, decode_bytes
from workers.certs.pkcs7 import Pkcs7Blob, parse_pkcs7
from workers.certs.sst import read_sst, write_sst
from workers.certs.x509 import CertInfo, parse_certificate, parse_certificate_pem_or_der
from workers.errors import SmimeDoctorError
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
    template_from_ldif,
)

# SMIME_FUZZ_EXAMPLES=20000 for a long hunt; the suite runs 300 per test.
FUZZ = settings(
    max_examples=int(os.environ.get("SMIME_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
T0 = datetime(2025, 6, 1, tzinfo=UTC)
R = TypeVar("R")


# --- seed material (built once) --------------------------------------------------------


@cache
def seeds() -> dict[str, Any]:
    root = make_ca("Fuzz Root", not_before=T0, not_after=T0 + timedelta(days=3650))
    ca = make_ca(
        "Fuzz Issuing CA",
        issuer=root,
        not_before=T0,
        not_after=T0 + timedelta(days=1800),
        path_length=0,
        crl_urls=["http://pki.fuzz.test/ca.crl"],
        ca_issuer_urls=["http://pki.fuzz.test/root.cer"],
        hash_name="sha1",
    )
    rich = make_leaf(
        ca,
        "Alice",
        not_before=T0,
        not_after=T0 + timedelta(days=365),
        emails=["alice@fuzz.test", "a.l@fuzz.test"],
        subject_email="alice@fuzz.test",
        upn="alice@fuzz.test",
        organization="Fuzz",
        eku=(EKU_EMAIL, EKU_CLIENT_AUTH),
        template_oid="1.3.6.1.4.1.311.21.8.1.2.3",
        template_name="User",
        capabilities=("2.16.840.1.101.3.4.1.42", CAP_3DES),
        crl_urls=["http://pki.fuzz.test/issuing.crl", "ldap:///CN=x"],
        ocsp_urls=["http://ocsp.fuzz.test"],
        ca_issuer_urls=["http://pki.fuzz.test/issuing.cer"],
        policies=["2.23.140.1.5.1.2", "1.2.3.4"],
    )
    ec_leaf = make_leaf(
        ca,
        "Bob",
        not_before=T0,
        not_after=T0 + timedelta(days=365),
        emails=["bob@fuzz.test"],
        key=new_key("ec", curve="secp384r1"),
        key_usage_flags={"key_agreement", "digital_signature"},
        eku=None,
        capabilities=None,
        ski=False,
    )
    signer = make_leaf(
        ca,
        "Alice (signing)",
        not_before=T0,
        not_after=T0 + timedelta(days=365),
        emails=["alice@fuzz.test"],
        key_usage_flags={"digital_signature"},
    )
    certs = [rich.der, ec_leaf.der, signer.der, ca.der, root.der]
    blob = outlook_pkcs7([signer, rich, ca], signer=signer, default=rich)
    ldif = ldif_bytes(
        [
            (
                "CN=Alice,OU=Users,DC=fuzz,DC=test",
                {
                    "objectClass": ["top", "person", "user"],
                    "objectGUID": [bytes(range(16))],
                    "sAMAccountName": ["alice"],
                    "mail": ["alice@fuzz.test"],
                    "proxyAddresses": ["SMTP:alice@fuzz.test", "smtp:al@fuzz.test"],
                    "whenChanged": [generalized_time(T0)],
                    "userAccountControl": ["512"],
                    "msExchHideFromAddressLists": ["FALSE"],
                    "userCertificate;binary": [rich.der],
                    "userSMIMECertificate": [blob],
                },
            ),
            (
                "CN=User,CN=Certificate Templates,CN=Public Key Services,CN=Services,CN=Configuration,DC=fuzz",
                {
                    "cn": ["User"],
                    "msPKI-Cert-Template-OID": ["1.3.6.1.4.1.311.21.8.1.2.3"],
                    "pKIExpirationPeriod": [b"\x00\x40\x39\x87\x2e\xe1\xfe\xff"],
                    "msPKI-Minimal-Key-Size": ["2048"],
                },
            ),
        ]
    )
    exo = [
        {
            "Identity": "Alice",
            "PrimarySmtpAddress": "alice@fuzz.test",
            "EmailAddresses": ["SMTP:alice@fuzz.test"],
            "ExternalDirectoryObjectId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "IsDirSynced": True,
            "WhenChangedUTC": "/Date(1700000000000)/",
            "UserCertificate": [exo_bytes(rich.der)],
            "UserSMimeCertificate": exo_bytes(blob, "ints"),
        }
    ]
    return {
        "certs": certs,
        "pem": rich.pem + ca.pem,
        "blob": blob,
        "ber": to_ber(blob, frozenset(certs)),
        "certs_only": certs_only_pkcs7([rich, ca]),
        "sst": write_sst([ca.der, root.der]),
        "ldif": ldif,
        "json": json.dumps(exo).encode(),
    }


def _spoil_attribute(blob: bytes, oid: str) -> bytes:
    """The blob with signed attribute `oid`'s value turned into an OCTET STRING (same length)."""
    oid_der = bytes.fromhex("06") + bytes([len(_OIDS[oid])]) + _OIDS[oid]
    at = blob.rindex(oid_der) + len(oid_der)
    value = at + 2 + (blob[at + 1] & 0x7F if blob[at + 1] & 0x80 else 0)
    return blob[:value] + b"\x04" + blob[value + 1 :]


_OIDS = {
    "1.3.6.1.4.1.311.16.4": bytes.fromhex("2b0601040182371004"),
    "1.2.840.113549.1.9.16.2.11": bytes.fromhex("2a864886f70d010910020b"),
}


class Regression(str):
    """An @example standing for bytes built from the seeds when the test runs (not at import)."""

    def build(self) -> bytes:
        if self == "blob, MS marker value spoilt":
            return _spoil_attribute(seed("blob"), "1.3.6.1.4.1.311.16.4")
        if self == "blob, RFC 8551 marker value spoilt":
            return _spoil_attribute(seed("blob"), "1.2.840.113549.1.9.16.2.11")
        raise AssertionError(self)


@cache
def spoilt_blobs() -> frozenset[bytes]:
    return frozenset(_spoil_attribute(seed("blob"), oid) for oid in _OIDS)


def materialize(data: bytes | Regression) -> bytes:
    return data.build() if isinstance(data, Regression) else data


def seed(name: str, index: int | None = None) -> bytes:
    value = seeds()[name]
    return value[index] if index is not None else value


# --- strategies --------------------------------------------------------------------------


def mutated(*names: str) -> st.SearchStrategy[bytes]:
    """Mutations of the named seeds (a seed name may be "certs:<i>")."""
    bases: list[tuple[str, int | None]] = []
    for name in names:
        key, _, idx = name.partition(":")
        bases.append((key, int(idx) if idx else None))
    return st.sampled_from(bases).flatmap(lambda b: mutations(seed(*b)))


def bytes_or_mutation(*names: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=400), mutated(*names))


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["", "AAEC", "MIIB", " QUJD\nREVG ", "/Date(1700000000000)/", "20261120054000.0Z"]),
    st.from_regex(
        r"/Date\(-?[0-9]{1,24}\)/|[0-9]{14}(\.[0-9])?Z?|20[0-9]{2}-[0-9]{2}-[0-9]{2}T", fullmatch=True
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.lists(st.integers(-2, 300), max_size=8),
        st.dictionaries(st.text(max_size=10), inner, max_size=4),
    ),
    max_leaves=20,
)


def records(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), json_values, max_size=len(keys))


EXO_KEYS = [
    "Identity",
    "Alias",
    "DisplayName",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "UserPrincipalName",
    "ExternalDirectoryObjectId",
    "RecipientTypeDetails",
    "IsDirSynced",
    "HiddenFromAddressListsEnabled",
    "WhenChangedUTC",
    "WhenChanged",
    "UserCertificate",
    "UserSMimeCertificate",
]
ENTRA_KEYS = [
    "id",
    "userPrincipalName",
    "mail",
    "mailNickname",
    "displayName",
    "proxyAddresses",
    "onPremisesSyncEnabled",
    "onPremisesImmutableId",
    "onPremisesDistinguishedName",
    "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
]


# --- the property ------------------------------------------------------------------------


def ours(fn: Callable[[], R]) -> R | None:
    """Run fn; our own error is a fine answer, anything else fails the test."""
    try:
        return fn()
    except SmimeDoctorError as exc:
        assert str(exc), f"{type(exc).__name__} without a message"
        return None


def _touch_cert(info: CertInfo) -> None:
    """Everything the checks read from a certificate must be computable."""
    _ = (info.emails, info.can_encrypt, info.can_sign, info.smime_br_policies, info.eku_allows_email)
    _ = (info.key_id, info.short(), info.issuer_cn, info.is_valid_at(T0))


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-parsers-") as d:
        yield Path(d)


# --- X.509 -------------------------------------------------------------------------------


@FUZZ
@given(bytes_or_mutation("certs:0", "certs:1", "certs:3", "certs:4"))
def test_parse_certificate_gives_certinfo_or_certificate_error(data: bytes) -> None:
    info = ours(lambda: parse_certificate(data))
    if info is not None:
        assert isinstance(info, CertInfo)
        _touch_cert(info)


@FUZZ
@given(st.one_of(mutated("pem"), st.binary(max_size=200).map(lambda b: b"-----BEGIN CERTIFICATE-----\n" + b)))
def test_parse_pem_or_der_gives_certs_or_certificate_error(data: bytes) -> None:
    for info in ours(lambda: parse_certificate_pem_or_der(data)) or []:
        _touch_cert(info)


# --- PKCS#7 ------------------------------------------------------------------------------


@FUZZ
@example(Regression("blob, MS marker value spoilt"))  # used to lose every certificate
@example(Regression("blob, RFC 8551 marker value spoilt"))
@given(bytes_or_mutation("blob", "ber", "certs_only"))
def test_parse_pkcs7_gives_blob_or_pkcs7_error(data: bytes) -> None:
    data = materialize(data)
    blob = ours(lambda: parse_pkcs7(data))
    if blob is not None:
        assert isinstance(blob, Pkcs7Blob)
        assert blob.certificates
    if data in spoilt_blobs():
        assert blob is not None and blob.default_marker is not None  # the other marker still counts


@FUZZ
@given(bytes_or_mutation("blob", "ber", "certs_only", "certs:0", "certs:1"))
def test_published_value_never_raises(data: bytes) -> None:
    value = PublishedValue.from_bytes("ad.userSMIMECertificate", 0, data)
    assert value.kind in ("der", "pkcs7", "invalid")
    assert (value.kind == "invalid") == (not value.certificates)
    if value.kind == "invalid":
        assert value.error
    value.marked_certificate()
    for cert in (*value.end_entities, *value.chain_extras):
        _touch_cert(cert)


# --- SST ---------------------------------------------------------------------------------


@FUZZ
@given(bytes_or_mutation("sst"))
def test_read_sst_gives_certs_or_sst_error(data: bytes) -> None:
    certs = ours(lambda: read_sst(data))
    for der in certs or []:
        assert isinstance(der, bytes)
        ours(lambda der=der: parse_certificate(der))


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=6))
def test_sst_round_trip_any_values(values: list[bytes]) -> None:
    assert read_sst(write_sst(values)) == values


# --- byte encodings ----------------------------------------------------------------------


@FUZZ
@given(json_values)
def test_decode_bytes_gives_bytes_or_encoding_error(value: Any) -> None:
    result = ours(lambda: decode_bytes(value))
    assert result is None or isinstance(result, bytes)
    many = ours(lambda: decode_byte_list(value))
    assert many is None or all(isinstance(b, bytes) for b in many)


@FUZZ
@given(st.binary(max_size=80))
def test_decode_bytes_round_trips_both_styles(raw: bytes) -> None:
    assert decode_bytes(exo_bytes(raw)) == raw
    assert decode_bytes(exo_bytes(raw, "ints")) == raw
    assert decode_byte_list(exo_bytes(raw, "ints")) == ([raw] if raw else [])


# --- LDIF --------------------------------------------------------------------------------


def _use_ldif(path: Path) -> None:
    for dn, attrs in iter_ldif(path):
        assert isinstance(dn, str)
        assert all(isinstance(v, bytes) for values in attrs.values() for v in values)
        ad_user_from_ldif(dn, attrs, {"department", "extensionattribute1"})
        template_from_ldif(dn, attrs)
        for location, raw in ad_cert_values(attrs):
            PublishedValue.from_bytes(location, 0, raw)


def _utf16(data: bytes) -> bytes:
    return b"\xff\xfe" + data.decode("utf-8", errors="replace").encode("utf-16-le")


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=100).map(lambda b: b"\xff\xfe" + b),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
        mutated("ldif"),
        mutated("ldif").map(_utf16),
    )
)
def test_iter_ldif_gives_records_or_ldif_error(scratch: Path, data: bytes) -> None:
    path = scratch / "export.ldif"
    path.write_bytes(data)
    ours(lambda: _use_ldif(path))


AD_KEYS = [
    "objectguid",
    "samaccountname",
    "userprincipalname",
    "mail",
    "proxyaddresses",
    "displayname",
    "objectclass",
    "whenchanged",
    "useraccountcontrol",
    "msexchhidefromaddresslists",
    "memberof",
    "usercertificate",
    "usersmimecertificate",
    "cn",
    "mspki-cert-template-oid",
    "mspki-enrollment-flag",
    "mspki-minimal-key-size",
    "pkiexpirationperiod",
    "pkiextendedkeyusage",
]
ad_values = st.one_of(
    st.binary(max_size=20),
    st.from_regex(r"-?[0-9]{1,30}|[0-9]{14}\.0Z|TRUE|FALSE", fullmatch=True).map(str.encode),
    st.text(max_size=12).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
)


@FUZZ
@given(
    st.text(max_size=30),
    st.dictionaries(st.sampled_from(AD_KEYS), st.lists(ad_values, max_size=3), max_size=8),
)
@example("CN=User", {"pkiexpirationperiod": []})  # IndexError in template_from_ldif (live sources)
def test_ad_records_never_raise(dn: str, attrs: dict[str, list[bytes]]) -> None:
    user = ad_user_from_ldif(dn, attrs, {"mail", "department"})
    assert user.dn == dn
    template_from_ldif(dn, attrs)
    for location, raw in ad_cert_values(attrs):
        PublishedValue.from_bytes(location, 0, raw)


# --- JSON --------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: _json_text(v).encode()),
        json_values.map(lambda v: _json_text(v).encode("utf-16")),
        mutated("json"),
    )
)
@example(b"1" * 5000)  # int over 4300 digits: json's plain ValueError escaped parse_json_bytes
@example(b'[{"WhenChangedUTC": "/Date(99999999999999999999)/"}]')  # via exo_from_json
def test_json_exports_give_records_or_json_error(scratch: Path, raw: bytes) -> None:
    ours(lambda: parse_json_bytes(raw, "exo-recipients.json"))
    path = scratch / "exo-recipients.json"
    path.write_bytes(raw)
    for record in ours(lambda: load_json_records(path)) or []:
        ours(lambda record=record: exo_from_json(record))
        ours(lambda record=record: entra_from_json(record))
        ours(lambda record=record: exo_cert_values(record))


def _outcome(fn: Callable[[], R]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except SmimeDoctorError as exc:
        return type(exc).__name__, str(exc)


@FUZZ
@given(
    st.one_of(
        json_values.map(lambda v: _json_text(v).encode()),
        st.lists(json_values, max_size=4).map(lambda v: _json_text({"a": 1, "value": v, "b": [2]}).encode()),
        st.lists(st.dictionaries(st.sampled_from(EXO_KEYS), json_values, max_size=3), max_size=4).map(
            lambda v: _json_text(v).encode()
        ),
        mutated("json"),
    )
)
def test_streamed_json_records_match_whole_file_parse(scratch: Path, raw: bytes) -> None:
    import workers.sources.parsing as parsing

    stream = parsing.map_json_records
    path = scratch / "exo-recipients.json"
    path.write_bytes(raw)
    assert repr(_outcome(lambda: stream(path, lambda r: r))) == repr(
        _outcome(lambda: load_json_records(path))
    )


# Strings and numbers that a batch cut or orjson could get wrong: what looks like the end of
# one record and the start of the next, lone surrogates, integers past 64 bits, NaN, 1e400.
_TRICKY = st.sampled_from(["}, {", '"}, {"', "}\n,\n{", "\ud800", "\udc00x", "]", "{", "\\", '"'])
_TRICKY_NUMBERS = st.sampled_from(
    ["1" * 19, "-" + "9" * 25, "18446744073709551616", "NaN", "1e400", "-0.0", "5e-324"]
)


@st.composite
def export_texts(draw: st.DrawFn) -> str:
    """An export's text: records (some with nested records) joined with varied whitespace."""
    values = st.one_of(
        json_values, _TRICKY, st.lists(st.dictionaries(st.text(max_size=3), _TRICKY), max_size=2)
    )
    recs = draw(
        st.lists(st.dictionaries(st.sampled_from(EXO_KEYS) | _TRICKY, values, max_size=4), max_size=8)
    )
    parts = [_json_text(r) for r in recs]
    for i in draw(st.lists(st.integers(0, max(len(parts) - 1, 0)), max_size=2)):
        if parts:  # a bare number where a record's value would be
            parts[i] = (
                parts[i].replace("}", ', "n": ' + draw(_TRICKY_NUMBERS) + "}", 1)
                if "}" in parts[i]
                else parts[i]
            )
    seps = draw(st.lists(st.sampled_from([",", ", ", "\n,\n", " ,\t", ",\r\n  "]), min_size=len(parts)))
    body = "".join(p + (seps[i] if i < len(parts) - 1 else "") for i, p in enumerate(parts))
    return draw(st.sampled_from(["[{}]", '{{"@odata.context": "x", "value": [{}]}}', "[\n{}\n]"])).format(
        body
    )


@FUZZ
@given(export_texts(), st.integers(min_value=0, max_value=300))
def test_batched_json_records_match_whole_file_parse(scratch: Path, text: str, batch: int) -> None:
    """orjson batches, whatever the cut, give the records the stdlib gives, or the same error."""
    import workers.sources.parsing as parsing

    path = scratch / "exo-recipients.json"
    path.write_text(text, encoding="utf-8")
    default = parsing._BATCH_CHARS
    parsing._BATCH_CHARS = batch
    try:
        streamed = _outcome(lambda: parsing.map_json_records(path, lambda r: r))
    finally:
        parsing._BATCH_CHARS = default
    assert repr(streamed) == repr(_outcome(lambda: load_json_records(path)))


DEMO = Path(__file__).resolve().parents[2] / "workers" / "demo_tenant" / "data"


def test_plain_exports_are_decoded_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo tenant's exports take the orjson path (a regression would only be slower)."""
    import workers.sources.parsing as parsing

    calls: list[int] = []
    real = parsing.orjson.loads
    monkeypatch.setattr(parsing, "_BATCH_CHARS", 4096)
    monkeypatch.setattr(parsing.orjson, "loads", lambda b: calls.append(len(b)) or real(b))
    for name in ("exo-recipients.json", "entra-users.json"):
        path = DEMO / name
        calls.clear()
        assert parsing.map_json_records(path, lambda r: r) == load_json_records(path)
        assert len(calls) >= 2, name
        assert sum(calls) >= path.stat().st_size * 0.9, name  # nearly all of it went through orjson


@FUZZ
@given(records(EXO_KEYS))
def test_exo_record_never_raises(record: dict[str, Any]) -> None:
    exo_from_json(record)
    for location, value in exo_cert_values(record):
        assert location.startswith("exo.")
        if isinstance(value, bytes):
            PublishedValue.from_bytes(location, 0, value)
        else:
            assert isinstance(value, SmimeDoctorError) and str(value)


@FUZZ
@given(records(ENTRA_KEYS))
def test_entra_record_never_raises(record: dict[str, Any]) -> None:
    entra_from_json(record)


@FUZZ
@example("/Date(1000000000000000)/")  # year 33658: ValueError escaped parse_time
@example("/Date(100000000000000000000)/")  # OSError (time_t) escaped
@example("/Date(" + "9" * 400 + ")/")  # OverflowError (int / 1000 too large for a float) escaped
@example("20261399999999")  # month 13: strptime's ValueError escaped
@example("\u0661" * 14)  # Arabic-Indic digits matched \d, then strptime raised
@given(st.one_of(json_values, st.from_regex(r"/Date\(-?[0-9]{1,30}([+-][0-9]{4})?\)/", fullmatch=True)))
def test_parse_time_returns_aware_datetime_or_none(value: Any) -> None:
    result = parse_time(value)
    assert result is None or result.tzinfo is not None
