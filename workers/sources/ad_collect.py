"""The AD part of `smime-doctor snapshot --out DIR`: ad.ldif and ad-config.ldif as docs/snapshot.md describes.

Users are streamed from the paged search straight into the file, so collecting a large
directory needs no more memory than one page. Each file is written under a temporary name
and renamed at the end: an interrupted collection never leaves a half file that looks whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import ldif

from workers.sources.ad import CONFIG_ATTRIBUTES, USER_ATTRIBUTES, AdSource, Record

# Values kept as bytes (base64 in the LDIF) even when they happen to decode as UTF-8.
BINARY = {
    "objectguid",
    "usercertificate",
    "usersmimecertificate",
    "cacertificate",
    "pkiexpirationperiod",
    "pkioverlapperiod",
    "pkikeyusage",
}
CANONICAL = {name.lower(): name for name in (*USER_ATTRIBUTES, *CONFIG_ATTRIBUTES)}


def write_ad_snapshot(source: AdSource, out_dir: Path) -> None:
    """Write ad.ldif (users matching the source's user filter) and ad-config.ldif into out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    canonical = dict(CANONICAL, **{a.lower(): a for a in source.settings.extra_attributes})
    _write(out_dir / "ad-config.ldif", source.config_records(), canonical)
    _write(out_dir / "ad.ldif", source.iter_users(), canonical)


def _write(path: Path, records: Iterable[Record], canonical: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as f:
            writer = ldif.LDIFWriter(f, cols=76)
            for dn, attrs in records:
                writer.unparse(dn, {canonical.get(k, k): _values(k, v) for k, v in attrs.items()})
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _values(name: str, values: list[bytes]) -> list[str] | list[bytes]:
    """Text as text (readable LDIF; the writer still base64s unsafe strings), binary as bytes."""
    if name in BINARY:
        return values
    try:
        return [v.decode("utf-8") for v in values]
    except UnicodeDecodeError:
        return values
