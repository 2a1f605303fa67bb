"""NIST PKITS path-validation vectors (cryptography-vectors) against TrustStore.validate.

Each test's certificates come from the signed S/MIME message ``smime/Signed<Test>.eml``
(as a mail client would receive them), the anchor is ``TrustAnchorRootCertificate.crt``,
the moment 2026-01-01, no revocation checking. The expected verdict is the test name's
"Valid"/"Invalid" prefix. Vectors we knowingly judge differently are listed with the
reason in ``EXPECTED_DIFFERENCES`` and asserted to still differ, so the list cannot rot.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
from collections.abc import Iterator
from email.message import Message
from functools import cache
from pathlib import Path

import pytest
from asn1crypto import cms

from workers.certs.pkcs7 import parse_pkcs7
from workers.certs.trust import TrustStore
from workers.certs.x509 import CertInfo, parse_certificate
from workers.errors import CertificateError

AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

SECTIONS: dict[str, tuple[str, list[str]]] = {
    "4.1": (
        "signature verification",
        [
            "ValidSignaturesTest1",
            "InvalidCASignatureTest2",
            "InvalidEESignatureTest3",
            "ValidDSASignaturesTest4",
            "ValidDSAParameterInheritanceTest5",
            "InvalidDSASignatureTest6",
        ],
    ),
    "4.2": (
        "validity periods",
        [
            "InvalidCAnotBeforeDateTest1",
            "InvalidEEnotBeforeDateTest2",
            "Validpre2000UTCnotBeforeDateTest3",
            "ValidGeneralizedTimenotBeforeDateTest4",
            "InvalidCAnotAfterDateTest5",
            "InvalidEEnotAfterDateTest6",
            "Invalidpre2000UTCEEnotAfterDateTest7",
            "ValidGeneralizedTimenotAfterDateTest8",
        ],
    ),
    "4.3": (
        "name chaining",
        [
            "InvalidNameChainingEETest1",
            "InvalidNameChainingOrderTest2",
            "ValidNameChainingWhitespaceTest3",
            "ValidNameChainingWhitespaceTest4",
            "ValidNameChainingCapitalizationTest5",
            "ValidNameChainingUIDsTest6",
            "ValidRFC3280MandatoryAttributeTypesTest7",
            "ValidRFC3280OptionalAttributeTypesTest8",
            "ValidUTF8StringEncodedNamesTest9",
            "ValidRolloverfromPrintableStringtoUTF8StringTest10",
            "ValidUTF8StringCaseInsensitiveMatchTest11",
        ],
    ),
    "4.6": (
        "basic constraints",
        [
            "InvalidMissingbasicConstraintsTest1",
            "InvalidcAFalseTest2",
            "InvalidcAFalseTest3",
            "ValidbasicConstraintsNotCriticalTest4",
            "InvalidpathLenConstraintTest5",
            "InvalidpathLenConstraintTest6",
            "ValidpathLenConstraintTest7",
            "ValidpathLenConstraintTest8",
            "InvalidpathLenConstraintTest9",
            "InvalidpathLenConstraintTest10",
            "InvalidpathLenConstraintTest11",
            "InvalidpathLenConstraintTest12",
            "ValidpathLenConstraintTest13",
            "ValidpathLenConstraintTest14",
            "ValidSelfIssuedpathLenConstraintTest15",
            "InvalidSelfIssuedpathLenConstraintTest16",
            "ValidSelfIssuedpathLenConstraintTest17",
        ],
    ),
    "4.7": (
        "key usage",
        [
            "InvalidkeyUsageCriticalkeyCertSignFalseTest1",
            "InvalidkeyUsageNotCriticalkeyCertSignFalseTest2",
            "ValidkeyUsageNotCriticalTest3",
            "InvalidkeyUsageCriticalcRLSignFalseTest4",
            "InvalidkeyUsageNotCriticalcRLSignFalseTest5",
        ],
    ),
    "4.13": (
        "name constraints (DN, RFC 822)",
        [
            *(
                f"{'Valid' if n in (1, 4, 5, 6, 11, 14, 18) else 'Invalid'}DNnameConstraintsTest{n}"
                for n in range(1, 19)
            ),
            "ValidSelfIssuedDNnameConstraintsTest19",
            "InvalidSelfIssuedDNnameConstraintsTest20",
            "ValidRFC822nameConstraintsTest21",
            "InvalidRFC822nameConstraintsTest22",
            "ValidRFC822nameConstraintsTest23",
            "InvalidRFC822nameConstraintsTest24",
            "ValidRFC822nameConstraintsTest25",
            "InvalidRFC822nameConstraintsTest26",
            "ValidDNandRFC822nameConstraintsTest27",
            "InvalidDNandRFC822nameConstraintsTest28",
            "InvalidDNandRFC822nameConstraintsTest29",
        ],
    ),
    "4.16": (
        "private certificate extensions",
        [
            "ValidUnknownNotCriticalCertificateExtensionTest1",
            "InvalidUnknownCriticalCertificateExtensionTest2",
        ],
    ),
}

# test name -> why our verdict legitimately differs from the PKITS one
EXPECTED_DIFFERENCES: dict[str, str] = {
    "ValidDSAParameterInheritanceTest5": (
        "the EE's DSA key inherits its parameters from the CA (RFC 5280 6.1.4 f); cryptography, "
        "our certificate reader, cannot parse such a key, so the certificate is unreadable"
    ),
    "ValidNameChainingUIDsTest6": (
        "asn1crypto (inside pyhanko-certvalidator and our PKCS#7 reader) re-encodes the CA's "
        "subjectUniqueID BIT STRING (5 unused bits → 0), so its signature no longer verifies; "
        "unique identifiers are obsolete (RFC 5280 4.1.2.8)"
    ),
    "InvalidkeyUsageCriticalcRLSignFalseTest4": (
        "invalid in PKITS only because the CA's CRL cannot be trusted (no cRLSign); "
        "revocation is checked separately (trust.revocation), not by path validation"
    ),
    "InvalidkeyUsageNotCriticalcRLSignFalseTest5": (
        "invalid in PKITS only because the CA's CRL cannot be trusted (no cRLSign); "
        "revocation is checked separately (trust.revocation), not by path validation"
    ),
}

ALL_TESTS = [(section, name) for section, (_title, names) in SECTIONS.items() for name in names]


def pkits_dir() -> Path:
    import cryptography_vectors

    return Path(cryptography_vectors.__path__[0]) / "x509" / "PKITS_data"


def _pkcs7_part(msg: Message) -> bytes:
    for part in msg.walk():
        if part.get_content_type() in (
            "application/pkcs7-signature",
            "application/x-pkcs7-signature",
            "application/pkcs7-mime",
            "application/x-pkcs7-mime",
        ):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
            return base64.b64decode(str(part.get_payload()))
    raise AssertionError("no PKCS#7 part in the message")


def _signer_sid(der: bytes) -> tuple[bytes, int] | None:
    """(issuer DER, serial) of the first SignerInfo: how the message names its signer."""
    info = cms.ContentInfo.load(der)
    for signer in info["content"]["signer_infos"]:
        sid = signer["sid"]
        if sid.name == "issuer_and_serial_number":
            return sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
    return None


@cache
def load_vector(name: str) -> tuple[CertInfo | None, tuple[CertInfo, ...]]:
    """The signer's certificate (None if unreadable) and the other certificates in Signed<name>.eml."""
    raw = (pkits_dir() / "smime" / f"Signed{name}.eml").read_bytes()
    der = _pkcs7_part(email.message_from_bytes(raw))
    blob = parse_pkcs7(der)
    certs: list[CertInfo] = []
    for c in blob.certificates:
        try:
            certs.append(parse_certificate(c))
        except CertificateError:  # the product skips certificates it cannot read, too
            continue
    sid = _signer_sid(der)
    leaf = next((c for c in certs if sid and (c.issuer_der, c.serial_number) == sid), None)
    if leaf is None:
        return None, tuple(certs)
    return leaf, tuple(c for c in certs if c.sha256 != leaf.sha256)


