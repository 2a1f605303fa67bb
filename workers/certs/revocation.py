"""Online revocation checking (trust.revocation): CRL and OCSP for every certificate of a path.

Built directly on ``cryptography`` (CRL parsing, OCSP request/response) and ``requests``
rather than pyhanko-certvalidator's revocation machinery, because the check must report
*why* revocation could not be established — stale CRL, bad signature, UNKNOWN answer,
unreachable endpoint, no endpoint — per certificate and per source, and pyhanko folds
these into one soft-/hard-fail decision.

Every HTTP fetch has a hard deadline (``timeout`` seconds for connect + whole body), proxies
from the environment are ignored (``trust_env=False``), and results are cached for the
run: CRLs per URL, OCSP answers per (certificate, URL). Only full CRLs are understood
(no delta CRLs, no indirect CRLs / issuingDistributionPoint scoping), which covers AD CS
and the public S/MIME CAs; ldap: and file: URLs are not fetched (Exchange Online cannot
reach them either — trust.revocation_endpoints reports that).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from workers.certs.x509 import CertInfo

Status = Literal["good", "revoked", "unknown", "unreachable", "stale", "bad_signature", "no_endpoint"]
Source = Literal["crl", "ocsp"]

# When sources disagree the worst finding wins: a client that uses the other source fails.
_RANK: dict[str, int] = {
    "revoked": 0,
    "bad_signature": 1,
    "stale": 2,
    "good": 3,
    "unknown": 4,
    "unreachable": 5,
    "no_endpoint": 6,
}
_SKEW = timedelta(minutes=5)  # clock skew allowed on thisUpdate
_MAX_BODY = 64 * 1024 * 1024  # large enterprise CRLs exist; anything above is not a CRL


@dataclass(frozen=True)
class RevocationResult:
    """Revocation status of one certificate of a path."""

    cert_sha256: str
    status: Status
    source: Source | None
    detail: str  # one English sentence


@dataclass(frozen=True)
class _Answer:
    status: Status
    detail: str


class _FetchError(Exception):
    pass


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _http_urls(urls: tuple[str, ...]) -> list[str]:
    return [u for u in urls if u.lower().startswith(("http://", "https://"))]


def _verify(key: Any, signature: bytes, data: bytes, hash_alg: hashes.HashAlgorithm | None) -> bool:
    """Signature check for the key types CAs use; False for anything that does not verify."""
    try:
        if isinstance(key, rsa.RSAPublicKey) and hash_alg is not None:
            key.verify(signature, data, padding.PKCS1v15(), hash_alg)
        elif isinstance(key, ec.EllipticCurvePublicKey) and hash_alg is not None:
            key.verify(signature, data, ec.ECDSA(hash_alg))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except Exception:
        return False
    return True


class RevocationChecker:
    """Checks CRL and OCSP status at ``at``; one instance per run (it caches fetches)."""

    def __init__(self, at: datetime, timeout: float = 10.0) -> None:
        self.at = _aware(at)
        self.timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        self._crls: dict[str, x509.CertificateRevocationList | _FetchError] = {}
        self._ocsp: dict[tuple[str, str], _Answer] = {}
        self._results: dict[tuple[str, str], RevocationResult] = {}
        self._parsed: dict[str, x509.Certificate] = {}

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RevocationChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public

    def check_path(self, path: tuple[CertInfo, ...]) -> list[RevocationResult]:
        """One result per certificate of ``path`` (leaf first) except the anchor (last)."""
        out = []
        for cert, issuer in zip(path, path[1:], strict=False):
            key = (cert.sha256, issuer.sha256)
            result = self._results.get(key)
            if result is None:
                try:
                    result = self._check(cert, issuer)
                except Exception as exc:  # never let one odd certificate stop an audit
                    result = RevocationResult(
                        cert.sha256,
                        "unknown",
                        None,
                        f"revocation of '{cert.subject}' could not be checked ({exc})",
                    )
                self._results[key] = result
            out.append(result)
        return out

    # ------------------------------------------------------------------ internals

    def _x509(self, info: CertInfo) -> x509.Certificate:
        cert = self._parsed.get(info.sha256)
        if cert is None:
            cert = self._parsed[info.sha256] = x509.load_der_x509_certificate(info.der)
        return cert

    def _check(self, cert: CertInfo, issuer: CertInfo) -> RevocationResult:
        crl_urls = _http_urls(cert.crl_urls)
        ocsp_urls = _http_urls(cert.ocsp_urls)
        if not crl_urls and not ocsp_urls:
            others = [*cert.crl_urls, *cert.ocsp_urls]
            why = (
                f"only {', '.join(others)} (not reachable over HTTP)"
                if others
                else "neither a CRL distribution point nor an OCSP responder"
            )
            return RevocationResult(cert.sha256, "no_endpoint", None, f"'{cert.subject}' names {why}.")
        answers: list[tuple[Source, _Answer]] = []
        for url in ocsp_urls:
            answer = self._ocsp_answer(cert, issuer, url)
            answers.append(("ocsp", answer))
            if answer.status in ("good", "revoked"):
                break
        for url in crl_urls:
            answer = self._crl_answer(cert, issuer, url)
            answers.append(("crl", answer))
            if answer.status in ("good", "revoked"):
                break
        source, best = min(answers, key=lambda a: _RANK[a[1].status])
        detail = best.detail
        others = [f"{s.upper()}: {a.status}" for s, a in answers if a is not best]
        if others:
            detail = f"{detail} (also checked — {'; '.join(others)})"
        return RevocationResult(
            cert.sha256,
            best.status,
            source if best.status != "unreachable" else None,
            detail if detail.endswith(".") or detail.endswith(")") else detail + ".",
        )

    # -- HTTP

    def _fetch(self, url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        """GET (or POST ``body``) with a deadline on the whole exchange, not just each read."""
        deadline = time.monotonic() + self.timeout
        headers = {"User-Agent": "smime-doctor"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            with self._session.request(
                "POST" if body is not None else "GET",
                url,
                data=body,
                headers=headers,
                timeout=(self.timeout, self.timeout),
                stream=True,
                allow_redirects=True,
            ) as resp:
                if resp.status_code != 200:
                    raise _FetchError(f"{url} answered HTTP {resp.status_code}")
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_content(65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > _MAX_BODY:
                        raise _FetchError(f"{url} sent more than {_MAX_BODY // 1_000_000} MB")
                    if time.monotonic() > deadline:
                        raise _FetchError(f"{url} did not finish answering within {self.timeout:g} s")
                return b"".join(chunks)
        except _FetchError:
            raise
        except requests.Timeout:
            raise _FetchError(f"{url} did not answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise _FetchError(f"{url} could not be reached ({type(exc).__name__})") from None

    # -- CRL

    def _crl(self, url: str) -> x509.CertificateRevocationList:
        cached = self._crls.get(url)
        if isinstance(cached, _FetchError):
            raise cached
        if cached is not None:
            return cached
        try:
            data = self._fetch(url)
            try:
                crl = x509.load_der_x509_crl(data)
            except ValueError:
                crl = x509.load_pem_x509_crl(data)
        except _FetchError as exc:
            self._crls[url] = exc
            raise
        except ValueError:
            err = _FetchError(f"{url} did not return a readable CRL")
            self._crls[url] = err
            raise err from None
        self._crls[url] = crl
        return crl

    def _crl_answer(self, cert: CertInfo, issuer: CertInfo, url: str) -> _Answer:
        try:
            crl = self._crl(url)
        except _FetchError as exc:
            return _Answer("unreachable", f"the CRL of '{cert.issuer}' could not be fetched: {exc}")
        issuer_cert = self._x509(issuer)
        if crl.issuer != issuer_cert.subject:
            return _Answer(
                "bad_signature",
                f"the CRL at {url} is issued by '{crl.issuer.rfc4514_string()}', not by '{issuer.subject}'",
            )
        if issuer.key_usage is not None and "crl_sign" not in issuer.key_usage:
            return _Answer(
                "bad_signature", f"'{issuer.subject}' is not allowed to sign CRLs (keyUsage lacks cRLSign)"
            )
        try:
            valid = crl.is_signature_valid(issuer_cert.public_key())  # type: ignore[arg-type]
        except Exception:
            valid = False
        if not valid:
            return _Answer(
                "bad_signature", f"the CRL at {url} is not signed by the key of '{issuer.subject}'"
            )
        this_update = crl.last_update_utc
        next_update = crl.next_update_utc
        if this_update > self.at + _SKEW:
            return _Answer("stale", f"the CRL at {url} is not valid before {this_update:%Y-%m-%d %H:%M} UTC")
        if next_update is not None and next_update < self.at:
            return _Answer(
                "stale",
                f"the CRL at {url} expired on {next_update:%Y-%m-%d %H:%M} UTC (nextUpdate) and was not renewed",
            )
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None and entry.revocation_date_utc <= self.at:
            reason = _crl_reason(entry)
            return _Answer(
                "revoked",
                f"'{cert.subject}' is revoked since {entry.revocation_date_utc:%Y-%m-%d}{reason} according to the CRL at {url}",
            )
        return _Answer("good", f"'{cert.subject}' is not on the CRL at {url}")

    # -- OCSP

    def _ocsp_answer(self, cert: CertInfo, issuer: CertInfo, url: str) -> _Answer:
        key = (cert.sha256, url)
        answer = self._ocsp.get(key)
        if answer is None:
            answer = self._ocsp[key] = self._ask_ocsp(cert, issuer, url)
        return answer

    def _ask_ocsp(self, cert: CertInfo, issuer: CertInfo, url: str) -> _Answer:
        leaf_cert, issuer_cert = self._x509(cert), self._x509(issuer)
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(leaf_cert, issuer_cert, hashes.SHA1())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        try:
            data = self._fetch(url, request, "application/ocsp-request")
        except _FetchError as exc:
            return _Answer("unreachable", f"the OCSP responder could not be asked: {exc}")
        try:
            resp = ocsp.load_der_ocsp_response(data)
        except ValueError:
            return _Answer("unknown", f"the OCSP responder at {url} did not send a readable OCSP response")
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return _Answer(
                "unknown",
                f"the OCSP responder at {url} refused to answer ({resp.response_status.name.lower()})",
            )
        problem = self._ocsp_signature_problem(resp, issuer_cert, issuer)
        if problem:
            return _Answer("bad_signature", f"the OCSP response from {url} {problem}")
        single = None
        for one in resp.responses:
            if one.serial_number == cert.serial_number:
                single = one
                break
        if single is None:
            return _Answer("unknown", f"the OCSP response from {url} says nothing about '{cert.subject}'")
        if single.this_update_utc > self.at + _SKEW:
            return _Answer(
                "stale",
                f"the OCSP response from {url} is dated in the future ({single.this_update_utc:%Y-%m-%d})",
            )
        if single.next_update_utc is not None and single.next_update_utc < self.at:
            return _Answer(
                "stale",
                f"the OCSP response from {url} expired on {single.next_update_utc:%Y-%m-%d %H:%M} UTC",
            )
        status = single.certificate_status
        if status == ocsp.OCSPCertStatus.GOOD:
            return _Answer("good", f"the OCSP responder at {url} reports '{cert.subject}' as good")
        if status == ocsp.OCSPCertStatus.REVOKED:
            when = single.revocation_time_utc
            reason = f" ({single.revocation_reason.name})" if single.revocation_reason else ""
            since = f" since {when:%Y-%m-%d}" if when else ""
            return _Answer(
                "revoked", f"the OCSP responder at {url} reports '{cert.subject}' as revoked{since}{reason}"
            )
        return _Answer(
            "unknown", f"the OCSP responder at {url} does not know '{cert.subject}' (status UNKNOWN)"
        )

    def _ocsp_signature_problem(
        self, resp: ocsp.OCSPResponse, issuer_cert: x509.Certificate, issuer: CertInfo
    ) -> str | None:
        """None if signed by the issuer or by a responder the issuer delegated to (RFC 6960 4.2.2.2)."""
        data, sig, hash_alg = resp.tbs_response_bytes, resp.signature, resp.signature_hash_algorithm
        if _responder_matches(resp, issuer_cert):
            if _verify(issuer_cert.public_key(), sig, data, hash_alg):
                return None
            return f"is not signed by the key of '{issuer.subject}'"
        for responder in resp.certificates:
            if not _responder_matches(resp, responder):
                continue
            try:
                responder.verify_directly_issued_by(issuer_cert)
            except Exception:
                return f"is signed by '{responder.subject.rfc4514_string()}', which '{issuer.subject}' did not issue"
            try:
                eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
                delegated = ExtendedKeyUsageOID.OCSP_SIGNING in eku
            except x509.ExtensionNotFound:
                delegated = False
            if not delegated:
                return (
                    f"is signed by '{responder.subject.rfc4514_string()}', which lacks the OCSP signing EKU"
                )
            if not responder.not_valid_before_utc <= self.at <= responder.not_valid_after_utc:
                return f"is signed by the responder certificate '{responder.subject.rfc4514_string()}', which is not valid now"
            if _verify(responder.public_key(), sig, data, hash_alg):
                return None
            return f"is not signed by the key of its responder certificate '{responder.subject.rfc4514_string()}'"
        return (
            "is signed by a responder that is neither the issuer nor a certificate included in the response"
        )


def _responder_matches(resp: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if resp.responder_name is not None:
        return resp.responder_name == cert.subject
    key_hash = resp.responder_key_hash
    if key_hash is None:
        return False
    try:
        ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key())  # type: ignore[arg-type]
    except Exception:
        return False
    return ski.digest == key_hash


def _crl_reason(entry: x509.RevokedCertificate) -> str:
    try:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except Exception:
        return ""
    return f" ({reason.name})"
