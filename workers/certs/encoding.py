"""Byte values as Exchange Online and Graph exports write them.

The REST admin API returns byte arrays as base64 strings; ``ConvertTo-Json`` writes them
as arrays of integers 0-255. Both reach us, sometimes in the same file.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from workers.errors import EncodingError


def decode_bytes(value: Any) -> bytes:
    """Decode one byte value: a base64 string or a list of integers 0-255."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        text = "".join(value.split())
        if not text:
            return b""
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EncodingError(f"byte value is not valid base64 ({exc})") from None
    if isinstance(value, list):
        if not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value):
            raise EncodingError("byte array holds something other than integers 0-255")
        return bytes(value)
    raise EncodingError(f"byte value has unexpected JSON type {type(value).__name__}")


def decode_byte_list(value: Any) -> list[bytes]:
    """Decode a multi-valued byte property: null, one value, or a list of values.

    A flat list of integers is one value (PowerShell's ``byte[]``), not many.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [decode_bytes(value)] if value.strip() else []
    if isinstance(value, list):
        if value and all(isinstance(b, int) and not isinstance(b, bool) for b in value):
            return [decode_bytes(value)]
        return [decode_bytes(v) for v in value if v is not None and v != ""]
    raise EncodingError(f"certificate property has unexpected JSON type {type(value).__name__}")