@cache
def anchor() -> CertInfo:
    return parse_certificate((pkits_dir() / "certs" / "TrustAnchorRootCertificate.crt").read_bytes())


def verdict(name: str) -> tuple[bool, str | None, str | None]:
    """(ok, reason_code, error) from a fresh TrustStore, as an audit would see the message."""
    leaf, others = load_vector(name)
    if leaf is None:
        return False, "other", "the signer's certificate cannot be read"
    result = TrustStore([anchor()], at=AT).validate(leaf, others)
    return result.ok, result.reason_code, result.error


@pytest.mark.parametrize(("section", "name"), ALL_TESTS, ids=[n for _s, n in ALL_TESTS])
def test_pkits_vector(section: str, name: str) -> None:
    expected = name.startswith("Valid")
    ok, code, error = verdict(name)
    if name in EXPECTED_DIFFERENCES:
        assert ok != expected, f"{name} now agrees with PKITS: remove it from EXPECTED_DIFFERENCES"
    else:
        assert ok == expected, (
            f"{section} {name}: expected {'valid' if expected else 'invalid'}, got {code}: {error}"
        )


def test_fast_path_agrees_on_pkits_leaves() -> None:
    """One store for all vectors sharing the anchor: caching across vectors must not change a verdict."""
    shared = TrustStore([anchor()], at=AT)
    for _section, name in ALL_TESTS:
        leaf, others = load_vector(name)
        if leaf is None:
            continue
        assert shared.validate(leaf, others).ok == verdict(name)[0], name


def test_expected_differences_are_known_vectors() -> None:
    names = {n for _s, n in ALL_TESTS}
    assert set(EXPECTED_DIFFERENCES) <= names


def _iter_rows() -> Iterator[tuple[str, str, int, int, list[str]]]:
    for section, (title, names) in SECTIONS.items():
        agree = 0
        differ: list[str] = []
        for name in names:
            if verdict(name)[0] == name.startswith("Valid"):
                agree += 1
            else:
                differ.append(name)
        yield section, title, len(names), agree, differ


def pkits_summary() -> str:
    """Markdown table "section | vectors | agree | differ (why)" for docs/trust.md."""
    lines = ["| section | vectors | agree | differ (why) |", "| --- | --- | --- | --- |"]
    total = total_agree = 0
    for section, title, n, agree, differ in _iter_rows():
        total += n
        total_agree += agree
        why = "; ".join(f"{d}: {EXPECTED_DIFFERENCES.get(d, 'UNEXPECTED')}" for d in differ) or "—"
        lines.append(
            f"| {section} {title} | {n} | {agree} | {len(differ)} ({why}) |"
            if differ
            else f"| {section} {title} | {n} | {agree} | 0 |"
        )
    lines.append(f"| total | {total} | {total_agree} | {total - total_agree} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(pkits_summary())
