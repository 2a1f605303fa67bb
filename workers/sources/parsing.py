"""Turn export records (LDIF entries, Exchange Online and Graph JSON objects) into facts.

Shared by the snapshot source and the live sources, so a record means the same thing
whether it came from a file or over the wire. Every function here raises only our errors.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import orjson

from workers.certs.encoding import decode_byte_list
from workers.certs.x509 import CertInfo, parse_certificate
from workers.errors import (
    EncodingError,
    InputError,
    InvalidNameError,
    JsonExportError,
    LdifError,
    SnapshotError,
)
from workers.facts import AdConfig, AdUser, CertTemplate, EntraUser, ExoRecipient
from workers.sources.ldif_fast import LdifReader
from workers.timestamps import parse_time  # noqa: F401  (re-exported: the exports' readers use it)

_T = TypeVar("_T")
MAX_NAME_LENGTH = 256  # an address may be 254 characters (RFC 5321), a UPN 256; nothing longer names anyone


def check_lookup_name(query: str) -> str:
    """``query`` if it can name a directory user; a name longer than MAX_NAME_LENGTH is refused
    with one sentence (not echoing it), before any lookup or LDAP query is made."""
    name = query.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"That name is too long to look up ({len(name)} characters; a user name has at most {MAX_NAME_LENGTH}).",
            name[:MAX_NAME_LENGTH],
        )
    return query


def guid_from_bytes(raw: bytes) -> tuple[str, str] | None:
    """(canonical GUID text, base64 immutableId) from AD's 16-byte little-endian objectGUID."""
    if len(raw) != 16:
        return None
    return str(uuid.UUID(bytes_le=raw)), base64.b64encode(raw).decode()


def normalise_guid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.strip().strip("{}")))
    except ValueError:
        return None


# -- files ------------------------------------------------------------------------------

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _not_regular(label: str, mode: int) -> str:
    kind = next((text for test, text in _KINDS if test(mode)), "not a file")
    return f"{label} is {kind}, not a regular file; it was not read"


