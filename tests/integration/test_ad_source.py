"""The live AD source against a real Samba AD DC loaded with the demo tenant.

Equivalence is proven on the data layer and through the command line:

1. every demo user read live (`AdSource.find_user`) equals its record in the demo's ad.ldif,
   attribute by attribute (certificates byte-identical in any order, objectGUID and whenChanged
   included);
2. a snapshot collected from Samba (`write_ad_snapshot`) plus the demo's EXO/Entra/SST files
   diagnoses every demo user exactly like the demo snapshot (check, status, certificate).

Why nothing has to be excused: the loader keeps the demo's objectGUIDs (Samba accepts them
locally with the relax control, so Entra's onPremisesImmutableId still matches) and writes the
demo's whenChanged into the database (Samba stamps whenChanged itself and refuses it over LDAP;
tests/samba/samdb_tool.py patches it in the partition file). So fresh.cert still changed 20
minutes before collected_at and exo.cert_matches_ad still says "flowing" for it; snapshot.json's
collected_at is copied unchanged.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.samba import dc as samba
from tests.samba.helpers import READER, SERVICE_PASSWORD, admin_connection, settings_for
from workers.demo_tenant import COLLECTED_AT, DATA_DIR
from workers.errors import (
    AdAuditInterrupted,
    AdAuthError,
    AdConnectionError,
    AmbiguousUserError,
    UnknownUserError,
)
from workers.sources import parsing
from workers.sources.ad import USER_ATTRIBUTES, AdSource
from workers.sources.ad_collect import write_ad_snapshot
from workers.sources.snapshot import Snapshot

DEMO = list(parsing.iter_ldif(DATA_DIR / "ad.ldif"))
READ = [a.lower() for a in USER_ATTRIBUTES] + ["extensionattribute15"]
CERTS = {"usercertificate", "usersmimecertificate"}


def _comparable(attrs: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    """The attributes the product reads; multi-valued binary attributes compared as sets."""
    out = {}
    for name in READ:
        values = attrs.get(name, [])
        out[name] = sorted(values) if name in CERTS or name in ("proxyaddresses", "objectclass") else values
    return out


# -- reading --------------------------------------------------------------------------------


def test_every_demo_user_reads_exactly_like_the_snapshot(ad: AdSource) -> None:
    for dn, expected in DEMO:
        sam = expected["samaccountname"][0].decode()
        live_dn, live = ad.find_user(sam)
        assert live_dn == dn
        assert _comparable(live) == _comparable(expected), sam
        assert parsing.ad_user_from_ldif(live_dn, live) == parsing.ad_user_from_ldif(dn, expected)
        assert parsing.ad_cert_values(live) == parsing.ad_cert_values(expected) or sorted(
            parsing.ad_cert_values(live)
        ) == sorted(parsing.ad_cert_values(expected))


@pytest.mark.parametrize(
    "query",
    [
        "mixed.case",  # sAMAccountName
        "CONTOSO\\mixed.case",
        "Mixed.Case@contoso.example",  # mail, original case
        "MIXED.CASE@CONTOSO.EXAMPLE",  # mail, any case
        "mixed.case@contoso.mail.onmicrosoft.com",  # a secondary proxyAddresses value
        "SMTP:mixed.case@contoso.example",
        "mixed.case@contoso.example",  # UPN
    ],
)
def test_find_user_by_any_name(ad: AdSource, query: str) -> None:
    dn, _ = ad.find_user(query)
    assert dn == "CN=Max Mixed-Case,OU=Users,OU=Contoso,DC=contoso,DC=example"


def test_find_user_by_object_guid(ad: AdSource) -> None:
    dn, attrs = DEMO[0]
    guid, _ = parsing.guid_from_bytes(attrs["objectguid"][0]) or ("", "")
    assert ad.find_user(guid)[0] == dn
    assert ad.find_user("{" + guid.upper() + "}")[0] == dn


def test_secondary_address_of_another_user(ad: AdSource) -> None:
    assert ad.find_user("pat.ops@contoso.example")[0].startswith("CN=Patricia Ops,")


@pytest.mark.parametrize(
    "hostile",
    [
        "*",
        "adele*",
        "*)(mail=*",
        "adele.vance)(|(sAMAccountName=*",
        "*)(objectClass=*))(|(cn=*",
        "\\",
        "\\2a",
        "adele.vance\x00",
        "\x00",
        "(",
        ")",
        "adele.vance)",
        "CONTOSO\\*",
        "smtp:*",
    ],
)
def test_filter_input_is_escaped(ad: AdSource, hostile: str) -> None:
    """Wildcards and filter syntax in a name are literal: they match nobody, never many users."""
    with pytest.raises(UnknownUserError):
        ad.find_user(hostile)


def test_ambiguous_name_lists_the_candidates(ad: AdSource, samba_dc: samba.DomainController) -> None:
    conn = admin_connection(samba_dc)
    dn = "CN=Shadow Alice,CN=Users,DC=contoso,DC=example"
    conn.add(dn, ["top", "person", "organizationalPerson", "user"], {"sAMAccountName": "shadow.alice",
             "proxyAddresses": ["smtp:alice@contoso.example"]})  # fmt: skip
    try:
        with pytest.raises(AmbiguousUserError) as err:
            ad.find_user("alice@contoso.example")
        assert "Shadow Alice" in str(err.value) and "Alice Uppercase" in str(err.value)
    finally:
        conn.delete(dn)
        conn.unbind()


def test_chat_names_are_found_by_ambiguous_name_resolution(ad: AdSource) -> None:
    """How colleagues name people in chat, against Samba's anr: first names, surnames, the start
    of a name ("carl" is Carl and Carla), and hostile input that matches nobody."""
    from workers.sources.live import LiveDirectory

    live = LiveDirectory(ad, None, None)
    by = {name: sorted(m.primary_smtp.lower() for m in live.people_called(name)) for name in
          ("stella", "Stale", "carl", "Carla Catrue", "nobody-such", "*", "a)(b")}  # fmt: skip
    assert by["stella"] == by["Stale"] == ["stale.smime@contoso.example"]
    assert by["carl"] == ["ca.true@contoso.example", "eku.clientauth@contoso.example"]
    assert by["Carla Catrue"] == ["ca.true@contoso.example"]
    assert by["nobody-such"] == by["*"] == by["a)(b"] == []


def test_one_search_per_lookup_on_one_reused_connection(ad: AdSource) -> None:
    ad.find_user("adele.vance")
    before = ad.stats.operations
    for name in ("alex.wilber", "megan.bowen", "lynne.robbins"):
        ad.find_user(name)
    assert ad.stats.operations - before == 3
    assert ad.stats.connects == 1


def test_nested_group_membership(ad: AdSource, samba_dc: samba.DomainController) -> None:
    """Roles come from groups within groups: the in-chain rule, not the direct-only memberOf."""
    conn = admin_connection(samba_dc)
    base = "OU=Groups,OU=Contoso,DC=contoso,DC=example"
    partner = "CN=Erik Partner (Fabrikam),OU=Users,OU=Contoso,DC=contoso,DC=example"  # parentheses in a DN
    adele = ad.find_user("adele.vance")[0]
    tier1, helpdesk = f"CN=Tier1 (L1),{base}", f"CN=Helpdesk,{base}"
    conn.add(tier1, "group", {"member": [adele, partner]})
    conn.add(helpdesk, "group", {"member": [tier1]})
    try:
        assert ad.is_member(adele, helpdesk)
        assert ad.is_member(partner, helpdesk)
        assert not ad.is_member(ad.find_user("alex.wilber")[0], helpdesk)
        assert set(ad.groups_of(partner)) == {tier1, helpdesk, f"CN=All Staff,{base}"}
    finally:
        conn.delete(helpdesk)
        conn.delete(tier1)
        conn.unbind()


def test_paged_audit_streams_every_user(ad: AdSource) -> None:
    ops = ad.stats.operations
    seen = [dn for dn, _ in ad.iter_users(page_size=7)]
    assert sorted(seen) == sorted(dn for dn, _ in DEMO)
    assert ad.stats.operations - ops == math.ceil(len(DEMO) / 7)
    whole = {dn: _comparable(a) for dn, a in ad.iter_users()}
    assert whole == {dn: _comparable(a) for dn, a in DEMO}


def test_configuration_partition_matches_the_snapshot(ad: AdSource) -> None:
    live = ad.read_config()
    demo = Snapshot(DATA_DIR).tenant.ad_config
    assert demo is not None
    assert sorted(live.templates, key=lambda t: t.name) == sorted(demo.templates, key=lambda t: t.name)
    for part in ("ca_certificates", "aia_certificates", "ntauth_certificates", "kra_certificates"):
        assert sorted(c.sha256 for c in getattr(live, part)) == sorted(
            c.sha256 for c in getattr(demo, part)
        ), part
    assert live.kra_certificates and live.errors == demo.errors == []
    ops = ad.stats.operations
    assert ad.read_config() is live and ad.stats.operations == ops  # read once, cached


# -- the collector and the command line ----------------------------------------------------


def _diagnose(snapshot: Path, user: str) -> tuple[int, list[tuple[str, str, str | None]]]:
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "diagnose", user, "--snapshot", str(snapshot), "--format", "json",
         "--at", COLLECTED_AT],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    report: dict[str, Any] = json.loads(out.stdout)
    return out.returncode, sorted((f["check"], f["status"], f["certificate"]) for f in report["findings"])


def test_collected_snapshot_diagnoses_every_user_like_the_demo(ad: AdSource, tmp_path: Path) -> None:
    collected = tmp_path / "from-samba"
    write_ad_snapshot(ad, collected)
    for item in DATA_DIR.iterdir():
        if item.is_file() and item.name not in ("ad.ldif", "ad-config.ldif"):
            shutil.copy(item, collected / item.name)  # EXO, Entra, SST, snapshot.json unchanged
    assert {dn for dn, _ in parsing.iter_ldif(collected / "ad.ldif")} == {dn for dn, _ in DEMO}
    users = [a["samaccountname"][0].decode() for _, a in DEMO]
    jobs = [(snap, u) for u in users for snap in (DATA_DIR, collected)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda job: _diagnose(*job), jobs))
    for i, user in enumerate(users):
        demo, live = results[2 * i], results[2 * i + 1]
        assert live == demo, f"{user}: diagnosis differs between the demo snapshot and the Samba collection"


# -- connections, TLS, failure -------------------------------------------------------------


def test_starttls_and_bind_name_forms(samba_dc: samba.DomainController) -> None:
    for user in (
        samba_dc.admin_user,
        f"{samba_dc.netbios}\\Administrator",
        f"CN=Administrator,CN=Users,{samba_dc.base_dn}",
        f"{READER}@contoso.example",
    ):
        password = SERVICE_PASSWORD if user.startswith(READER) else samba_dc.admin_password
        with AdSource(
            settings_for(samba_dc, servers=(samba_dc.ldap_url,), user=user, password=password)
        ) as src:
            assert src.find_user("adele.vance")[1]["usercertificate"]


def test_certificate_verification_is_on_by_default(samba_dc: samba.DomainController) -> None:
    with (
        AdSource(settings_for(samba_dc, ca_file=None)) as src,
        pytest.raises(AdConnectionError, match="not trusted"),
    ):
        src.find_user("adele.vance")


def test_wrong_password_is_a_sentence_without_the_password(samba_dc: samba.DomainController) -> None:
    wrong = "Not-The-Password-42"
    with AdSource(settings_for(samba_dc, password=wrong)) as src, pytest.raises(AdAuthError) as err:
        src.find_user("adele.vance")
    assert "password is wrong" in str(err.value) and wrong not in str(err.value)


def test_unreachable_dc_fails_over_to_the_second(samba_dc: samba.DomainController) -> None:
    dead = samba.free_address(int(samba_dc.address.rsplit(".", 1)[1]) + 1)
    settings = settings_for(samba_dc, servers=(f"ldaps://{dead}", samba_dc.ldaps_url), connect_timeout=2.0)
    with AdSource(settings) as src:
        assert src.find_user("adele.vance")[0].startswith("CN=Adele Vance,")
        assert src.server == f"{samba_dc.address}:636"
    only_dead = settings_for(samba_dc, servers=(f"ldaps://{dead}",))
    with (
        AdSource(only_dead) as src,
        pytest.raises(AdConnectionError, match=f"no domain controller could be reached: {dead}"),
    ):
        src.find_user("adele.vance")


def test_dc_stopping_mid_audit_reports_what_was_read(second_dc: samba.DomainController) -> None:
    got: list[str] = []
    with AdSource(settings_for(second_dc)) as src, pytest.raises(AdAuditInterrupted) as err:
        for dn, _ in src.iter_users(page_size=5):
            got.append(dn)
            if len(got) == 7:
                second_dc.stop()
    assert err.value.delivered == len(got) == 10  # two whole pages were handed out
    assert "stopped after 10" in str(err.value)


def test_a_frozen_dc_times_out(second_dc: samba.DomainController) -> None:
    """Every operation has a timeout: a DC that accepts but never answers does not hang us."""
    with AdSource(settings_for(second_dc, timeout=1.0, connect_timeout=1.0)) as src:
        src.find_user("adele.vance")
        os.kill(second_dc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(AdConnectionError):
                src.find_user("alex.wilber")
            assert time.monotonic() - started < 8
        finally:
            os.kill(second_dc.pid, signal.SIGCONT)
