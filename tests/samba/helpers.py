"""Small helpers the AD tests and the benchmark share: settings for the test DC, an admin connection."""

from __future__ import annotations

import ssl

import ldap3

from tests.samba.dc import BASE_DN, DomainController
from workers.sources.ad import AdSettings

SCRATCH_OU = f"OU=Scratch,{BASE_DN}"
READER = "svc.reader"
WRITER = "svc.writer"
SERVICE_PASSWORD = "Svc-Pass!word1"  # test-only domain


def settings_for(dc: DomainController, **overrides: object) -> AdSettings:
    values: dict[str, object] = {
        "servers": (dc.ldaps_url,),
        "user": dc.admin_user,
        "password": dc.admin_password,
        "ca_file": str(dc.ca_file),
        "connect_timeout": 3.0,
        "timeout": 10.0,
        "extra_attributes": ("extensionAttribute15",),
    }
    values.update(overrides)
    return AdSettings(**values)  # type: ignore[arg-type]


def admin_connection(dc: DomainController) -> ldap3.Connection:
    """A bare ldap3 connection as Administrator, for set-up and independent re-reads."""
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(dc.ca_file))
    server = ldap3.Server(dc.address, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE, connect_timeout=5)
    return ldap3.Connection(
        server, dc.admin_user, dc.admin_password, auto_bind=True, receive_timeout=30, raise_exceptions=False
    )


def add_service_accounts(dc: DomainController) -> None:
    """Scratch OU for write tests; svc.reader (a plain user: may read, not write) and svc.writer."""
    conn = admin_connection(dc)
    try:
        conn.add(SCRATCH_OU, "organizationalUnit")
        for name in (READER, WRITER):
            conn.add(
                f"CN={name},CN=Users,{BASE_DN}",
                ["top", "person", "organizationalPerson", "user"],
                {
                    "sAMAccountName": name,
                    "userPrincipalName": f"{name}@contoso.example",
                    "unicodePwd": f'"{SERVICE_PASSWORD}"'.encode("utf-16-le"),
                    "userAccountControl": 512,
                },
            )
            if conn.result["result"] != 0:
                raise RuntimeError(f"creating {name} failed: {conn.result}")
    finally:
        conn.unbind()