def is_regular_file(path: Path, label: str | None = None, error: type[SnapshotError] = SnapshotError) -> bool:
    """True for a regular file (symlinks followed), False when nothing is there; anything else
    (FIFO, directory, socket, device) raises ``error`` naming it — without opening it."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise error(f"cannot read {label or path.name}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise error(_not_regular(label or path.name, mode))
    return True


def open_regular(
    path: Path, label: str | None = None, error: type[SnapshotError] = SnapshotError
) -> BinaryIO:
    """``path`` opened for reading bytes, only if it is a regular file.

    Checked before opening (a FIFO without a writer would block the open and every read
    forever, a device would stream without end), and opened non-blocking and checked again on
    the open descriptor, so a file swapped for a FIFO in between is refused as well.
    """
    name = label or path.name
    if not is_regular_file(path, name, error):
        raise error(f"cannot read {name}: No such file or directory")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot read {name}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(_not_regular(name, mode))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular(path: Path, label: str | None = None, error: type[SnapshotError] = SnapshotError) -> bytes:
    """The bytes of a regular file (see open_regular); any OS error is ``error`` naming the file."""
    with open_regular(path, label, error) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise error(f"cannot read {label or path.name}: {exc.strerror or exc}") from None


# -- LDIF -------------------------------------------------------------------------------

CERT_ATTRS = {"usercertificate": "ad.userCertificate", "usersmimecertificate": "ad.userSMIMECertificate"}


def _to_utf8_stream(stream: BinaryIO) -> BinaryIO:
    """ldifde -u writes UTF-16 with a BOM; the LDIF parser wants bytes in an ASCII superset.

    UTF-8 (the usual case) is read from ``stream`` itself, after any BOM, not copied into
    memory: an export of 100,000 users with certificates is hundreds of MB.
    """
    head = stream.read(3)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = (head + stream.read()).decode("utf-16")
        return io.BytesIO(text.encode("utf-8"))
    if head != b"\xef\xbb\xbf":
        if stream.seekable():
            stream.seek(0)
        else:
            return io.BytesIO(head + stream.read())
    return stream


def iter_ldif(path: Path) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """Stream (dn, {lower-case attribute: [bytes]}) records; `;binary` suffixes dropped.

    Plain LDIF is read by `ldif_fast`; anything else in a record, and every error, is the
    ``ldif`` package's (``LDIFParser(stream, encoding=None, strict=True)``).
    """
    parser: LdifReader | None = None
    try:
        with open_regular(path, error=LdifError) as raw:
            stream = _to_utf8_stream(raw)
            parser = LdifReader(stream)
            yield from parser.parse()
    except OSError as exc:
        raise LdifError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    except LdifError:
        raise
    except Exception as exc:  # the ldif package raises ValueError and friends on bad syntax
        where = f" near line {parser.line_counter}" if parser is not None and parser.line_counter else ""
        reason = _first_line(exc)
        if reason == "subsection not found":  # bytes.index(b":") in the ldif package
            reason = "a line is not 'attribute: value'"
        raise LdifError(f"{path.name} is not valid LDIF{where} ({reason})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def _text(attrs: dict[str, list[bytes]], name: str) -> str | None:
    values = attrs.get(name)
    if not values:
        return None
    return values[0].decode("utf-8", errors="replace")


def _texts(attrs: dict[str, list[bytes]], name: str) -> list[str]:
    return [v.decode("utf-8", errors="replace") for v in attrs.get(name, [])]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def ad_user_from_ldif(dn: str, attrs: dict[str, list[bytes]], extra_attrs: set[str] = frozenset()) -> AdUser:  # type: ignore[assignment]
    guid = guid_from_bytes(attrs["objectguid"][0]) if attrs.get("objectguid") else None
    hidden = (_text(attrs, "msexchhidefromaddresslists") or "").upper() == "TRUE"
    return AdUser(
        dn=dn,
        object_guid=guid[0] if guid else None,
        object_guid_b64=guid[1] if guid else None,
        sam=_text(attrs, "samaccountname"),
        upn=_text(attrs, "userprincipalname"),
        mail=_text(attrs, "mail"),
        proxy_addresses=_texts(attrs, "proxyaddresses"),
        mail_nickname=_text(attrs, "mailnickname"),
        display_name=_text(attrs, "displayname"),
        object_classes=[c.lower() for c in _texts(attrs, "objectclass")],
        when_changed=parse_time(_text(attrs, "whenchanged")),
        user_account_control=_int(_text(attrs, "useraccountcontrol")),
        hidden=hidden,
        member_of=_texts(attrs, "memberof"),
        extra={a: _texts(attrs, a) for a in extra_attrs if a in attrs},
    )


def ad_cert_values(attrs: dict[str, list[bytes]]) -> list[tuple[str, bytes]]:
    return [(loc, v) for name, loc in CERT_ATTRS.items() for v in attrs.get(name, [])]


def template_from_ldif(dn: str, attrs: dict[str, list[bytes]]) -> CertTemplate:
    period = (attrs.get("pkiexpirationperiod") or [b""])[0]  # an attribute may come with no value
    days = None
    if len(period) == 8:
        days = -int.from_bytes(period, "little", signed=True) / 10_000_000 / 86_400
    return CertTemplate(
        name=_text(attrs, "cn") or dn.split(",", 1)[0].split("=", 1)[-1],
        display_name=_text(attrs, "displayname"),
        oid=_text(attrs, "mspki-cert-template-oid"),
        enrollment_flag=_int(_text(attrs, "mspki-enrollment-flag")) or 0,
        private_key_flag=_int(_text(attrs, "mspki-private-key-flag")) or 0,
        name_flag=_int(_text(attrs, "mspki-certificate-name-flag")) or 0,
        ekus=_texts(attrs, "pkiextendedkeyusage"),
        min_key_size=_int(_text(attrs, "mspki-minimal-key-size")),
        validity_days=days,
        ra_signatures=_int(_text(attrs, "mspki-ra-signature")) or 0,
    )


# -- JSON (Exchange Online, Graph) --------------------------------------------------------


def load_json_records(path: Path) -> list[dict[str, Any]]:
    """A JSON array, or an object with a `value` array (as the REST APIs return). Raises JsonExportError."""
    raw = read_regular(path, error=JsonExportError)
    data = parse_json_bytes(raw, path.name)
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data = data["value"]
    elif isinstance(data, dict):
        data = [data]  # ConvertTo-Json writes a single object for a one-element result
    if not isinstance(data, list):
        raise JsonExportError(f"{path.name} holds {type(data).__name__}, expected an array of objects")
    return [r for r in data if isinstance(r, dict)]


def map_json_records(path: Path, convert: Callable[[dict[str, Any]], _T]) -> list[_T]:
    """``[convert(r) for r in load_json_records(path)]`` without ever holding the parsed file.

    An Exchange Online export of 100,000 recipients is hundreds of MB, mostly certificates
    as integer arrays; as one Python tree that is several GB. So the records of the array
    (top level, or the ``value`` member) are decoded and converted one at a time. Anything
    but that plain shape (or a syntax error) is left to the whole-file parse, so results and
    error messages stay exactly those of :func:`load_json_records`.
    """
    raw = read_regular(path, error=JsonExportError)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [convert(r) for r in _records_of(parse_json_bytes(raw, path.name), path.name)]
    del raw
    streamed = _stream_records(text, convert)
    if streamed is not None:
        return streamed
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # as parse_json_bytes words it
        raise JsonExportError(f"{path.name} is not valid JSON ({_first_line(exc)})") from None
    return [convert(r) for r in _records_of(data, path.name)]


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _stream_records(text: str, convert: Callable[[dict[str, Any]], _T]) -> list[_T] | None:
    """Converted records of ``[...]`` or ``{..., "value": [...], ...}``; None for anything else."""
    decode = _DECODER.raw_decode

    def skip(pos: int) -> int:  # past whitespace (the pattern always matches)
        m = _WS.match(text, pos)
        return m.end() if m else pos

    try:
        pos = skip(0)
        in_object = text[pos] == "{"
        if in_object:
            pos = skip(pos + 1)
            while True:  # members before "value"
                if text[pos] != '"':
                    return None
                key, pos = decode(text, pos)
                pos = skip(pos)
                if text[pos] != ":":
                    return None
                pos = skip(pos + 1)
                if key == "value" and text[pos] == "[":
                    break
                _, pos = decode(text, pos)
                pos = skip(pos)
                if text[pos] != ",":
                    return None
                pos = skip(pos + 1)
        elif text[pos] != "[":
            return None
        out: list[_T] = []
        pos = skip(pos + 1)
        if text[pos] == "]":
            pos += 1
        else:
            slow_until = pos  # records before this are decoded one by one, by the stdlib
            while True:
                batch = None
                if pos >= slow_until:
                    batch, end = _fast_batch(text, pos)
                    if batch is None:
                        slow_until = end
                    else:
                        pos = end
                if batch is None:
                    item, pos = decode(text, pos)
                    batch = [item]
                for item in batch:
                    if isinstance(item, dict):
                        out.append(convert(item))
                pos = skip(pos)
                if text[pos] == "]":
                    pos += 1
                    break
                if text[pos] != ",":
                    return None
                pos = skip(pos + 1)
        pos = skip(pos)
        if in_object:
            while text[pos] == ",":  # members after "value": one more "value" would win
                pos = skip(pos + 1)
                if text[pos] != '"':
                    return None
                key, pos = decode(text, pos)
                pos = skip(pos)
                if key == "value" or text[pos] != ":":
                    return None
                _, pos = decode(text, skip(pos + 1))
                pos = skip(pos)
            if text[pos] != "}":
                return None
            pos = skip(pos + 1)
        return out if pos == len(text) else None
    except (ValueError, RecursionError, IndexError):
        return None


# Records are decoded in batches of about this many characters by orjson (4x faster than
# the stdlib here), cut where "}" "," "{" may end one record and start the next.
_BATCH_CHARS = 1 << 20
_CUT = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))  # digit -> "0", rest -> " "
_LONG_NUMBER = b"0" * 19


def _fast_batch(text: str, start: int) -> tuple[list[Any] | None, int]:
    """(records, end): the records from ``start`` up to a cut about _BATCH_CHARS on, decoded
    by orjson; (None, end) where the stdlib must decode up to ``end`` instead.

    A cut inside a string or inside a record leaves ``[...]`` unbalanced, so orjson refuses
    it; so does anything orjson reads differently from the stdlib or rejects where the stdlib
    accepts (NaN, lone surrogates, 1e400, deep nesting) — except integers of 19 or more
    digits, which orjson turns into floats: such batches are left to the stdlib up front.
    """
    m = _CUT.search(text, start + _BATCH_CHARS) or _CUT.search(text, start + 1)
    if m is None:
        return None, len(text)  # one record left (or no cuts at all): not worth a batch
    end = m.start() + 1
    chunk = text[start:end].encode("utf-8", "surrogatepass")
    if _LONG_NUMBER in chunk.translate(_DIGITS):
        return None, end
    try:
        items = orjson.loads(b"[" + chunk + b"]")
    except orjson.JSONDecodeError:
        return None, end
    return items, end


def _records_of(data: Any, name: str) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data = data["value"]
    elif isinstance(data, dict):
        data = [data]  # ConvertTo-Json writes a single object for a one-element result
    if not isinstance(data, list):
        raise JsonExportError(f"{name} holds {type(data).__name__}, expected an array of objects")
    return [r for r in data if isinstance(r, dict)]


def parse_json_bytes(raw: bytes, name: str) -> Any:
    for encoding in ("utf-8-sig", "utf-16"):
        try:
            return json.loads(raw.decode(encoding))
        except UnicodeDecodeError:
            continue
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, or an int over 4300 digits
            raise JsonExportError(f"{name} is not valid JSON ({_first_line(exc)})") from None
    raise JsonExportError(f"{name} is neither UTF-8 nor UTF-16 text")


def _str(record: dict[str, Any], key: str) -> str | None:
    v = record.get(key)
    return str(v) if v is not None and v != "" else None


def _strs(record: dict[str, Any], key: str) -> list[str]:
    v = record.get(key)
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [str(x) for x in v if x is not None]
    return []


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


class _CaseInsensitive(dict[str, Any]):
    """Property names as PowerShell (PascalCase) or Graph (camelCase) spell them: both work."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__({str(k).lower(): v for k, v in record.items()})

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    @classmethod
    def of(cls, record: dict[str, Any]) -> _CaseInsensitive:
        """The record itself when it already is one (a record is converted by two readers)."""
        return record if isinstance(record, cls) else cls(record)


