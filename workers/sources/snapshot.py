"""The offline snapshot source: a directory of stock exports (docs/snapshot.md §1).

Loading reads each file once, keeps certificate values as raw bytes (parsed only when a
user is diagnosed) and matches users across AD, Exchange Online and Entra ID in the order
the contract gives: ExternalDirectoryObjectId = Graph id, immutableId = base64(objectGUID),
then any SMTP address, then UPN.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from workers.certs.encoding import decode_bytes
from workers.certs.sst import read_sst
from workers.certs.x509 import CertInfo, parse_certificate, parse_certificate_pem_or_der
from workers.dirnames import dn_id
from workers.errors import (
    AmbiguousUserError,
    EncodingError,
    InputError,
    SnapshotError,
    UnknownUserError,
)
from workers.facts import (
    AdConfig,
    AdUser,
    EntraUser,
    ExoRecipient,
    GroupInfo,
    PublishedValue,
    TenantFacts,
    UserFacts,
)
from workers.names import NameIndex, NameMatch
from workers.sources import parsing
from workers.timestamps import parse_time

FILES = {
    "ad": "ad.ldif",
    "adconfig": "ad-config.ldif",
    "exo": "exo-recipients.json",
    "smimeconfig": "exo-smimeconfig.json",
    "sst": "smime-issuing-ca.sst",
    "entra": "entra-users.json",
    "org": "entra-organization.json",
    "meta": "snapshot.json",
}
GRACE_MINUTES_EXTRA = 30
PARALLEL_LOAD_MIN_BYTES = 16 * 2**20  # below this a second process costs more than it saves
_T = TypeVar("_T")
Record = tuple[str, dict[str, list[bytes]]]  # (dn, {lower-case attribute: values}) as iter_ldif yields


@dataclass
class _Entry:
    """One person/recipient with raw certificate values, before parsing."""

    key: str
    ad: AdUser | None = None
    exo: ExoRecipient | None = None
    entra: EntraUser | None = None
    ad_values: list[tuple[str, bytes]] = field(default_factory=list)
    exo_values: list[tuple[str, bytes | EncodingError]] = field(default_factory=list)


class Snapshot:
    """A loaded snapshot: tenant facts, and users resolvable by any of their names."""

    # A snapshot is read-only: no live source to write to (the Directory protocol's ad/exchange)
    is_demo = False
    _name_index: NameIndex | None = None  # built on the first chat lookup (people_called)
    ad: Any = None
    exchange: Any = None
    graph: Any = None

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory)
        if not self.path.is_dir():
            raise SnapshotError(f"snapshot directory {self.path} does not exist or is not a directory")
        # a FIFO, socket, device or directory under an export's name is refused, never opened
        self.available = {name for name, fn in FILES.items() if parsing.is_regular_file(self.path / fn)}
        if not self.available - {"meta"}:
            raise SnapshotError(f"{self.path} holds none of the snapshot files ({', '.join(FILES.values())})")
        self.meta = self._load_meta()
        self.tenant = TenantFacts(available=set(self.available))
        self.entries: dict[str, _Entry] = {}
        # name -> user key, or the set of keys when several users share it (rare; a set
        # per name would be most of the index's memory in a large tenant)
        self._names: dict[str, str | set[str]] = {}
        self._display: dict[str, str | set[str]] = {}
        self._load_tenant()
        with _collector_paused():
            self._load_users()

    # -- tenant ---------------------------------------------------------------------
    def _load_meta(self) -> dict[str, Any]:
        if "meta" not in self.available:
            return {}
        data = parsing.parse_json_bytes(parsing.read_regular(self.path / FILES["meta"]), FILES["meta"])
        if not isinstance(data, dict):
            raise SnapshotError("snapshot.json must hold a JSON object")
        return data

    def _inside(self, name: str) -> Path:
        """A file named by snapshot.json, refused if it points outside the snapshot."""
        try:
            candidate = (self.path / name).resolve()
        except (OSError, RuntimeError):  # a symlink loop
            raise SnapshotError(f"snapshot.json names {name!r}, which cannot be resolved") from None
        if not candidate.is_relative_to(self.path.resolve()):
            raise SnapshotError(f"snapshot.json names {name!r}, which lies outside the snapshot directory")
        return candidate

    def _load_tenant(self) -> None:
        t = self.tenant
        collected = parse_time(self.meta.get("collected_at"))
        if collected is None:
            newest = max((self.path / FILES[n]).stat().st_mtime for n in self.available)

            collected = datetime.fromtimestamp(newest, tz=UTC)
        t.collected_at = collected
        try:
            t.sync_interval_minutes = int(self.meta.get("sync_interval_minutes") or 30)
        except (TypeError, ValueError):
            raise SnapshotError("snapshot.json: sync_interval_minutes must be a number") from None
        scope = self.meta.get("sync_scope")
        t.sync_scope = scope if isinstance(scope, dict) else None
        for name in self.meta.get("trusted_roots") or []:
            path = self._inside(str(name))
            raw = parsing.read_regular(path, f"trusted root {name}")  # a FIFO would block the read
            try:
                t.trusted_roots.extend(parse_certificate_pem_or_der(raw))
            except InputError as exc:
                raise SnapshotError(f"trusted root {name}: {exc}") from None
        if "smimeconfig" in self.available:
            cfgs = parsing.load_json_records(self.path / FILES["smimeconfig"])
            t.smime_config = cfgs[0] if cfgs else {}
        if "org" in self.available:
            orgs = parsing.load_json_records(self.path / FILES["org"])
            t.organization = orgs[0] if orgs else {}
        self._load_sst()
        if "adconfig" in self.available:
            t.ad_config = self._load_ad_config()

    def _load_sst(self) -> None:
        t = self.tenant
        if "sst" in self.available:
            raw: Any = parsing.read_regular(self.path / FILES["sst"])
        elif t.smime_config is not None:
            raw = t.smime_config.get("SMIMECertificateIssuingCA")
        else:
            return
        t.sst_certificates, t.sst_size, t.sst_error = sst_certificates(raw)

    def _load_ad_config(self) -> AdConfig:
        return parsing.config_from_records(parsing.iter_ldif(self.path / FILES["adconfig"]))

    # -- users ----------------------------------------------------------------------
    def _load_users(self) -> None:
        extra = self._extra_ad_attrs()
        ad: Iterable[tuple[AdUser, list[tuple[str, bytes]]]]
        ad_records = parsing.iter_ldif(self.path / FILES["ad"]) if "ad" in self.available else iter(())
        if self._load_in_parallel():
            # The exports are independent until matching: read the Exchange Online export (the
            # largest) in a forked process while this one reads the LDIF and the Graph export.

            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
                exo_read = pool.submit(parsing.map_json_records, self.path / FILES["exo"], _exo_item)
                ad_read = _outcome(lambda: list(_ad_items(ad_records, extra)))
                entra_read = _outcome(lambda: self._converted("entra", parsing.entra_from_json))
                # several broken files: the error a serial load would raise first (exo, entra, AD)
                exo, entra, ad = exo_read.result(), entra_read(), ad_read()
        else:
            exo, entra = self._load_cloud()
            ad = _ad_items(ad_records, extra)
        self._match_users(ad, exo, entra)

    def _load_cloud(
        self,
    ) -> tuple[list[tuple[ExoRecipient, list[tuple[str, bytes | EncodingError]]]], list[EntraUser]]:
        return self._converted("exo", _exo_item), self._converted("entra", parsing.entra_from_json)

    def _load_in_parallel(self) -> bool:
        """Worth a second process: large exports on both sides, and fork available."""
        if not {"ad", "exo"} <= self.available or "fork" not in multiprocessing.get_all_start_methods():
            return False
        if os.environ.get("SMIME_DOCTOR_WORKERS") == "1" or (os.cpu_count() or 1) < 2:
            return False
        sizes = [(self.path / FILES[n]).stat().st_size for n in ("ad", "exo")]
        return min(sizes) >= PARALLEL_LOAD_MIN_BYTES

    def _extra_ad_attrs(self) -> set[str]:
        """AD attributes kept besides the usual ones: the sync scope's attribute."""
        scope_attr = str((self.tenant.sync_scope or {}).get("attribute", "")).lower()
        return {scope_attr} if scope_attr else set()

    @classmethod
    def from_records(
        cls,
        tenant: TenantFacts,
        ad: Iterable[Record],
        exo: Iterable[dict[str, Any]],
        entra: Iterable[dict[str, Any]],
    ) -> Snapshot:
        """A directory built from records read live (AD entries, Exchange Online and Graph objects),
        matched exactly like the files of a snapshot — one code path for both."""
        self = cls.__new__(cls)
        self.path = Path(".")
        self.available = set(tenant.available)
        self.meta = {}
        self.tenant = tenant
        self.entries = {}
        self._names = {}
        self._display = {}
        self._match_users(
            _ad_items(ad, self._extra_ad_attrs()),
            [_exo_item(r) for r in exo],
            [parsing.entra_from_json(r) for r in entra],
        )
        return self

    def _match_users(
        self,
        ad_items: Iterable[tuple[AdUser, list[tuple[str, bytes]]]],
        exo_items: list[tuple[ExoRecipient, list[tuple[str, bytes | EncodingError]]]],
        entra_records: list[EntraUser],
    ) -> None:
        entra_by = _Index()
        for e in entra_records:
            entra_by.add(e, [e.id, e.immutable_id, e.upn, e.mail, *_smtp(e.proxy_addresses)])
        exo_by = _Index()
        for rec, _ in exo_items:
            exo_by.add(rec, [rec.external_id, rec.upn, rec.primary_smtp, *_smtp(rec.email_addresses)])
        used_exo: set[int] = set()
        used_entra: set[int] = set()
        # AD entries first: they own the certificates the others copy.
        for ad, ad_values in ad_items:
            entry = _Entry(key=self._unique_key(ad.sam or ad.dn), ad=ad, ad_values=ad_values)
            addrs = [ad.mail, *_smtp(ad.proxy_addresses)]
            entra = entra_by.first(used_entra, [ad.object_guid_b64], addrs, [ad.upn])
            if entra is not None:
                entry.entra = entra_records[entra]
            exo_idx = exo_by.first(used_exo, [entry.entra.id if entry.entra else None], addrs, [ad.upn])
            if exo_idx is not None:
                entry.exo, exo_values = exo_items[exo_idx]
                entry.exo_values = _shared_bytes(exo_values, entry.ad_values)
            self._add(entry)
        for i, (rec, values) in enumerate(exo_items):
            if i in used_exo:
                continue
            used_exo.add(i)
            entry = _Entry(
                key=self._unique_key(rec.primary_smtp or rec.identity or f"recipient-{i}"),
                exo=rec,
                exo_values=values,
            )
            entra = entra_by.first(used_entra, [rec.external_id], [rec.primary_smtp, rec.upn])
            if entra is not None:
                entry.entra = entra_records[entra]
            self._add(entry)
        for i, e in enumerate(entra_records):
            if i not in used_entra:
                self._add(_Entry(key=self._unique_key(e.upn or e.mail or e.id or f"entra-{i}"), entra=e))
        self._tenant_indexes()

    def _converted(self, name: str, convert: Callable[[dict[str, Any]], _T]) -> list[_T]:
        """Records of a JSON export, each converted as soon as it is read (memory stays small)."""
        return parsing.map_json_records(self.path / FILES[name], convert) if name in self.available else []

    def _unique_key(self, base: str) -> str:
        key, n = base, 2
        while key in self.entries:
            key, n = f"{base}#{n}", n + 1
        return key

    def _add(self, entry: _Entry) -> None:
        self.entries[entry.key] = entry
        names: list[str | None] = [entry.key]
        if entry.ad:
            a = entry.ad
            names += [a.sam, a.upn, a.mail, a.object_guid, a.dn, *_smtp(a.proxy_addresses)]
            _index_add(self._display, (a.display_name or "").lower(), entry.key)
        if entry.exo:
            x = entry.exo
            names += [x.primary_smtp, x.upn, x.alias, *_smtp(x.email_addresses)]
            _index_add(self._display, (x.display_name or "").lower(), entry.key)
        if entry.entra:
            e = entry.entra
            names += [e.upn, e.mail, e.id, *_smtp(e.proxy_addresses)]
        for n in names:
            if n:
                _index_add(self._names, n.lower(), entry.key)
        for addr in [n for n in names if n and "@" in n]:
            self.tenant.tenant_domains.add(addr.rsplit("@", 1)[1].lower())

    def _tenant_indexes(self) -> None:
        """Indexes that need every user: who else holds a certificate, and whether certs flow."""
        owners: dict[str, set[str]] = {}
        total = missing = 0
        grace = self.tenant.sync_interval_minutes * 2 + GRACE_MINUTES_EXTRA
        collected = self.tenant.collected_at
        for entry in self.entries.values():
            for _, raw in entry.ad_values:
                owners.setdefault(hashlib.sha256(raw).hexdigest(), set()).add(entry.key)
            ad = entry.ad
            if ad is None or not entry.ad_values or not (ad.mail_nickname or "").strip():
                continue
            if (
                len(entry.ad_values) > 15
                or entry.entra is None
                or not entry.entra.sync_enabled
                or entry.exo is None
            ):
                continue
            if ad.when_changed and collected and (collected - ad.when_changed).total_seconds() < grace * 60:
                continue
            total += 1
            if not entry.exo_values:
                missing += 1
        self.tenant.cert_owners = {k: v for k, v in owners.items() if len(v) > 1}
        if {"ad", "exo"} <= self.available:
            self.tenant.sync_flow = (total, missing)

    # -- lookups --------------------------------------------------------------------
    def resolve(self, query: str) -> str:
        """The key of the one user `query` names (SMTP, UPN, sAMAccountName, objectGUID, display name)."""
        q = parsing.check_lookup_name(query).strip()  # bounded: near-match search is quadratic in it
        if not q:
            raise UnknownUserError("no user name given", query)
        lookups = [q.lower()]
        guid = parsing.normalise_guid(q)
        if guid:
            lookups.append(guid)
        if "\\" in q:
            lookups.append(q.split("\\", 1)[1].lower())
        if q.lower().startswith("smtp:"):
            lookups.append(q[5:].lower())
        for name in lookups:
            keys = _index_get(self._names, name) or (_index_get(self._display, name) if name else None)
            if keys and len(keys) == 1:
                return next(iter(keys))
            if keys:
                shown = sorted(self._describe(k) for k in keys)
                raise AmbiguousUserError(
                    f"'{query}' matches {len(keys)} users: {', '.join(shown[:6])}", query, shown
                )
        partial = self._partial(q.lower())
        if len(partial) == 1:
            return partial[0]
        if partial:
            shown = sorted(self._describe(k) for k in partial)
            raise AmbiguousUserError(
                f"'{query}' matches {len(partial)} users: {', '.join(shown[:6])}", query, shown
            )
        near = difflib.get_close_matches(
            q.lower(), list(self._names) + [d for d in self._display if d], n=4, cutoff=0.6
        )
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise UnknownUserError(f"no user named '{query}' in the snapshot{hint}", query, near)

    def _partial(self, q: str) -> list[str]:
        """People as colleagues name them in chat: a first or last name ("alex"), the start of a
        display name ("alex w"), or an address's local part without the domain ("alex.wilber")."""
        if len(q) < 2 or "@" in q:
            return []
        found: set[str] = set()
        for display, keys in self._display.items():
            if display and (display.startswith(q) or q in display.split()):
                found.update({keys} if isinstance(keys, str) else keys)
        for name, keys in self._names.items():
            local = name.split("@", 1)[0]
            if "@" in name and (local == q or local.startswith(q + ".")):
                found.update({keys} if isinstance(keys, str) else keys)
        return sorted(found)

    def people_called(self, name: str) -> list[NameMatch]:
        """Everyone a name typed in chat may mean ("stella", "Stella Stale", an address)."""
        return self._names_by_word().called(name)

    def people_near(self, name: str) -> list[NameMatch]:
        """People whose name `name` nearly is (a typo): the "did you mean" candidates."""
        return self._names_by_word().near(name)

    def _names_by_word(self) -> NameIndex:
        if self._name_index is None:
            index = NameIndex()
            for key, entry in self.entries.items():
                names: list[str | None] = []
                display = ""
                smtp = ""
                for part in (entry.exo, entry.ad):
                    if part is None:
                        continue
                    display = display or part.display_name or ""
                if entry.ad:
                    a = entry.ad
                    names += [a.sam, a.upn, a.mail, *_smtp(a.proxy_addresses)]
                if entry.exo:
                    x = entry.exo
                    smtp = x.primary_smtp or ""
                    names += [x.primary_smtp, x.upn, x.alias, *_smtp(x.email_addresses)]
                if entry.entra:
                    names += [entry.entra.upn, entry.entra.mail]
                smtp = smtp or (entry.ad.mail if entry.ad else None) or key
                index.add(key, display, smtp, names)
            self._name_index = index
        return self._name_index

    def _describe(self, key: str) -> str:
        facts = self.user(key)
        return f"{facts.display} <{facts.primary_smtp or key}>"

    def user(self, key: str) -> UserFacts:
        return self.facts_of(self.entries[key])

    @staticmethod
    def facts_of(entry: _Entry) -> UserFacts:
        """The user's facts from a loaded entry (also in a worker process that was sent it)."""
        key = entry.key
        facts = UserFacts(key=key, ad=entry.ad, exo=entry.exo, entra=entry.entra)
        counters: dict[str, int] = {}
        for loc, raw in [*entry.ad_values, *entry.exo_values]:
            index = counters.get(loc, 0)
            counters[loc] = index + 1
            if isinstance(raw, EncodingError):
                facts.values.append(PublishedValue(loc, index, 0, "invalid", (), str(raw)))
            else:
                facts.values.append(PublishedValue.from_bytes(loc, index, raw))
        return facts

    def find(self, query: str) -> UserFacts:
        return self.user(self.resolve(query))

    def sender(self, query: str) -> UserFacts:
        """Like find(), but an address outside the organisation is an external sender, not an error."""
        try:
            return self.find(query)
        except UnknownUserError:
            q = query.strip()
            if "@" in q and q.rsplit("@", 1)[1].lower() not in self.tenant.tenant_domains:
                return UserFacts(key=q.lower(), external=True, external_address=q)
            raise

    def find_groups(self, spec: str) -> list[GroupInfo] | None:
        """None: a snapshot holds no group objects (role groups must be given as DNs; workers/roles.py)."""
        return None

    def group_ids(self, facts: UserFacts) -> frozenset[str]:
        """The user's memberOf DNs (direct membership: a snapshot cannot resolve nesting)."""
        return frozenset(dn_id(g) for g in facts.ad.member_of) if facts.ad is not None else frozenset()

    def iter_users(self) -> Iterator[UserFacts]:
        """Every user, one at a time (parsed on demand, so memory stays flat)."""
        for key in self.entries:
            yield self.user(key)

    def __len__(self) -> int:
        return len(self.entries)


