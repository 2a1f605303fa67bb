"""Exchange Online and Graph sources against the Microsoft 365 emulator, over real HTTPS sockets.

Real msal signs in (certificate and secret) against the emulator's discovery and token
endpoints; the sources speak the REST admin API and Graph wire formats. The equivalence
test collects the demo tenant through the wire and holds every demo user's report to the
one the bundled snapshot gives.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from bot.cli import main as cli_main
from tests.emulators.m365 import RunningEmulator, start_emulator
from workers.demo_tenant import DATA_DIR, EXPECTED_FILE
from workers.errors import (
    AuthError,
    ExchangeError,
    GraphError,
    MalformedResponseError,
    RecipientNotFoundError,
    SmimeDoctorError,
    SyncedRecipientWriteError,
    ThrottledError,
)
from workers.sources import parsing
from workers.sources.cloud_collect import write_cloud_snapshot
from workers.sources.m365_auth import EXCHANGE_SCOPE, GRAPH_SCOPE, RetryPolicy

REPO = Path(__file__).resolve().parents[2]
AT = "2026-11-20T06:00:00Z"
FAST = RetryPolicy(attempts=4, budget_s=10, base_s=0.01, cap_s=0.05)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()


# -- the wire format round-trips: collect the demo tenant, diagnose everyone ---------------------


def _findings(snapshot: Path, query: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli_main(["diagnose", query, "--snapshot", str(snapshot), "--format", "json", "--at", AT])
    report = json.loads(out.getvalue())
    return {
        "verdict": report["verdict"],
        "findings": sorted((f["check"], f["status"], f["certificate"] or "") for f in report["findings"]),
        "certificates": sorted((c["sha256"], tuple(sorted(c["locations"]))) for c in report["certificates"]),
    }


def test_snapshot_collected_from_the_emulator_gives_every_demo_user_the_same_report(
    emu: RunningEmulator, tmp_path: Path
) -> None:
    write_cloud_snapshot(emu.exchange(), emu.graph(), tmp_path)
    for name in ("ad.ldif", "ad-config.ldif", "snapshot.json", "contoso-root-ca.pem"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    assert (tmp_path / "smime-issuing-ca.sst").read_bytes() == (
        DATA_DIR / "smime-issuing-ca.sst"
    ).read_bytes()
    # a whole audit's worth of cloud data: one page each plus the two tenant objects
    assert emu.counts["exo"] == 2 and emu.counts["graph"] == 2

    expected = json.loads(EXPECTED_FILE.read_text())
    queries = [v["query"] for k, v in expected.items() if k != "tenant"]
    assert len(queries) == 43
    differing = [q for q in queries if _findings(DATA_DIR, q) != _findings(tmp_path, q)]
    assert differing == []

    # and through the installed console script, for users whose values travel differently
    # (integer arrays, a flat integer array, junk, a cloud-only user, a group)
    script = Path(sys.executable).parent / "smime-doctor"

    def run(query: str, snapshot: Path) -> list[tuple[str, str, str]]:
        proc = subprocess.run(
            [str(script), "diagnose", query, "--snapshot", str(snapshot), "--format", "json", "--at", AT],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode in (0, 1), proc.stderr
        return sorted(
            (f["check"], f["status"], f["certificate"] or "") for f in json.loads(proc.stdout)["findings"]
        )

    picks = [
        "alex.wilber",
        "lynne.robbins",
        "junk.value",
        "christie.cline@contoso.example",
        "sales@contoso.example",
    ]
    with ThreadPoolExecutor(4) as pool:
        demo = list(pool.map(lambda q: run(q, DATA_DIR), picks))
        live = list(pool.map(lambda q: run(q, tmp_path), picks))
    assert demo == live


def test_records_have_the_snapshot_shape(emu: RunningEmulator) -> None:
    exo, graph = emu.exchange(), emu.graph()
    rec = exo.get_recipient("alex.wilber@contoso.example")
    assert (
        rec is not None
        and isinstance(rec["UserCertificate"], list)
        and isinstance(rec["UserCertificate"][0], str)
    )
    assert rec["UserCertificate@odata.type"] == "#Collection(String)"
    values = parsing.exo_cert_values(rec)
    assert [loc for loc, _ in values] == ["exo.UserCertificate"] and isinstance(values[0][1], bytes)
    user = graph.get_user(rec["ExternalDirectoryObjectId"])
    assert user is not None
    demo_users = {u["id"]: u for u in parsing.load_json_records(DATA_DIR / "entra-users.json")}
    assert user == demo_users[user["id"]]
    assert graph.get_user("alex.wilber@contoso.example") == user  # by UPN/mail
    assert graph.get_user("smtp-alias-test") is None
    assert graph.get_organization() == parsing.load_json_records(DATA_DIR / "entra-organization.json")[0]
    assert exo.get_smime_config()["Identity"] == "SmimeConfig"
    assert exo.get_cas_mailbox("adele.vance")["OwaMailboxPolicy"] == "OwaMailboxPolicy-Default"
    assert exo.get_owa_mailbox_policy()[0]["Identity"] == "OwaMailboxPolicy-Default"
    assert exo.get_mailbox("adele.vance")["Alias"] == "adele.vance"
    assert exo.get_mail_user("adele.vance") is None


def test_a_proxy_address_is_found_through_the_advanced_query(emu: RunningEmulator) -> None:
    graph = emu.graph()
    user = graph.get_user("adele.vance@contoso.mail.onmicrosoft.com")
    assert user is not None and user["userPrincipalName"] == "adele.vance@contoso.example"
    assert emu.counts["graph"] == 2  # UPN/mail first, then proxyAddresses with ConsistencyLevel: eventual


def test_without_certificates_from_get_recipient_the_full_cmdlets_are_used(emu: RunningEmulator) -> None:
    reference = list(emu.exchange().iter_recipients())
    single = emu.exchange().get_recipient("adele.vance")
    emu.reset()
    emu.knobs.recipient_properties = False  # should Get-Recipient -Properties not return certificates
    exo = emu.exchange()
    assert exo.get_recipient("adele.vance") == single
    assert emu.counts["exo"] == 2  # Get-Recipient, then Get-Mailbox
    assert list(exo.iter_recipients()) == reference


# -- sign-in ------------------------------------------------------------------------------------


@pytest.mark.parametrize("credential", ["certificate", "secret"])
def test_app_only_sign_in_and_the_token_cache(emu: RunningEmulator, credential: str) -> None:
    tokens = emu.token_provider(credential)
    exo_token = tokens.token(EXCHANGE_SCOPE)
    claims = jwt.decode(exo_token, options={"verify_signature": False})
    assert claims["aud"] == "https://outlook.office365.com" and claims["roles"] == ["Exchange.ManageAsApp"]
    graph_claims = jwt.decode(tokens.token(GRAPH_SCOPE), options={"verify_signature": False})
    assert graph_claims["aud"] == "https://graph.microsoft.com"
    assert tokens.token(EXCHANGE_SCOPE) == exo_token  # from the cache
    assert emu.counts["token"] == 2 and emu.counts["discovery"] == 1
    assert emu.app.client_secret not in repr(tokens) and "PRIVATE KEY" not in repr(tokens)


def _sign_in_error(emu: RunningEmulator, **overrides: Any) -> str:
    with pytest.raises(AuthError) as info:
        emu.exchange(tokens=emu.token_provider(**overrides)).get_recipient("adele.vance")
    return str(info.value)


def test_bad_credentials_name_the_app_and_the_failing_step(emu: RunningEmulator) -> None:
    app = emu.app.client_id
    msg = _sign_in_error(emu, credential="secret", client_secret="not-the-secret")
    assert app in msg and "Exchange Online" in msg and "AADSTS7000215" in msg and "not-the-secret" not in msg

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    msg = _sign_in_error(emu, certificate_pem=other)  # right thumbprint, wrong key
    assert app in msg and "invalid_client" in msg and "certificate" in msg

    msg = _sign_in_error(emu, thumbprint="AB" * 20)  # a certificate the app does not have
    assert "AADSTS700027" in msg

    msg = _sign_in_error(emu, client_id="00000000-0000-0000-0000-000000000001")
    assert "00000000-0000-0000-0000-000000000001" in msg and "not registered" in msg

    msg = _sign_in_error(
        emu, tenant="nosuch.onmicrosoft.com", authority=f"{emu.base_url}/nosuch.onmicrosoft.com"
    )
    assert app in msg and "discovering the sign-in authority" in msg


def test_a_wrong_scope_is_refused(emu: RunningEmulator) -> None:
    with pytest.raises(AuthError, match="invalid_scope"):
        emu.token_provider().token("https://management.azure.com/user_impersonation")


def test_an_expired_token_is_renewed_once(emu: RunningEmulator) -> None:
    exo = emu.exchange()
    assert exo.get_recipient("adele.vance") is not None
    emu.revoke_tokens()  # the service now refuses the cached token (401 invalid_token)
    assert exo.get_recipient("megan.bowen") is not None
    assert emu.counts["token"] == 2 and emu.counts["exo"] == 3


def test_short_lived_tokens_are_fetched_again(emu: RunningEmulator) -> None:
    emu.knobs.token_lifetime_s = 60  # msal treats a token with under 5 minutes left as expired
    exo = emu.exchange()
    exo.get_recipient("adele.vance")
    exo.get_recipient("megan.bowen")
    assert emu.counts["token"] == 2


def test_the_emulator_checks_the_bearer_token(emu: RunningEmulator) -> None:
    url = f"{emu.base_url}/adminapi/beta/{emu.tenant}/InvokeCommand"
    body: dict[str, Any] = {"CmdletInput": {"CmdletName": "Get-SmimeConfig", "Parameters": {}}}
    s = emu.session()
    assert s.post(url, json=body, timeout=10).status_code == 401
    graph_token = emu.token_provider().token(GRAPH_SCOPE)
    resp = s.post(url, json=body, headers={"Authorization": f"Bearer {graph_token}"}, timeout=10)
    assert resp.status_code == 401 and "audience" in resp.headers["WWW-Authenticate"]


# -- throttling ----------------------------------------------------------------------------------


def test_throttling_honours_retry_after(emu: RunningEmulator) -> None:
    exo = emu.exchange(retry=FAST)
    exo.get_smime_config()  # sign in first
    emu.throttle_next("exo", 1, retry_after=1)
    emu.throttle_next("exo", 1, retry_after=0, status=503)
    started = time.monotonic()
    assert exo.get_recipient("adele.vance") is not None
    assert time.monotonic() - started >= 1.0
    assert emu.counts["exo"] == 4


def test_the_concurrency_limit_body_is_retried(emu: RunningEmulator) -> None:
    emu.knobs.concurrency_limit = {"exo": 1}
    emu.knobs.latency_s = 0.05
    exo = emu.exchange(retry=RetryPolicy(attempts=12, budget_s=10, base_s=0.02, cap_s=0.2))
    names = ["adele.vance", "megan.bowen", "alex.wilber", "diego.siciliani"]
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(exo.get_recipient, names))
    assert [r["Alias"] for r in found] == names
    assert emu.counts["exo"] > 4  # some were refused and retried


def test_throttling_is_bounded(emu: RunningEmulator) -> None:
    exo = emu.exchange(retry=FAST)
    emu.throttle_next("exo", 10, retry_after=0)
    with pytest.raises(ThrottledError, match="kept throttling while running Get-Recipient"):
        exo.get_recipient("adele.vance")
    assert emu.counts["exo"] == FAST.attempts


def test_batch_items_throttled_on_their_own_are_retried(emu: RunningEmulator) -> None:
    graph = emu.graph(retry=FAST)
    ids = [u["id"] for u in parsing.load_json_records(DATA_DIR / "entra-users.json")][:25]
    emu.throttle_batch_items(3, retry_after=0)
    found = graph.get_users([*ids, "nobody@contoso.example"])
    assert all(found[i]["id"] == i for i in ids) and found["nobody@contoso.example"] is None
    # 25 ids: 2 batches + 1 retry of the 3 throttled items; the unknown mail costs its proxy-address round
    assert emu.counts["graph"] == 4 and emu.counts["graph_batch_items"] == 26 + 3 + 1


# -- paging ---------------------------------------------------------------------------------------


def test_paging_across_several_pages(emu: RunningEmulator) -> None:
    small = list(emu.exchange(page_size=10).iter_recipients())
    assert emu.counts["exo"] == 5
    assert small == list(emu.exchange().iter_recipients())
    emu.reset()
    users = list(emu.graph(page_size=10).iter_users())
    assert emu.counts["graph"] == 5 and len(users) == 41
    assert users == parsing.load_json_records(DATA_DIR / "entra-users.json")


# -- missing objects, remediation ------------------------------------------------------------------


def test_a_recipient_that_does_not_exist(emu: RunningEmulator) -> None:
    exo, graph = emu.exchange(), emu.graph()
    assert exo.get_recipient("nobody@contoso.example") is None
    assert exo.get_mailbox("nobody") is None
    assert graph.get_user("nobody@contoso.example") is None
    assert graph.get_user("00000000-0000-0000-0000-00000000abcd") is None
    with pytest.raises(RecipientNotFoundError, match="'nobody'"):
        exo.clear_certificates("nobody")


def test_clearing_certificates_cloud_only_works_synced_is_refused() -> None:
    with start_emulator() as emu:  # its own tenant: this test changes it
        exo = emu.exchange()
        before = exo.get_recipient("christie.cline@contoso.example")
        assert before and before["UserCertificate"]
        exo.clear_certificates("christie.cline@contoso.example")
        assert exo.get_recipient("christie.cline@contoso.example")["UserCertificate"] == []
        with pytest.raises(SyncedRecipientWriteError) as info:
            exo.clear_certificates("adele.vance")
        assert "on-premises Active Directory" in str(info.value) and "userCertificate" in str(info.value)
        assert exo.get_recipient("adele.vance")["UserCertificate"]


# -- malformed and failed answers become our errors ----------------------------------------------------


@pytest.mark.parametrize(
    ("service", "status", "body", "content_type", "error", "words"),
    [
        (
            "exo",
            200,
            b"<html>Service unavailable</html>",
            "text/html",
            MalformedResponseError,
            "not JSON (text/html",
        ),
        ("exo", 200, b'{"value": "oops"}', "application/json", MalformedResponseError, "list of objects"),
        ("exo", 200, b"[1, 2]", "application/json", MalformedResponseError, "not an object"),
        ("exo", 500, b"", "text/plain", MalformedResponseError, "HTTP 500 and no readable error"),
        (
            "exo",
            400,
            b'{"error": {"code": "BadRequest", "message": "Error executing cmdlet", "details": '
            b'[{"message": "Ex1|Microsoft.Exchange.Foo.BarException|A parameter cannot be found."}]}}',
            "application/json",
            ExchangeError,
            "A parameter cannot be found. (BarException)",
        ),
        ("exo", 403, b"{}", "application/json", AuthError, "Global Reader"),
        (
            "graph",
            200,
            b"\xff\xfe garbage",
            "application/octet-stream",
            MalformedResponseError,
            "not a JSON object",
        ),
        ("graph", 200, b'{"value": [1]}', "application/json", MalformedResponseError, "list of objects"),
        (
            "graph",
            500,
            b'{"error": {"code": "generalException", "message": "General error."}}',
            "application/json",
            GraphError,
            "generalException: General error.",
        ),
        (
            "graph",
            403,
            b'{"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}',
            "application/json",
            AuthError,
            "User.Read.All",
        ),
    ],
)
def test_malformed_or_failed_answers_are_typed_errors(
    emu: RunningEmulator, service: str, status: int, body: bytes, content_type: str, error: type, words: str
) -> None:
    source = emu.exchange(retry=FAST) if service == "exo" else emu.graph(retry=FAST)
    emu.fail_next(service, status, body, content_type=content_type)
    with pytest.raises(error) as info:
        if service == "exo":
            source.iter_recipients().__next__()
        else:
            source.iter_users().__next__()
    assert isinstance(info.value, SmimeDoctorError) and words in str(info.value)


def test_a_next_link_to_another_host_is_not_followed(emu: RunningEmulator) -> None:
    emu.fail_next("exo", 200, {"value": [], "@odata.nextLink": "https://attacker.example/steal"})
    with pytest.raises(MalformedResponseError, match="refusing to follow"):
        list(emu.exchange().iter_recipients())


def test_single_user_calls_are_thread_safe_and_sign_in_once(emu: RunningEmulator, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = emu.token_provider("secret")
    exo, graph = emu.exchange(tokens=tokens, retry=FAST), emu.graph(tokens=tokens, retry=FAST)
    users = parsing.load_json_records(DATA_DIR / "entra-users.json")
    emu.throttle_next("exo", 2, retry_after=0)
    with ThreadPoolExecutor(8) as pool:
        recs = list(pool.map(lambda u: exo.get_recipient(u["id"]), users))
        entra = list(pool.map(lambda u: graph.get_user(u["userPrincipalName"]), users))
    assert all(
        r is None or r["ExternalDirectoryObjectId"] == u["id"] for r, u in zip(recs, users, strict=True)
    )
    in_exo = {
        r["ExternalDirectoryObjectId"] for r in parsing.load_json_records(DATA_DIR / "exo-recipients.json")
    }
    assert [r is not None for r in recs] == [u["id"] in in_exo for u in users]
    assert [e["id"] for e in entra] == [u["id"] for u in users]
    assert emu.counts["token"] == 2  # one per scope, however many threads
    logged = caplog.text
    assert emu.app.client_secret not in logged
    assert tokens.token(EXCHANGE_SCOPE) not in logged and tokens.token(GRAPH_SCOPE) not in logged


# -- the emulator from the command line -------------------------------------------------------------


def test_the_emulator_runs_from_the_command_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.m365", "--state-dir", str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "Microsoft 365 emulator for contoso.onmicrosoft.com at https://127.0.0.1:" in first, (
            proc.stderr
        )
        app = json.loads((tmp_path / "app.json").read_text())
        session = requests.Session()
        session.trust_env = False
        session.verify = app["ca_file"]
        from workers.sources.exchange import ExchangeSource
        from workers.sources.m365_auth import TokenProvider

        tokens = TokenProvider(
            app["tenant"],
            app["client_id"],
            certificate_pem=Path(app["certificate_key_file"]).read_text(),
            authority=app["authority"],
            http_client=session,
        )  # thumbprint computed from the certificate in the PEM
        exo = ExchangeSource(
            app["tenant"], tokens, base_url=app["exchange_base_url"], session_factory=lambda: session
        )
        found = exo.get_recipient("adele.vance")
        assert found is not None and found["Alias"] == "adele.vance"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