def exo_from_json(record: dict[str, Any]) -> ExoRecipient:
    record = _CaseInsensitive.of(record)
    return ExoRecipient(
        identity=_str(record, "Identity"),
        alias=_str(record, "Alias"),
        display_name=_str(record, "DisplayName"),
        primary_smtp=_str(record, "PrimarySmtpAddress"),
        email_addresses=_strs(record, "EmailAddresses"),
        upn=_str(record, "UserPrincipalName"),
        external_id=normalise_guid(_str(record, "ExternalDirectoryObjectId") or "")
        or _str(record, "ExternalDirectoryObjectId"),
        type_details=_str(record, "RecipientTypeDetails"),
        is_dir_synced=_bool(record.get("IsDirSynced")),
        hidden=_bool(record.get("HiddenFromAddressListsEnabled")) is True,
        when_changed=parse_time(record.get("WhenChangedUTC") or record.get("WhenChanged")),
    )


EXO_CERT_PROPS = (
    ("UserCertificate", "exo.UserCertificate"),
    ("UserSMimeCertificate", "exo.UserSMimeCertificate"),
)


def exo_cert_values(record: dict[str, Any]) -> list[tuple[str, bytes | EncodingError]]:
    """Certificate values of a recipient; an undecodable one is kept as its error."""
    out: list[tuple[str, bytes | EncodingError]] = []
    record = _CaseInsensitive.of(record)
    for prop, loc in EXO_CERT_PROPS:
        value = record.get(prop)
        if value is None:
            continue
        items = value if isinstance(value, list) and not _all_ints(value) else [value]
        for item in items:
            try:
                out.extend((loc, b) for b in _byte_list(item))
            except EncodingError as exc:
                # kept for its message only: without the traceback, which would keep the
                # caller frames (and the whole export text being streamed) alive
                exc.__traceback__ = exc.__context__ = None
                out.append((loc, exc))
    return out


