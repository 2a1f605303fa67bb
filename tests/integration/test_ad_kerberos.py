"""The Kerberos (SASL/GSSAPI) bind of the live AD source, against the Samba DC's own KDC.

The session DC (tests/integration/conftest.py) is the KDC of CONTOSO.EXAMPLE; the `kerberos`
fixture installs the client side if missing, writes a krb5.conf naming the DC as KDC and holds a
ticket for svc.reader in a private cache (tests/samba/kerberos.py). The DC is reached by its
address (127.0.0.N) while its service principal is ldap/dc1.contoso.example, which is what
`kerberos_hosts` (SMIME_DOCTOR_AD_KERBEROS_HOSTS) is for. TLS is verified as for simple binds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import ldap3
import pytest

from tests.samba import dc as samba
from tests.samba import kerberos as krb
from tests.samba.helpers import READER, SERVICE_PASSWORD, admin_connection, settings_for
from tests.support.waiting import wait_until
from workers.demo_tenant import DATA_DIR
from workers.errors import AdAuthError, AdError, InputError
from workers.sources import parsing
from workers.sources.ad import AdSettings, AdSource

DEMO_DNS = {dn for dn, _ in parsing.iter_ldif(DATA_DIR / "ad.ldif")}


def kerberos_settings(dc: samba.DomainController, **overrides: Any) -> AdSettings:
    """The test DC by address, Kerberos from the process's ticket cache, no user or password."""
    values: dict[str, Any] = {
        "auth": "kerberos",
        "user": None,
        "password": None,
        "kerberos_hosts": (samba.DC_HOST_NAME,),
    }
    values.update(overrides)
    return settings_for(dc, **values)


def _sid_of(dc: samba.DomainController, sam: str) -> bytes:
    conn = admin_connection(dc)
    try:
        conn.search(dc.base_dn, f"(sAMAccountName={sam})", attributes=["objectSid"])
        return bytes(conn.response[0]["raw_attributes"]["objectSid"][0])
    finally:
        conn.unbind()


def _token_sids(src: AdSource) -> list[bytes]:
    """The SIDs of the bound identity, as the DC sees it (rootDSE tokenGroups)."""
    ((_, attrs),) = src._search("", "(objectClass=*)", ["tokenGroups"], scope=ldap3.BASE)
    return attrs.get("tokengroups", [])


# -- a ticket: the bind works and reads exactly what a simple bind reads ---------------------


def test_kerberos_bind_over_ldaps_reads_like_a_simple_bind(
    kerberos: krb.Realm, samba_dc: samba.DomainController
) -> None:
    simple = settings_for(samba_dc, user=f"{READER}@contoso.example", password=SERVICE_PASSWORD)
    with AdSource(simple) as src:
        expected_user = src.find_user("adele.vance")
        expected_all = dict(src.iter_users())
    with AdSource(kerberos_settings(samba_dc)) as src:
        assert src.find_user("adele.vance") == expected_user
        assert expected_user[1]["usercertificate"]  # a user with certificates, not an empty answer
        assert dict(src.iter_users()) == expected_all
        assert set(expected_all) == DEMO_DNS
        assert src.server == f"{samba_dc.address}:636" and src.stats.connects == 1
    # The cache now holds a service ticket for the DC's LDAP principal: Kerberos was used.
    assert f"ldap/{samba.DC_HOST_NAME}@{samba.REALM}" in kerberos.klist()


def test_the_bound_identity_is_the_tickets_principal(
    kerberos: krb.Realm, samba_dc: samba.DomainController
) -> None:
    with AdSource(kerberos_settings(samba_dc)) as src:
        sids = _token_sids(src)
    assert _sid_of(samba_dc, READER) in sids
    assert _sid_of(samba_dc, "Domain Admins") not in sids


def test_kerberos_bind_with_starttls(kerberos: krb.Realm, samba_dc: samba.DomainController) -> None:
    with AdSource(kerberos_settings(samba_dc, servers=(samba_dc.ldap_url,))) as src:
        assert src.find_user("adele.vance")[0].startswith("CN=Adele Vance,")
        assert src.server == f"{samba_dc.address}:389"


def test_tls_stays_verified_with_kerberos(kerberos: krb.Realm, samba_dc: samba.DomainController) -> None:
    with (
        AdSource(kerberos_settings(samba_dc, ca_file=None)) as src,
        pytest.raises(AdError, match="not trusted"),
    ):
        src.find_user("adele.vance")