class _Index:
    """Case-insensitive multi-key index that hands each record out at most once."""

    def __init__(self) -> None:
        self.by: dict[str, list[Any]] = {}
        self.items: list[Any] = []

    def add(self, item: Any, keys: list[str | None]) -> None:
        pos = len(self.items)
        self.items.append(item)
        for k in keys:
            if k:
                self.by.setdefault(k.lower(), []).append(pos)

    def first(self, used: set[int], *key_groups: list[str | None]) -> int | None:
        """Position of the first unused record matching the earliest key group that matches."""
        for keys in key_groups:
            for k in keys:
                if not k:
                    continue
                for pos in self.by.get(k.lower(), []):
                    if pos not in used:
                        used.add(pos)
                        return pos
        return None


def _index_add(index: dict[str, str | set[str]], name: str, key: str) -> None:
    found = index.get(name)
    if found is None:
        index[name] = key
    elif isinstance(found, str):
        if found != key:
            index[name] = {found, key}
    else:
        found.add(key)


def _index_get(index: dict[str, str | set[str]], name: str) -> set[str] | None:
    found = index.get(name)
    return {found} if isinstance(found, str) else found


def _shared_bytes(
    exo_values: list[tuple[str, bytes | EncodingError]], ad_values: list[tuple[str, bytes]]
) -> list[tuple[str, bytes | EncodingError]]:
    """EXO values with a synced copy replaced by the equal AD bytes object (kept once in memory)."""
    if not ad_values:
        return exo_values
    ad = {raw: raw for _, raw in ad_values}
    return [(loc, ad.get(raw, raw) if isinstance(raw, bytes) else raw) for loc, raw in exo_values]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading creates hundreds of thousands of objects that live as long as the snapshot and
    form no cycles; the cyclic collector scanning them again and again cost ~15% of a load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _outcome(fn: Callable[[], _T]) -> Callable[[], _T]:
    """Run ``fn`` now; the returned callable gives its result or raises its error later."""
    try:
        result = fn()
    except Exception as exc:
        error = exc

        def fail() -> _T:
            raise error

        return fail
    return lambda: result