# ConvertTo-Json writes a certificate as ~1,500 integers; checking them one by one in
# Python dominated loading an export. The type set is collected at C speed instead, and
# anything unusual takes the general path, so the result is the same.
_INT_TYPES = frozenset({int, bool})
_NOT_INT_TYPES = frozenset({str, float, list, dict, type(None)})


def _all_ints(value: list[Any]) -> bool:
    """all(isinstance(b, int) for b in value), fast for JSON values."""
    types = set(map(type, value))
    if types <= _INT_TYPES:
        return True
    if types <= _INT_TYPES | _NOT_INT_TYPES:
        return False
    return all(isinstance(b, int) for b in value)


def _byte_list(item: Any) -> list[bytes]:
    """decode_byte_list(item), with a fast path for a flat array of integers 0-255."""
    if type(item) is list and item and set(map(type, item)) == {int}:
        try:
            return [bytes(item)]
        except ValueError:  # out of range: decode_byte_list words the error
            pass
    return decode_byte_list(item)


def entra_from_json(record: dict[str, Any]) -> EntraUser:
    record = _CaseInsensitive.of(record)

    def errors(key: str) -> list[Any]:
        v = record.get(key)
        return v if isinstance(v, list) else ([] if v is None else [v])

    return EntraUser(
        id=normalise_guid(_str(record, "id") or "") or _str(record, "id"),
        upn=_str(record, "userPrincipalName"),
        mail=_str(record, "mail"),
        mail_nickname=_str(record, "mailNickname"),
        display_name=_str(record, "displayName"),
        proxy_addresses=_strs(record, "proxyAddresses"),
        sync_enabled=_bool(record.get("onPremisesSyncEnabled")),
        immutable_id=_str(record, "onPremisesImmutableId"),
        on_prem_dn=_str(record, "onPremisesDistinguishedName"),
        last_sync=parse_time(record.get("onPremisesLastSyncDateTime")),
        provisioning_errors=errors("onPremisesProvisioningErrors"),
        service_errors=errors("serviceProvisioningErrors"),
    )


