"""RevocationChecker (and TrustStore's AIA fetch) against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.trust_pki import Issued, issue, make_crl, make_ocsp_response, new_key
from workers.certs.revocation import RevocationChecker
from workers.certs.trust import TrustStore

AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

Route = Callable[[bytes], tuple[int, str, bytes]]


class Server:
    """A tiny HTTP server whose routes the test sets: path → fn(request body) → (status, type, body)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                hits.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                status, ctype, payload = route(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Pki:
    def __init__(self, server: Server, *, cdp: bool = True, aia: bool = True) -> None:
        self.root = issue("Rev Root", ca=True)
        self.ca = issue(
            "Rev Issuing CA",
            self.root,
            ca=True,
            crl_urls=[server.url("/root.crl")],
        )
        self.leaf = issue(
            "alice",
            self.ca,
            emails=["alice@contoso.com"],
            crl_urls=[server.url("/ca.crl")] if cdp else [],
            ocsp_urls=[server.url("/ocsp")] if aia else [],
        )
        self.path = (self.leaf.info, self.ca.info, self.root.info)
        server.routes["/root.crl"] = lambda _b: (200, "application/pkix-crl", make_crl(self.root))
        server.routes["/ca.crl"] = lambda _b: (200, "application/pkix-crl", make_crl(self.ca))

    def ocsp(self, server: Server, **kwargs: object) -> None:
        cert_for: dict[int, Issued] = {self.leaf.cert.serial_number: self.leaf}

        def answer(body: bytes) -> tuple[int, str, bytes]:
            return 200, "application/ocsp-response", make_ocsp_response(body, self.ca, cert_for, **kwargs)  # type: ignore[arg-type]

        server.routes["/ocsp"] = answer


def test_good_via_ocsp(server: Server) -> None:
    pki = Pki(server)
    pki.ocsp(server)
    leaf, ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("good", "ocsp"), leaf.detail
    assert leaf.cert_sha256 == pki.leaf.info.sha256
    assert (ca.status, ca.source) == ("good", "crl"), ca.detail  # the CA has only a CDP


def test_revoked_via_crl(server: Server) -> None:
    pki = Pki(server)
    server.routes["/ca.crl"] = lambda _b: (
        200,
        "application/pkix-crl",
        make_crl(pki.ca, [pki.leaf.cert.serial_number]),
    )
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)  # OCSP route missing → HTTP 404
    assert (leaf.status, leaf.source) == ("revoked", "crl"), leaf.detail
    assert "2025-01-01" in leaf.detail


def test_revoked_via_ocsp(server: Server) -> None:
    pki = Pki(server)
    pki.ocsp(server, revoked=[pki.leaf.cert.serial_number])
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("revoked", "ocsp"), leaf.detail


def test_unknown_via_ocsp_falls_back_to_crl(server: Server) -> None:
    pki = Pki(server)
    pki.ocsp(server, unknown=[pki.leaf.cert.serial_number])
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("good", "crl"), leaf.detail


