"""PKCS#7 / CMS SignedData as Outlook publishes it to ``userSMIMECertificate``.

asn1crypto parses both DER and BER (indefinite lengths, non-sorted SETs), which is what
real-world blobs need. Besides the certificates we read the signed attributes Outlook
adds: SMIMECapabilities and the marker of the default encryption certificate
(Microsoft 1.3.6.1.4.1.311.16.4 or RFC 8551 smimeEncryptionKeyPreference
1.2.840.113549.1.9.16.2.11). A bare DER certificate is also legal in that attribute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from asn1crypto import cms
from asn1crypto import core as asn1_core

from workers.errors import Pkcs7Error

OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_MS_ENCRYPTION_KEY_PREFERENCE = "1.3.6.1.4.1.311.16.4"
OID_SMIME_ENCRYPTION_KEY_PREFERENCE = "1.2.840.113549.1.9.16.2.11"
OID_SMIME_CAPABILITIES = "1.2.840.113549.1.9.15"


@dataclass(frozen=True)
class DefaultCertMarker:
    """Which certificate the blob says to encrypt to: by issuer+serial or by key id."""

    attribute: str  # the OID it came from
    issuer_der: bytes | None = None
    serial: int | None = None
    key_id: bytes | None = None


@dataclass(frozen=True)
class Pkcs7Blob:
    certificates: tuple[bytes, ...]  # DER, in the blob's (sorted) order, not publish order
    default_marker: DefaultCertMarker | None
    smime_capabilities: tuple[str, ...] | None
    signed: bool  # has at least one SignerInfo (Outlook's blobs do; certs-only ones do not)


def looks_like_pkcs7(data: bytes) -> bool:
    """Cheap sniff: a ContentInfo starts with SEQUENCE, then the signedData OID."""
    return b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" in data[:32]


def parse_pkcs7(data: bytes) -> Pkcs7Blob:
    """Parse SignedData (signed or certs-only). Raises Pkcs7Error."""
    if not data:
        raise Pkcs7Error("empty value where PKCS#7 was expected")
    try:
        info = cms.ContentInfo.load(data, strict=False)
        ctype = info["content_type"].dotted
        if ctype != OID_SIGNED_DATA:
            raise Pkcs7Error(f"PKCS#7 content type is {ctype}, not signedData")
        signed = info["content"]
        certs: list[bytes] = []
        for choice in signed["certificates"] or []:
            if choice.name == "certificate":
                certs.append(_original_bytes(choice.chosen))
        marker: DefaultCertMarker | None = None
        caps: tuple[str, ...] | None = None
        signer_infos = signed["signer_infos"] or []
        for signer in signer_infos:
            attrs = signer["signed_attrs"]
            if not attrs:
                continue
            for attr in attrs:
                oid = attr["type"].dotted
                values = attr["values"]
                # A malformed optional attribute is ignored: it must not hide the certificates.
                if oid == OID_SMIME_CAPABILITIES and caps is None:
                    caps = _optional(_capabilities, values)
                elif oid in (OID_SMIME_ENCRYPTION_KEY_PREFERENCE, OID_MS_ENCRYPTION_KEY_PREFERENCE):
                    found = _optional(partial(_marker, oid), values)
                    if found is not None and (marker is None or oid == OID_SMIME_ENCRYPTION_KEY_PREFERENCE):
                        marker = found
        has_signers = len(signer_infos) > 0
    except Pkcs7Error:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError... on junk
        raise Pkcs7Error(f"not readable PKCS#7 SignedData ({_first_line(exc)})") from None
    if not certs:
        raise Pkcs7Error("PKCS#7 SignedData carries no certificate")
    return Pkcs7Blob(tuple(certs), marker, caps, has_signers)


def _original_bytes(value: asn1_core.Asn1Value) -> bytes:
    """The element exactly as it was encoded. ``dump()`` may re-encode (asn1crypto normalises
    e.g. subjectUniqueID bit strings), which would change the certificate's hash and break
    its signature; header + contents as loaded are the original bytes."""
    header = getattr(value, "_header", None)
    if isinstance(header, bytes) and isinstance(value.contents, bytes):
        return header + value.contents
    return value.dump()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


_T = TypeVar("_T")


def _optional(decode: Callable[[asn1_core.SetOf], _T | None], values: asn1_core.SetOf) -> _T | None:
    """Decode one signed attribute's values; None when they are not what the attribute holds."""
    try:
        return decode(values)
    except Exception:  # asn1crypto raises ValueError, TypeError, KeyError... on junk
        return None


def _capabilities(values: asn1_core.SetOf) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        parsed = value.parse(cms.SMIMECapabilites) if isinstance(value, asn1_core.Any) else value
        for cap in parsed:
            out.append(cap["capability_id"].dotted)
    return tuple(out)


def _marker(oid: str, values: asn1_core.SetOf) -> DefaultCertMarker | None:
    for value in values:
        raw = value.dump() if hasattr(value, "dump") else bytes(value)
        if oid == OID_MS_ENCRYPTION_KEY_PREFERENCE:
            # Microsoft's attribute is a plain IssuerAndSerialNumber.
            ias = cms.IssuerAndSerialNumber.load(raw)
            return DefaultCertMarker(oid, ias["issuer"].dump(), int(ias["serial_number"].native))
        pref = cms.SMIMEEncryptionKeyPreference.load(raw)
        if pref.name == "issuer_and_serial_number":
            ias = pref.chosen
            return DefaultCertMarker(oid, ias["issuer"].dump(), int(ias["serial_number"].native))
        if pref.name == "recipientKeyId":
            return DefaultCertMarker(oid, key_id=bytes(pref.chosen["subject_key_identifier"].native))
        return DefaultCertMarker(oid)
    return None