def _ad_items(records: Iterable[Record], extra: set[str]) -> Iterator[tuple[AdUser, list[tuple[str, bytes]]]]:
    """An AD user and its certificate values per LDIF record (the attribute dict is dropped)."""
    for dn, attrs in records:
        yield parsing.ad_user_from_ldif(dn, attrs, extra), parsing.ad_cert_values(attrs)


def _exo_item(record: dict[str, Any]) -> tuple[ExoRecipient, list[tuple[str, bytes | EncodingError]]]:
    record = parsing.case_insensitive(record)
    return parsing.exo_from_json(record), parsing.exo_cert_values(record)


def _smtp(addresses: list[str]) -> list[str]:
    return [a[5:] for a in addresses if a.lower().startswith("smtp:")]


def sst_certificates(raw: Any) -> tuple[list[CertInfo] | None, int | None, str | None]:
    """(certificates, size, error) of the tenant's SMIMECertificateIssuingCA: raw SST bytes, or the
    base64 / integer-array form Get-SmimeConfig exports. An empty value is an empty store."""
    if raw in (None, "", []):
        return [], None, None
    if not isinstance(raw, bytes):
        try:
            raw = decode_bytes(raw)
        except EncodingError as exc:
            return None, None, f"SMIMECertificateIssuingCA: {exc}"
    try:
        ders = read_sst(raw)
    except InputError as exc:
        return None, len(raw), str(exc)
    certs: list[CertInfo] = []
    error = None
    for der in ders:
        try:
            certs.append(parse_certificate(der))
        except InputError as exc:
            error = f"a certificate in the SST is unreadable: {exc}"
    return certs, len(raw), error