def test_stale_crl(server: Server) -> None:
    pki = Pki(server, aia=False)
    stale = make_crl(pki.ca, next_update=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    server.routes["/ca.crl"] = lambda _b: (200, "application/pkix-crl", stale)
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("stale", "crl"), leaf.detail
    assert "2026-01-01" in leaf.detail


def test_crl_signed_by_wrong_key(server: Server) -> None:
    pki = Pki(server, aia=False)
    forged = make_crl(pki.ca, sign_key=new_key())
    server.routes["/ca.crl"] = lambda _b: (200, "application/pkix-crl", forged)
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("bad_signature", "crl"), leaf.detail


def test_ocsp_response_with_bad_signature(server: Server) -> None:
    pki = Pki(server, cdp=False)
    pki.ocsp(server, corrupt_signature=True)
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("bad_signature", "ocsp"), leaf.detail


def test_ocsp_delegated_responder(server: Server) -> None:
    from cryptography.x509.oid import ExtendedKeyUsageOID

    pki = Pki(server, cdp=False)
    responder = issue("Rev OCSP", pki.ca, eku=[ExtendedKeyUsageOID.OCSP_SIGNING])
    pki.ocsp(server, responder=responder)
    leaf, _ca = RevocationChecker(AT).check_path(pki.path)
    assert (leaf.status, leaf.source) == ("good", "ocsp"), leaf.detail

    # a responder certificate without id-kp-OCSPSigning is not a delegated responder
    server2 = Server()
    try:
        pki2 = Pki(server2, cdp=False)
        plain = issue("Not OCSP", pki2.ca)
        pki2.ocsp(server2, responder=plain)
        leaf2, _ = RevocationChecker(AT).check_path(pki2.path)
        assert leaf2.status == "bad_signature", leaf2.detail
    finally:
        server2.close()


def test_unreachable_closed_port() -> None:
    port = closed_port()
    root = issue("Root", ca=True)
    ca = issue("CA", root, ca=True)
    leaf = issue(
        "alice", ca, crl_urls=[f"http://127.0.0.1:{port}/ca.crl"], ocsp_urls=[f"http://127.0.0.1:{port}/ocsp"]
    )
    start = time.monotonic()
    result, _ = RevocationChecker(AT, timeout=2).check_path((leaf.info, ca.info, root.info))
    assert result.status == "unreachable" and result.source is None, result.detail
    assert time.monotonic() - start < 5


def test_slow_server_times_out(server: Server) -> None:
    pki = Pki(server, aia=False)

    def slow(_b: bytes) -> tuple[int, str, bytes]:
        time.sleep(4)
        return 200, "application/pkix-crl", make_crl(pki.ca)

    server.routes["/ca.crl"] = slow
    checker = RevocationChecker(AT, timeout=1)
    start = time.monotonic()
    result = checker.check_path(pki.path[:2])
    elapsed = time.monotonic() - start
    assert [r.status for r in result] == ["unreachable"], result
    assert elapsed < 2.5, elapsed
    # cached per URL: asking again does not wait again
    start = time.monotonic()
    checker.check_path(pki.path[:2])
    assert time.monotonic() - start < 0.5


def test_no_endpoint() -> None:
    root = issue("Root", ca=True)
    ca = issue("CA", root, ca=True)
    leaf = issue("alice", ca)
    ldap_only = issue(
        "bob", ca, crl_urls=["ldap:///CN=CA,CN=CDP,DC=contoso,DC=local?certificateRevocationList"]
    )
    checker = RevocationChecker(AT)
    assert checker.check_path((leaf.info, ca.info, root.info))[0].status == "no_endpoint"
    r = checker.check_path((ldap_only.info, ca.info))[0]
    assert r.status == "no_endpoint" and "ldap:" in r.detail
    assert checker.check_path((root.info,)) == []


def test_results_cached_per_certificate(server: Server) -> None:
    pki = Pki(server)
    pki.ocsp(server)
    checker = RevocationChecker(AT)
    checker.check_path(pki.path)
    n = len(server.hits)
    checker.check_path(pki.path)
    assert len(server.hits) == n


def test_truststore_fetches_missing_intermediate_via_aia(server: Server) -> None:
    root = issue("AIA Root", ca=True)
    ca = issue("AIA Issuing CA", root, ca=True)
    server.routes["/ca.cer"] = lambda _b: (200, "application/pkix-cert", ca.der)
    leaves = [issue(f"u{i}", ca, ca_issuer_urls=[server.url("/ca.cer")]) for i in range(3)]
    offline = TrustStore([root.info], at=AT)
    r = offline.validate(leaves[0].info)
    assert not r.ok and r.reason_code == "no_issuer" and "--online" in (r.error or "")
    with TrustStore([root.info], at=AT, online=True, timeout=5) as ts:
        results = [ts.validate(leaf.info) for leaf in leaves]
    for result in results:
        assert result.ok, result.error
        assert result.needed_aia_fetch
        assert result.path[1].sha256 == ca.info.sha256
    assert "/ca.cer" in server.hits


def test_truststore_aia_unreachable_is_no_issuer() -> None:
    root = issue("AIA Root", ca=True)
    ca = issue("AIA Issuing CA", root, ca=True)
    leaf = issue("u", ca, ca_issuer_urls=[f"http://127.0.0.1:{closed_port()}/ca.cer"])
    with TrustStore([root.info], at=AT, online=True, timeout=2) as ts:
        r = ts.validate(leaf.info)
    assert not r.ok and r.reason_code == "no_issuer" and not r.needed_aia_fetch