def test_a_keytab_instead_of_a_ticket(
    kerberos: krb.Realm, samba_dc: samba.DomainController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KRB5_CLIENT_KTNAME: with an empty cache the Kerberos library gets the ticket from the keytab."""
    keytab = kerberos.export_keytab(READER, tmp_path / "svc.keytab")
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'empty-ccache'}")
    monkeypatch.setenv("KRB5_CLIENT_KTNAME", f"FILE:{keytab}")
    with AdSource(kerberos_settings(samba_dc)) as src:
        assert src.find_user("adele.vance")[0].startswith("CN=Adele Vance,")
        assert _sid_of(samba_dc, READER) in _token_sids(src)


# -- what is missing is said in one sentence ----------------------------------------------


def test_no_ticket_is_one_sentence_naming_kinit(
    kerberos: krb.Realm, samba_dc: samba.DomainController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'empty-ccache'}")
    with AdSource(kerberos_settings(samba_dc)) as src, pytest.raises(AdAuthError) as err:
        src.find_user("adele.vance")
    message = str(err.value)
    assert "\n" not in message
    assert "no Kerberos ticket" in message and "kinit" in message and "KRB5_CLIENT_KTNAME" in message
    assert "Major (" not in message  # not gssapi's raw status text


def test_an_expired_ticket_says_renew_it(
    kerberos: krb.Realm, samba_dc: samba.DomainController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = f"FILE:{tmp_path / 'short-ccache'}"
    kerberos.kinit(READER, SERVICE_PASSWORD, ccache=cache, lifetime="3s")
    monkeypatch.setenv("KRB5CCNAME", cache)

    def expired() -> bool:  # klist -s: exit status 1 once the cache holds no unexpired ticket
        env = {**os.environ, **kerberos.env(cache)}
        return subprocess.run(["klist", "-s"], env=env, timeout=30).returncode != 0

    assert not expired()  # the ticket is valid first: what follows is its expiry, not a bad kinit
    wait_until(expired, 30, "the 3 s ticket to expire")
    with AdSource(kerberos_settings(samba_dc)) as src, pytest.raises(AdAuthError) as err:
        src.find_user("adele.vance")
    message = str(err.value)
    assert "\n" not in message
    assert "expired" in message and "kinit" in message


def test_an_address_without_the_dc_name_says_which_setting(
    kerberos: krb.Realm, samba_dc: samba.DomainController
) -> None:
    """By address alone the principal would be ldap/127.0.0.N, which no KDC knows."""
    with AdSource(kerberos_settings(samba_dc, kerberos_hosts=())) as src, pytest.raises(AdAuthError) as err:
        src.find_user("adele.vance")
    message = str(err.value)
    assert f"ldap/{samba_dc.address}" in message and "SMIME_DOCTOR_AD_KERBEROS_HOSTS" in message
    assert "\n" not in message


def test_an_unreachable_kdc_is_named(
    kerberos: krb.Realm, samba_dc: samba.DomainController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ticket-granting ticket but no service ticket yet, and the KDC gone from krb5.conf."""
    ccache = f"FILE:{tmp_path / 'tgt-only'}"
    kerberos.kinit(READER, SERVICE_PASSWORD, ccache)
    nowhere = samba.free_address(int(samba_dc.address.rsplit(".", 1)[1]) + 1)
    conf = tmp_path / "krb5.conf"
    conf.write_text(kerberos.krb5_conf.read_text().replace(f"{samba_dc.address}:88", f"{nowhere}:88"))
    monkeypatch.setenv("KRB5CCNAME", ccache)
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    with AdSource(kerberos_settings(samba_dc)) as src, pytest.raises(AdAuthError) as err:
        src.find_user("adele.vance")
    assert "no KDC" in str(err.value) and "krb5.conf" in str(err.value)


def _cli_snapshot(
    realm: krb.Realm, dc: samba.DomainController, out: Path, ccache: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMIME_DOCTOR_", "KRB5"))}
    env.update(realm.env(ccache))
    env.update(
        SMIME_DOCTOR_AD_SERVERS=dc.ldaps_url,
        SMIME_DOCTOR_AD_AUTH="kerberos",
        SMIME_DOCTOR_AD_KERBEROS_HOSTS=samba.DC_HOST_NAME,
        SMIME_DOCTOR_AD_CA_FILE=str(dc.ca_file),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "snapshot", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_command_line_with_and_without_a_ticket(
    kerberos: krb.Realm, samba_dc: samba.DomainController, tmp_path: Path
) -> None:
    """`smime-doctor snapshot` configured only by SMIME_DOCTOR_AD_* and the Kerberos variables."""
    ok = _cli_snapshot(kerberos, samba_dc, tmp_path / "snap", kerberos.ccache)
    assert ok.returncode == 0, ok.stderr
    assert {dn for dn, _ in parsing.iter_ldif(tmp_path / "snap" / "ad.ldif")} == DEMO_DNS
    failed = _cli_snapshot(kerberos, samba_dc, tmp_path / "none", f"FILE:{tmp_path / 'empty-ccache'}")
    assert failed.returncode == 2
    assert "Traceback" not in failed.stderr
    assert failed.stderr.count("\n") == 1 and failed.stderr.startswith("smime-doctor: Kerberos bind to ")
    assert "kinit" in failed.stderr


def test_without_gssapi_the_message_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DC needed: the package check comes before any connection."""
    monkeypatch.setitem(sys.modules, "gssapi", None)  # makes `import gssapi` raise ImportError
    settings = AdSettings(servers=("ldaps://127.0.0.1",), auth="kerberos", connect_timeout=1.0)
    with AdSource(settings) as src, pytest.raises(AdError) as err:
        src.find_user("adele.vance")
    assert (
        str(err.value) == "Kerberos bind needs the 'gssapi' package (pip install gssapi) and a ticket (kinit)"
    )


# -- the setting ---------------------------------------------------------------------------


def test_kerberos_hosts_from_the_environment() -> None:
    env = {
        "SMIME_DOCTOR_AD_SERVERS": "ldaps://10.0.0.5,ldaps://dc2.contoso.example",
        "SMIME_DOCTOR_AD_AUTH": "kerberos",
        "SMIME_DOCTOR_AD_KERBEROS_HOSTS": "dc1.contoso.example,",
    }
    settings = AdSettings.from_env(env)
    assert settings.kerberos_hosts == ("dc1.contoso.example", "")
    assert settings.kerberos_host(0, "10.0.0.5") == "dc1.contoso.example"
    assert settings.kerberos_host(1, "dc2.contoso.example") == "dc2.contoso.example"  # empty: its own name
    assert AdSettings.from_env({"SMIME_DOCTOR_AD_SERVERS": "dc1"}).kerberos_hosts == ()
    with pytest.raises(InputError, match="one DNS name per server"):
        AdSettings.from_env({**env, "SMIME_DOCTOR_AD_KERBEROS_HOSTS": "a.example,b.example,c.example"})
