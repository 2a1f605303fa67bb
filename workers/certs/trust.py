"""Certification path building and RFC 5280 validation for S/MIME certificates (trust.chain).

Why this shape: conformance comes from pyhanko-certvalidator (it agrees with all 50 PKITS
vectors we care about, ``cryptography``'s webpki-style verifier does not), but a full
pyhanko validation costs ~45 parses per leaf, and an audit sees hundreds of thousands of
leaves under a handful of CA chains. So :class:`TrustStore` validates each distinct
issuing CA (as the last certificate of its own path) once with pyhanko, caches that, and
for a leaf under a cached chain only checks what depends on the leaf: its signature by
the issuer key, its validity at ``at``, and the issuer's role as a CA (cA, path length,
keyCertSign) — RFC 5280 6.1 steps that pyhanko would run for the last certificate.
Anything outside that simple case (name or policy constraints in the chain, several
candidate issuers, unusual leaf extensions or algorithms, issuer found only by RFC 5280
name normalisation) goes to the full pyhanko validation. The first leaf seen under each
chain is validated both ways and the chain is demoted to full validation if they differ.

Revocation is not judged here (see :mod:`workers.certs.revocation`), nor the leaf's
key usage / EKU (cert.eku_email does that).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import re
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.policy_decl import DisallowWeakAlgorithmsPolicy

from workers.certs.x509 import CertInfo, parse_certificate

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Leaf extensions that may be critical without sending the leaf to full validation
# (all are ones pyhanko supports, so a critical one cannot make it fail).
_FAST_CRITICAL_OK = frozenset(
    oid.dotted_string
    for oid in (
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.CERTIFICATE_POLICIES,
    )
)
# Leaf extensions that feed RFC 5280 policy/name processing: full validation when present.
_SLOW_LEAF_EXTENSIONS = frozenset(
    oid.dotted_string
    for oid in (
        ExtensionOID.POLICY_CONSTRAINTS,
        ExtensionOID.POLICY_MAPPINGS,
        ExtensionOID.INHIBIT_ANY_POLICY,
        ExtensionOID.NAME_CONSTRAINTS,
    )
)
# Algorithm strength is judged by trust.ca_health (RSA < 2048, SHA-1 → warn/fail), not here:
# path validation refuses only what is broken (MD2/MD5, keys under 1024 bits), so a
# SHA-1 legacy CA gets one clear finding instead of an "untrusted" one as well.
# (pyhanko's default would also refuse SHA-1, RSA < 2048 and DSA < 3192.)
_ALGORITHM_POLICY = DisallowWeakAlgorithmsPolicy(
    weak_hash_algos=frozenset({"md2", "md5"}), rsa_key_size_threshold=1024, dsa_key_size_threshold=1024
)
# the fast path only handles what that policy certainly accepts
_FAST_HASHES = frozenset({"sha1", "sha224", "sha256", "sha384", "sha512"})
_FAST_RSA_BITS = 1024
_TOLERANCE = timedelta(seconds=1)  # pyhanko's default validity tolerance
_CACHE_MAX = 500_000
# Leaf results are rarely asked twice (a leaf belongs to one user) but each holds the
# leaf's CertInfo: a 100,000-user audit would keep every certificate alive. Chains stay
# cached (_CACHE_MAX), and the fast path recomputes a dropped leaf result cheaply.
_RESULTS_MAX = 4096
_CONTEXTS_MAX = 64

REASON_CODES = (
    "no_issuer",
    "expired",
    "signature",
    "name_constraints",
    "basic_constraints",
    "key_usage",
    "critical_extension",
    "other",
)


@dataclass(frozen=True)
class PathResult:
    """Outcome of path validation for one leaf (see module docstring)."""

    ok: bool
    path: tuple[CertInfo, ...]  # leaf first … anchor last; empty when no path
    anchor_sha256: str | None
    error: str | None  # one English sentence for a PKI admin when ok is False
    needed_aia_fetch: bool  # an intermediate had to be fetched online via AIA caIssuers
    reason_code: str | None  # no_issuer, expired, signature, name_constraints, ... other


@dataclass
class _Ca:
    """A certificate that may issue others, prepared once for name lookup and fast checks."""

    info: CertInfo
    asn1: asn1_x509.Certificate
    subject_raw: bytes
    subject_norm: str
    key: Any  # cryptography public key, or None if unusable
    fast_key: bool  # pyhanko's algorithm policy certainly accepts signatures by this key


@dataclass
class _Chain:
    """What is known about paths that go through one issuing CA (as an intermediate)."""

    ok: bool  # leaves under this CA can have a valid path
    path: tuple[CertInfo, ...]  # issuer … anchor
    anchor_sha256: str | None
    error: str | None
    reason_code: str | None
    fetched: bool
    fast: bool  # leaves may use the fast path
    calibrated: bool = False


@dataclass
class _Context:
    ctx: ValidationContext
    extras: dict[str, _Ca] = field(default_factory=dict)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _prepare(info: CertInfo) -> _Ca:
    asn1 = asn1_x509.Certificate.load(info.der)
    subject_raw = asn1.subject.dump()
    key: Any = None
    fast_key = False
    try:
        key = x509.load_der_x509_certificate(info.der).public_key()
        if isinstance(key, rsa.RSAPublicKey):
            fast_key = key.key_size >= _FAST_RSA_BITS
        elif isinstance(key, ec.EllipticCurvePublicKey):
            fast_key = True
    except Exception:
        key = None
    return _Ca(info, asn1, subject_raw, asn1.subject.hashable, key, fast_key)


def _dn(info: CertInfo | asn1_x509.Certificate) -> str:
    if isinstance(info, CertInfo):
        return info.subject or "(empty subject)"
    try:
        return parse_certificate(info.dump()).subject
    except Exception:
        return info.subject.human_friendly


class TrustStore:
    """Trust anchors plus known intermediates, evaluated at one moment ``at``.

    Use from one thread at a time. The asyncio loop pyhanko needs is private; calling
    :meth:`validate` from inside a running loop works too (it then runs in a helper thread).
    Call :meth:`close` (or use ``with``) when ``online`` to release the HTTP session.
    """

    def __init__(
        self,
        anchors: Iterable[CertInfo],
        intermediates: Iterable[CertInfo] = (),
        *,
        at: datetime,
        online: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.at = _aware(at)
        self.online = online
        self.timeout = timeout
        self._anchors: dict[str, CertInfo] = {a.sha256: a for a in anchors}
        self._pool: dict[str, _Ca] = {}
        for info in (*self._anchors.values(), *intermediates):
            if info.sha256 not in self._pool:
                self._pool[info.sha256] = _prepare(info)
        self._by_raw: dict[bytes, list[_Ca]] = {}
        self._norm_count: dict[str, int] = {}
        for ca in self._pool.values():
            self._index(ca)
        self._fetched: set[str] = set()
        self._prepared: dict[str, _Ca] = {}  # extras seen in blobs, by sha256
        self._contexts: dict[frozenset[str], _Context] = {}
        self._chains: dict[tuple[str, frozenset[str]], _Chain] = {}
        self._results: dict[tuple[str, frozenset[str]], PathResult] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._backends: list[Any] = []
        self.stats = {"fast": 0, "full": 0, "cached": 0, "chains": 0}

    # ------------------------------------------------------------------ public API

    def validate(self, leaf: CertInfo, extra_intermediates: Iterable[CertInfo] = ()) -> PathResult:
        """Validate ``leaf`` at ``at``. Never raises for a bad certificate."""
        extras = self._relevant_extras(leaf, extra_intermediates)
        ekey = frozenset(extras)
        key = (leaf.sha256, ekey)
        cached = self._results.get(key)
        if cached is not None:
            self.stats["cached"] += 1
            return cached
        try:
            result = self._validate(leaf, extras, ekey)
        except Exception as exc:  # a validator bug must not stop an audit
            log.exception("path validation failed unexpectedly")
            result = PathResult(
                False, (), None, f"path validation failed unexpectedly ({exc})", False, "other"
            )
        if len(self._results) >= _RESULTS_MAX:
            self._results.clear()
        self._results[key] = result
        return result

    def validate_full(self, leaf: CertInfo, extra_intermediates: Iterable[CertInfo] = ()) -> PathResult:
        """Full pyhanko validation without any shortcut (for tests and comparisons)."""
        extras = self._relevant_extras(leaf, extra_intermediates)
        return self._full(leaf, extras, frozenset(extras))

    def close(self) -> None:
        """Release the HTTP session (online) and the private event loop."""
        if self._loop is not None and not self._loop.is_closed():
            for backend in self._backends:
                with contextlib.suppress(Exception):
                    self._run(backend.close())
            self._loop.close()
        self._backends.clear()
        self._loop = None

    def after_fork(self) -> None:
        """In a forked child: leave the parent's event loop alone (its selector is shared)."""
        self._loop = None
        self._backends = []

    def __enter__(self) -> TrustStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ indexing

    def _index(self, ca: _Ca) -> None:
        self._by_raw.setdefault(ca.subject_raw, []).append(ca)
        self._norm_count[ca.subject_norm] = self._norm_count.get(ca.subject_norm, 0) + 1

    def _prepared_extra(self, info: CertInfo) -> _Ca:
        ca = self._prepared.get(info.sha256)
        if ca is None:
            if len(self._prepared) >= _CACHE_MAX:
                self._prepared.clear()
            ca = self._prepared[info.sha256] = _prepare(info)
        return ca

    def _relevant_extras(self, leaf: CertInfo, extra: Iterable[CertInfo]) -> dict[str, _Ca]:
        """Blob certificates that could be an issuer in some path.

        A blob usually carries the user's other leaf certificates too; they would make
        every blob's set of intermediates unique and defeat the chain cache. A
        certificate that is not a CA can never be a valid intermediate, so it is kept
        only when its subject is the issuer name of the leaf (for a precise error).
        """
        out: dict[str, _Ca] = {}
        for info in extra:
            if info.sha256 == leaf.sha256 or info.sha256 in self._pool or info.sha256 in out:
                continue
            if info.is_ca is True:
                out[info.sha256] = self._prepared_extra(info)
        for info in extra:
            if info.sha256 == leaf.sha256 or info.sha256 in self._pool or info.sha256 in out:
                continue
            if info.is_ca is not True:
                ca = self._prepared_extra(info)
                if ca.subject_raw == leaf.issuer_der:
                    out[info.sha256] = ca
        return out

    # ------------------------------------------------------------------ asyncio

    def _run_private(self, coro: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def _run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_private(coro)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(self._run_private, coro).result()

    def _context(self, extras: dict[str, _Ca], ekey: frozenset[str]) -> _Context:
        found = self._contexts.get(ekey)
        if found is not None:
            return found
        if len(self._contexts) >= _CONTEXTS_MAX:
            self._contexts.clear()
        others = [ca.asn1 for sha, ca in self._pool.items() if sha not in self._anchors]
        others += [ca.asn1 for ca in extras.values()]
        kwargs: dict[str, Any] = {}
        if self.online:
            from pyhanko_certvalidator.fetchers.aiohttp_fetchers import (
                AIOHttpFetcherBackend,  # deferred: only online revocation checks need the HTTP fetchers
            )

            backend = AIOHttpFetcherBackend(per_request_timeout=self.timeout)
            self._backends.append(backend)
            kwargs["fetcher_backend"] = backend
        ctx = ValidationContext(
            trust_roots=[self._pool[sha].asn1 for sha in self._anchors],
            other_certs=others,
            moment=self.at,
            allow_fetching=self.online,
            revocation_mode="none",
            algorithm_usage_policy=_ALGORITHM_POLICY,
            **kwargs,
        )
        made = self._contexts[ekey] = _Context(ctx, dict(extras))
        return made

    async def _pyhanko(self, ctx: ValidationContext, cert: asn1_x509.Certificate) -> ValidationPath:
        validator = CertificateValidator(cert, validation_context=ctx)
        # never hang: each fetch has its own timeout, this bounds the whole search
        budget = self.timeout * 6 if self.online else None
        return await asyncio.wait_for(validator.async_validate_path(), budget)

    # ------------------------------------------------------------------ validation

    def _validate(self, leaf: CertInfo, extras: dict[str, _Ca], ekey: frozenset[str]) -> PathResult:
        issuer = self._fast_issuer(leaf, extras)
        checked = self._leaf_checkable(leaf) if issuer is not None else None
        if issuer is None or checked is None:
            return self._full(leaf, extras, ekey)
        chain = self._chain(issuer, extras, ekey)
        if not chain.fast:
            return self._full(leaf, extras, ekey)
        fast = self._fast(leaf, issuer, chain, checked)
        if fast is None:
            return self._full(leaf, extras, ekey)
        if not chain.calibrated:
            chain.calibrated = True
            full = self._full(leaf, extras, ekey)
            if (full.ok, full.reason_code) != (fast.ok, fast.reason_code):
                log.warning(
                    "fast path disagrees with full validation under %s (%s vs %s); using full validation",
                    issuer.info.subject,
                    fast.reason_code,
                    full.reason_code,
                )
                chain.fast = False
            return full
        self.stats["fast"] += 1
        return fast

    def _fast_issuer(self, leaf: CertInfo, extras: dict[str, _Ca]) -> _Ca | None:
        """The leaf's only possible issuer, or None when path building has choices."""
        if leaf.sha256 in self._anchors or leaf.self_issued or leaf.is_ca:
            return None
        cands = list(self._by_raw.get(leaf.issuer_der, ()))
        cands += [ca for ca in extras.values() if ca.subject_raw == leaf.issuer_der]
        if len(cands) != 1:
            return None
        ca = cands[0]
        same_name = self._norm_count.get(ca.subject_norm, 0) + sum(
            1 for e in extras.values() if e.subject_norm == ca.subject_norm
        )
        if same_name != 1 or ca.key is None or not ca.fast_key:
            return None
        if leaf.aki is not None and ca.info.ski is not None and leaf.aki != ca.info.ski:
            return None
        return ca

    def _leaf_checkable(self, leaf: CertInfo) -> x509.Certificate | None:
        """The parsed leaf if only simple RFC 5280 processing applies to it."""
        if leaf.signature_hash not in _FAST_HASHES:
            return None
        oids, critical = leaf.extension_oids, leaf.critical_extension_oids
        if oids is None or critical is None:  # not from parse_certificate: look at the extensions
            return _checkable_by_extensions(leaf.der)
        # what parse_certificate noted while it walked the extensions
        if leaf.aki_cert_serial is not None or not _simple_extensions(oids, critical):
            return None
        try:  # a fresh load is cheap (the extensions are only parsed on access)
            return x509.load_der_x509_certificate(leaf.der)
        except Exception:
            return None

    def _fast(self, leaf: CertInfo, issuer: _Ca, chain: _Chain, cert: x509.Certificate) -> PathResult | None:
        """RFC 5280 steps for the last certificate, given a validated issuer chain."""
        if not chain.ok:
            return PathResult(False, (), None, chain.error, chain.fetched, chain.reason_code)
        key = issuer.key
        params = cert.signature_algorithm_parameters
        hash_alg = cert.signature_hash_algorithm
        try:
            if isinstance(key, rsa.RSAPublicKey) and isinstance(params, padding.PKCS1v15) and hash_alg:
                key.verify(cert.signature, cert.tbs_certificate_bytes, params, hash_alg)
            elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
                key.verify(cert.signature, cert.tbs_certificate_bytes, params)
            else:
                return None
        except Exception:
            return PathResult(
                False,
                (),
                None,
                _signature_sentence(leaf.subject, issuer.info.subject),
                chain.fetched,
                "signature",
            )
        if self.at + _TOLERANCE < leaf.not_before:
            return _bad(_not_yet_sentence(leaf.subject, leaf.not_before), "expired", chain.fetched)
        if self.at - _TOLERANCE > leaf.not_after:
            return _bad(_expired_sentence(leaf.subject, leaf.not_after), "expired", chain.fetched)
        path = (leaf, *chain.path)
        return PathResult(True, path, chain.anchor_sha256, None, chain.fetched, None)

    def _chain(self, issuer: _Ca, extras: dict[str, _Ca], ekey: frozenset[str]) -> _Chain:
        """Validate ``issuer`` once as the end of its own path, plus its duties as a CA."""
        key = (issuer.info.sha256, ekey)
        chain = self._chains.get(key)
        if chain is not None:
            return chain
        self.stats["chains"] += 1
        if issuer.info.sha256 in self._anchors:
            # pyhanko applies nothing from an anchor certificate (no qualifiers derived)
            chain = _Chain(True, (issuer.info,), issuer.info.sha256, None, None, False, True)
        else:
            chain = self._chain_pyhanko(issuer, extras, ekey)
        if len(self._chains) >= _CACHE_MAX:
            self._chains.clear()
        self._chains[key] = chain
        return chain

    def _chain_pyhanko(self, issuer: _Ca, extras: dict[str, _Ca], ekey: frozenset[str]) -> _Chain:
        context = self._context(extras, ekey)
        try:
            vpath = self._run(self._pyhanko(context.ctx, issuer.asn1))
        except Exception as exc:
            code, sentence = self._explain(exc, issuer.info, extras)
            return _Chain(False, (), None, sentence, code, False, True)
        infos, anchor_sha, fetched = self._path_infos(vpath, extras)
        pkix = list(vpath.iter_certs(include_root=False))
        fast = not any(
            c.name_constraints_value is not None
            or c.policy_constraints_value is not None
            or c.policy_mappings_value is not None
            or c.inhibit_any_policy_value is not None
            or c.public_key.algorithm == "dsa"
            for c in pkix
        )
        # RFC 5280 6.1.4 (k), (l), (n) for the issuer when it is not the last certificate
        max_len = len(pkix) + 2
        for c in pkix[:-1]:
            if not c.self_issued:
                max_len -= 1
            if c.max_path_length is not None and c.max_path_length < max_len:
                max_len = c.max_path_length
        last = pkix[-1]
        name = issuer.info.subject
        problem: tuple[str, str] | None = None
        if not last.ca:
            problem = (
                "basic_constraints",
                f"the issuer certificate '{name}' is not a CA (basicConstraints cA is not set)",
            )
        elif not last.self_issued and max_len == 0:
            problem = (
                "basic_constraints",
                f"the path through '{name}' is longer than a pathLenConstraint above it allows",
            )
        elif last.key_usage_value and "key_cert_sign" not in last.key_usage_value.native:
            problem = (
                "key_usage",
                f"the key usage of the issuer certificate '{name}' does not allow keyCertSign",
            )
        if problem is not None:
            return _Chain(False, (), None, problem[1], problem[0], fetched, fast)
        return _Chain(True, infos, anchor_sha, None, None, fetched, fast)

    def _path_infos(
        self, vpath: ValidationPath, extras: dict[str, _Ca]
    ) -> tuple[tuple[CertInfo, ...], str | None, bool]:
        """Path as CertInfo, last certificate first; whether a downloaded cert is in it."""
        infos = [parse_certificate(c.dump()) for c in vpath.iter_certs(include_root=True)]
        infos.reverse()
        fetched = False
        for info in infos:
            if info.sha256 in self._fetched:
                fetched = True
            elif info.sha256 not in self._pool and info.sha256 not in extras and info is not infos[0]:
                fetched = True
                self._fetched.add(info.sha256)
                ca = _prepare(info)
                self._pool[info.sha256] = ca
                self._index(ca)
        anchor = infos[-1].sha256 if infos and infos[-1].sha256 in self._anchors else None
        return tuple(infos), anchor, fetched

    def _full(self, leaf: CertInfo, extras: dict[str, _Ca], ekey: frozenset[str]) -> PathResult:
        """pyhanko's complete RFC 5280 validation of the leaf."""
        self.stats["full"] += 1
        try:
            asn1 = asn1_x509.Certificate.load(leaf.der)
            asn1.native  # noqa: B018 - force a full parse so a malformed leaf fails here
        except Exception as exc:
            return _bad(
                f"certificate '{leaf.subject}' cannot be decoded for path validation ({exc})", "other"
            )
        fetched_before = set(self._fetched)
        context = self._context(extras, ekey)
        try:
            vpath = self._run(self._pyhanko(context.ctx, asn1))
        except Exception as exc:
            code, sentence = self._explain(exc, leaf, extras)
            return _bad(sentence, code, bool(self._fetched - fetched_before))
        infos, anchor_sha, fetched = self._path_infos(vpath, extras)
        return PathResult(True, infos, anchor_sha, None, fetched, None)

    # ------------------------------------------------------------------ explanations

    def _explain(self, exc: BaseException, target: CertInfo, extras: dict[str, _Ca]) -> tuple[str, str]:
        """Turn a pyhanko exception into (reason_code, one sentence for a PKI admin)."""
        if isinstance(exc, asyncio.TimeoutError | TimeoutError):
            return "no_issuer", (
                f"building the path for '{target.subject}' took longer than {self.timeout * 6:.0f} s "
                "(downloading issuer certificates timed out)"
            )
        if isinstance(exc, PathBuildingError) or (
            isinstance(exc, InvalidCertificateError) and "self-signed" in str(exc)
        ):
            return "no_issuer", self._missing_issuer_sentence(target, extras)
        if not isinstance(exc, ValidationError):
            return "other", f"path validation of '{target.subject}' failed: {exc}"
        msg = str(exc)
        cert_dn = target.subject
        if isinstance(exc, PathValidationError):
            cert_dn = _failing_cert(exc, msg) or target.subject
        if isinstance(exc, ExpiredError):
            return "expired", _expired_sentence(cert_dn, exc.expired_dt)
        if isinstance(exc, NotYetValidError):
            return "expired", _not_yet_sentence(cert_dn, exc.valid_from)
        if isinstance(exc, DisallowedAlgorithmError):
            reason = (
                msg.split("Reason:", 1)[1].strip() if "Reason:" in msg else "the algorithm is considered weak"
            )
            return (
                "signature",
                f"the signature on '{cert_dn}' uses an algorithm that is not accepted: {reason}",
            )
        low = msg.lower()
        if "signature" in low:
            return "signature", f"the signature of '{cert_dn}' does not verify with its issuer's public key"
        if "namespace" in low or "name constraint" in low:
            detail = msg.split("issuing authority.", 1)[-1].strip() if "issuing authority." in msg else ""
            return "name_constraints", (
                f"the name constraints of a CA above '{cert_dn}' exclude its names"
                + (f" ({detail})" if detail else "")
            )
        if "is not a ca" in low or "maximum path length" in low:
            if "maximum path length" in low:
                return "basic_constraints", (
                    f"the path to '{target.subject}' is longer than a CA's pathLenConstraint allows"
                )
            return "basic_constraints", f"'{cert_dn}' is used as an issuer but is not a CA (basicConstraints)"
        if "not allowed to sign certificates" in low:
            return (
                "key_usage",
                f"the key usage of '{cert_dn}' does not allow signing certificates (keyCertSign)",
            )
        if "critical extension" in low:
            oids = msg.rsplit(":", 1)[-1].strip()
            return (
                "critical_extension",
                f"'{cert_dn}' has a critical extension the validator does not know ({oids})",
            )
        if "issuer name" in low:
            return (
                "no_issuer",
                f"the issuer name of '{cert_dn}' does not match the subject of the certificate above it",
            )
        if "polic" in low:
            return "other", f"certificate policy processing failed for '{cert_dn}' ({msg})"
        return "other", f"path validation of '{target.subject}' failed: {msg}"

    def _missing_issuer_sentence(self, target: CertInfo, extras: dict[str, _Ca]) -> str:
        """Walk issuer names from ``target`` to the first one no known certificate has."""
        by_norm: dict[str, _Ca] = {}
        for ca in (*self._pool.values(), *extras.values()):
            by_norm.setdefault(ca.subject_norm, ca)
        current = target
        seen: set[str] = set()
        while True:
            seen.add(current.sha256)
            try:
                issuer_norm = _name_norm(current.issuer_der)
            except Exception:
                break
            nxt = by_norm.get(issuer_norm)
            if nxt is None or nxt.info.sha256 in seen or nxt.info.sha256 in self._anchors:
                break
            current = nxt.info
        n_roots = len(self._anchors)
        n_int = len(self._pool) - n_roots + len(extras)
        if current.self_issued:
            return f"'{current.subject}' is a self-signed root that is not among the {n_roots} trusted root certificates"
        where = f"among the {n_roots} trusted root and {n_int} known intermediate certificates"
        sentence = f"no issuer certificate for '{current.issuer}' was found {where}"
        if current is not target:
            sentence += f" (needed above '{current.subject}', issuer of '{target.subject}')"
        if current.ca_issuer_urls:
            url = current.ca_issuer_urls[0]
            if self.online:
                sentence += f"; downloading it from {url} did not help"
            else:
                sentence += f"; it is published at {url}, which is only fetched with --online"
        return sentence


@functools.lru_cache(maxsize=1024)  # leaves without a known issuer share a handful of issuer names
def _name_norm(name_der: bytes) -> str:
    """RFC 5280 7.1 comparison form of an encoded Name (asn1crypto's, as pyhanko uses)."""
    return asn1_x509.Name.load(name_der).hashable


@functools.lru_cache(maxsize=1024)  # a tenant's leaves have a handful of extension lists
def _simple_extensions(oids: tuple[str, ...], critical: tuple[str, ...]) -> bool:
    """No critical extension outside _FAST_CRITICAL_OK and none of _SLOW_LEAF_EXTENSIONS."""
    return all(oid in _FAST_CRITICAL_OK for oid in critical) and not any(
        oid in _SLOW_LEAF_EXTENSIONS for oid in oids
    )


def _checkable_by_extensions(der: bytes) -> x509.Certificate | None:
    """_leaf_checkable for a CertInfo without the extension facts: walk the extensions."""
    try:
        cert = x509.load_der_x509_certificate(der)
        for ext in cert.extensions:
            oid = ext.oid.dotted_string
            if (ext.critical and oid not in _FAST_CRITICAL_OK) or oid in _SLOW_LEAF_EXTENSIONS:
                return None
            if isinstance(ext.value, x509.AuthorityKeyIdentifier) and (
                ext.value.authority_cert_serial_number is not None
            ):
                return None
    except Exception:
        return None
    return cert


def _bad(sentence: str, code: str, fetched: bool = False) -> PathResult:
    return PathResult(False, (), None, sentence, fetched, code)


def _expired_sentence(dn: str, when: datetime) -> str:
    return f"certificate '{dn}' expired on {when:%Y-%m-%d}"


def _not_yet_sentence(dn: str, when: datetime) -> str:
    return f"certificate '{dn}' is not valid before {when:%Y-%m-%d}"


def _signature_sentence(dn: str, issuer_dn: str) -> str:
    return f"the signature of '{dn}' does not verify with the public key of '{issuer_dn}'"


_POSITION = re.compile(r"intermediate certificate (\d+)")


def _failing_cert(exc: PathValidationError, msg: str) -> str | None:
    """Subject of the certificate pyhanko's message points at ("intermediate certificate 2")."""
    try:
        path = exc.current_path
        match = _POSITION.search(msg)
        if match:
            return _dn(path[int(match.group(1))])
        if "end-entity certificate" in msg:
            leaf = path.get_ee_cert_safe()
            return _dn(leaf) if leaf is not None else None
    except Exception:
        return None
    return None
