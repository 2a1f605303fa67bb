"""Microsoft serialized certificate store (SST), MS-OSHARED 2.3.9.1.

No Python library reads this format, so it is hand-rolled here and only here.
Layout (little-endian): ``u32 version = 0``, ``u32 0x54524543`` ("CERT"), then elements
``u32 id, u32 encoding = 1, u32 length, value``. Element id 0x20 carries a DER certificate;
id 0 with length 0 ends the store; every other id (properties, CRLs, CTLs) is skipped.
This is what ``Set-SmimeConfig -SMIMECertificateIssuingCA`` takes and returns.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from workers.errors import SstError

MAGIC = 0x54524543  # "CERT"
CERT_ELEMENT = 0x20
_HEADER = struct.Struct("<II")
_ELEMENT = struct.Struct("<III")


def read_sst(data: bytes) -> list[bytes]:
    """Return the DER certificates of an SST, in store order.

    Raises SstError for anything that is not a well-formed store. The certificates are
    not parsed here; callers parse them so one bad certificate does not hide the others.
    """
    if len(data) < _HEADER.size:
        raise SstError(f"SST is {len(data)} bytes, too short for the 8-byte header")
    version, magic = _HEADER.unpack_from(data, 0)
    if magic != MAGIC or version != 0:
        raise SstError("not a serialized certificate store (header is not version 0 + 'CERT')")
    certs: list[bytes] = []
    offset = _HEADER.size
    while True:
        if offset == len(data):
            # Stores written without the end marker exist in the wild; accept them.
            return certs
        if offset + _ELEMENT.size > len(data):
            raise SstError(f"SST element header truncated at byte {offset}")
        element_id, encoding, length = _ELEMENT.unpack_from(data, offset)
        offset += _ELEMENT.size
        if element_id == 0:
            if length != 0:
                raise SstError(f"SST end marker at byte {offset - 12} has non-zero length {length}")
            return certs
        if offset + length > len(data):
            raise SstError(
                f"SST element 0x{element_id:x} claims {length} bytes, only {len(data) - offset} left"
            )
        value = data[offset : offset + length]
        offset += length
        if element_id == CERT_ELEMENT:
            if encoding != 1:
                raise SstError(f"SST certificate element has encoding {encoding}, expected 1 (X.509 ASN.1)")
            certs.append(bytes(value))


def write_sst(certificates: Iterable[bytes]) -> bytes:
    """Serialize DER certificates into an SST, with the end marker."""
    parts = [_HEADER.pack(0, MAGIC)]
    for der in certificates:
        parts.append(_ELEMENT.pack(CERT_ELEMENT, 1, len(der)))
        parts.append(der)
    parts.append(_ELEMENT.pack(0, 0, 0))
    return b"".join(parts)
