"""Kerberos against the test DC: the DC started by dc.py is also the KDC of CONTOSO.EXAMPLE.

What a Kerberos (SASL/GSSAPI) bind needs on the client, and how the tests get it:

- the MIT Kerberos client and headers (``kinit``, ``klist``, ``krb5-config``): installed with apt
  when missing, as root, like Samba in dc.py. ``libkrb5-dev`` is needed because the ``gssapi``
  package has no Linux wheel and builds from source against ``krb5-config``;
- the ``gssapi`` package: the project's ``kerberos`` extra (pyproject.toml) at the pins of
  requirements-kerberos.lock (``make lock``), installed with pip into the interpreter running the
  tests when it is not importable (the first build takes about a minute; pip caches the wheel).
  ``make demo`` never needs it;
- a krb5.conf: Samba writes a sample to the DC's ``private/krb5.conf``, but it finds the KDC through
  DNS SRV records the test machine does not have, so a krb5.conf naming the DC's 127.0.0.N as KDC
  is written next to it;
- a ticket: ``kinit`` with the password on stdin into a private ``FILE:`` cache.

Nothing global changes: no /etc/krb5.conf, no /etc/hosts. KRB5_CONFIG and KRB5CCNAME are set
only for the test process and what it starts (see ``Realm.env`` and the fixtures in
tests/integration/conftest.py).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.samba.dc import DC_HOST_NAME, REALM, DomainController, SambaUnavailable, run

APT_PACKAGES = ["krb5-user", "libkrb5-dev"]  # kinit/klist/kvno; krb5-config and headers for gssapi
# `make lock`: runtime + the kerberos extra, pinned with hashes like requirements.lock
KERBEROS_LOCK = Path(__file__).resolve().parents[2] / "requirements-kerberos.lock"


class KerberosUnavailable(SambaUnavailable):
    """The Kerberos client side cannot be installed or set up here; the sentence says why."""


# -- installation -----------------------------------------------------------------------


def client_installed() -> bool:
    return all(shutil.which(tool) for tool in ("kinit", "klist", "krb5-config"))


def ensure_client() -> None:
    """Install the MIT Kerberos client and headers with apt if missing (root only)."""
    if client_installed():
        return
    if os.geteuid() != 0:
        raise KerberosUnavailable(
            "the Kerberos client is not installed and installing it needs root "
            f"(apt-get install {' '.join(APT_PACKAGES)})"
        )
    if shutil.which("apt-get") is None:
        raise KerberosUnavailable(
            "the Kerberos client (kinit, krb5-config) is missing and there is no apt-get"
        )
    # --no-install-recommends keeps out the krb5-config *package*, whose debconf questions would
    # write /etc/krb5.conf; the tests bring their own file.
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]
    if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
        run(["apt-get", "update", "-q"], env=env)
        run(cmd, env=env)
    if not client_installed():
        raise KerberosUnavailable(
            f"apt-get install {' '.join(APT_PACKAGES)} finished but kinit/krb5-config are missing"
        )


def kerberos_requirements() -> list[str]:
    """pip's arguments for the project's ``kerberos`` extra, at the pins of requirements-kerberos.lock."""
    if not KERBEROS_LOCK.is_file():
        raise KerberosUnavailable(f"{KERBEROS_LOCK} is missing (make lock writes it)")
    return ["--require-hashes", "-r", str(KERBEROS_LOCK)]


def gssapi_importable() -> bool:
    importlib.invalidate_caches()
    try:
        importlib.import_module("gssapi")
    except ImportError:
        return False
    return True


def ensure_gssapi() -> None:
    """Make ``import gssapi`` work in this interpreter: the client headers, then pip install the extra."""
    if gssapi_importable():
        return
    ensure_client()  # gssapi builds from source against krb5-config / the krb5 headers
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    cmd = [*pip, *kerberos_requirements()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise KerberosUnavailable(
            "pip install " + " ".join(kerberos_requirements()) + " failed: " + "\n".join(tail)
        )
    if not gssapi_importable():
        raise KerberosUnavailable(
            f"pip installed {' '.join(kerberos_requirements())} but 'import gssapi' still fails"
        )


def ensure_kerberos() -> None:
    """Everything a Kerberos bind against the test DC needs on this machine."""
    ensure_client()
    ensure_gssapi()


# -- the realm ----------------------------------------------------------------------------


@dataclass
class Realm:
    """The test DC's realm as a client sees it: a krb5.conf and a private ticket cache."""

    dc: DomainController
    directory: Path
    name: str = REALM
    dc_host_name: str = DC_HOST_NAME  # for the service principal ldap/dc1.contoso.example

    @property
    def krb5_conf(self) -> Path:
        return self.directory / "krb5.conf"

    @property
    def ccache(self) -> str:
        return f"FILE:{self.directory / 'ccache'}"

    def env(self, ccache: str | None = None) -> dict[str, str]:
        """The variables a process needs to use this realm (and no other ticket cache)."""
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5CCNAME": ccache or self.ccache}

    def principal(self, user: str) -> str:
        return f"{user}@{self.name}"

    def kinit(self, user: str, password: str, ccache: str | None = None, lifetime: str | None = None) -> None:
        """A ticket-granting ticket for user in the cache (``lifetime`` as kinit -l takes it, e.g.
        "4s"); the password goes over stdin only."""
        proc = subprocess.run(
            ["kinit", *(["-l", lifetime] if lifetime else []), self.principal(user)],
            input=password + "\n",
            capture_output=True,
            text=True,
            env=self._env(ccache),
            timeout=30,
        )
        if proc.returncode != 0:
            raise KerberosUnavailable(
                f"kinit {self.principal(user)} against the KDC at {self.dc.address} failed: "
                + (proc.stderr or proc.stdout).strip()
            )

    def klist(self, ccache: str | None = None) -> str:
        """klist's listing of the cache ('' when it holds nothing)."""
        proc = subprocess.run(["klist"], capture_output=True, text=True, env=self._env(ccache), timeout=30)
        return proc.stdout if proc.returncode == 0 else ""

    def export_keytab(self, user: str, path: Path) -> Path:
        """A keytab with user's keys, taken from the DC's database (what `ktpass` gives on Windows)."""
        run(["samba-tool", "domain", "exportkeytab", str(path), f"--principal={self.principal(user)}",
             "-s", str(self.dc.smb_conf)])  # fmt: skip
        return path

    def _env(self, ccache: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
        env.update(self.env(ccache))
        return env


def realm_for(dc: DomainController, directory: Path) -> Realm:
    """A Realm for dc with a krb5.conf whose KDC is the DC's own address (TCP, no DNS)."""
    directory.mkdir(parents=True, exist_ok=True)
    realm = Realm(dc, directory)
    domain = REALM.lower()
    realm.krb5_conf.write_text(
        "# written by tests/samba/kerberos.py for the test DC; modelled on its private/krb5.conf\n"
        "[libdefaults]\n"
        f"\tdefault_realm = {REALM}\n"
        "\tdns_lookup_realm = false\n"
        "\tdns_lookup_kdc = false\n"  # the sample's 'true' needs _kerberos SRV records
        "\trdns = false\n"
        "\tdns_canonicalize_hostname = false\n"  # ldap/dc1.contoso.example as given, no DNS
        "\tudp_preference_limit = 1\n"  # TCP to the KDC
        "[realms]\n"
        f"\t{REALM} = {{\n"
        f"\t\tkdc = {dc.address}:88\n"
        "\t}\n"
        "[domain_realm]\n"
        f"\t.{domain} = {REALM}\n"
        f"\t{domain} = {REALM}\n"
    )
    return realm