def config_from_records(records: Iterable[tuple[str, dict[str, list[bytes]]]]) -> AdConfig:
    """AdConfig from Public Key Services entries — the same rules as the snapshot's ad-config.ldif."""
    cfg = AdConfig()
    for dn, attrs in records:
        classes = {c.decode(errors="replace").lower() for c in attrs.get("objectclass", [])}
        lower_dn = dn.lower()
        if "pkicertificatetemplate" in classes:
            cfg.templates.append(template_from_ldif(dn, attrs))
            continue
        certs: list[CertInfo] = []
        cert_attr = "usercertificate" if "cn=kra," in lower_dn else "cacertificate"
        for der in attrs.get(cert_attr, []):
            try:
                certs.append(parse_certificate(der))
            except InputError as exc:
                cfg.errors.append(f"{dn}: {exc}")
        if "cn=kra," in lower_dn:
            cfg.kra_certificates += certs
        elif "cn=ntauthcertificates" in lower_dn:
            cfg.ntauth_certificates += certs
        elif "cn=aia," in lower_dn:
            cfg.aia_certificates += certs
        elif "cn=certification authorities" in lower_dn:
            cfg.ca_certificates += certs
    return cfg


def case_insensitive(record: dict[str, Any]) -> dict[str, Any]:
    """A JSON record whose property names match in any case (read once, converted twice)."""
    return _CaseInsensitive.of(record)
