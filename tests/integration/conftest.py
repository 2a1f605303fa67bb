"""A real Samba AD domain controller for the AD tests (tests/samba/dc.py does the work).

The session fixture installs Samba if missing (apt, as root), restores the cached provisioned
domain, starts it on a free 127.0.0.N, loads the demo tenant and stops the DC by its pid at the
end. Under CI=true anything that prevents this is a test failure, never a skip; locally a
non-root run skips with the reason (the LDAP ports and apt need root).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.samba import dc as samba
from tests.samba import kerberos as krb
from tests.samba.helpers import READER, SERVICE_PASSWORD, add_service_accounts, settings_for
from tests.support.services import start_demo_dc
from workers.sources.ad import AdSource

CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def samba_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.DomainController]:
    """The session's DC: demo tenant, a scratch OU and two service accounts."""
    dc = start_demo_dc(tmp_path_factory.mktemp("samba-dc"))
    try:
        add_service_accounts(dc)
        yield dc
    finally:
        dc.stop()


@pytest.fixture
def second_dc(tmp_path: Path) -> Iterator[samba.DomainController]:
    """A DC of its own for tests that stop or freeze it."""
    dc = start_demo_dc(tmp_path / "dc2")
    try:
        yield dc
    finally:
        dc.stop()


@pytest.fixture
def ad(samba_dc: samba.DomainController) -> Iterator[AdSource]:
    with AdSource(settings_for(samba_dc)) as source:
        yield source


# -- Kerberos: the test DC is the realm's KDC (tests/samba/kerberos.py) -----------------------


@pytest.fixture(scope="session")
def kerberos_realm(samba_dc: samba.DomainController, tmp_path_factory: pytest.TempPathFactory) -> krb.Realm:
    """The session DC's realm: the Kerberos client and the gssapi package installed if missing, a
    krb5.conf naming the DC as KDC and a ticket for svc.reader in a private cache. Like Samba: under
    CI=true (or as root) anything missing fails the tests; locally without root they skip."""
    try:
        krb.ensure_kerberos()
        realm = krb.realm_for(samba_dc, tmp_path_factory.mktemp("kerberos"))
        realm.kinit(READER, SERVICE_PASSWORD)
    except (samba.SambaUnavailable, OSError, subprocess.SubprocessError) as exc:
        if CI or os.geteuid() == 0:
            pytest.fail(f"Kerberos against the Samba DC's KDC is required for these tests: {exc}")
        pytest.skip(f"Kerberos client not available (not root: cannot install it): {exc}")
    return realm


@pytest.fixture
def kerberos(kerberos_realm: krb.Realm, monkeypatch: pytest.MonkeyPatch) -> krb.Realm:
    """KRB5_CONFIG and KRB5CCNAME of the test realm, set for this test (and its subprocesses) only."""
    for name, value in kerberos_realm.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KRB5_CLIENT_KTNAME", raising=False)
    return kerberos_realm
