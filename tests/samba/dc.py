"""A throwaway Samba AD domain controller for tests and benchmarks (see docs/operations.md, "Tests and the services they start").

Provisioning takes ~10 s, so the provisioned directory (domain, Exchange schema extension,
TLS material, smb.conf fix-ups) is cached as a tarball under
``/var/tmp/smime-doctor-samba-template/`` keyed by the hash of this file and samdb_tool.py,
and each run restores it into a private directory (≈ 0.05 s) and starts ``samba`` on its own
loopback address (127.0.0.2, .3, …) because the LDAP and Kerberos ports are fixed (it is a KDC
too: tests/samba/kerberos.py). The DC is stopped by its pid. Nothing global is touched besides
installing Samba with apt when it is missing.

Usage as a script (for manual poking)::

    .venv/bin/python -m tests.samba.dc start /tmp/mydc     # prints address and pid; demo tenant loaded
    .venv/bin/python -m tests.samba.dc stop /tmp/mydc
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMDB_TOOL = HERE / "samdb_tool.py"
SYSTEM_PYTHON = "/usr/bin/python3"
CACHE_DIR = Path(os.environ.get("SMIME_DOCTOR_SAMBA_CACHE", "/var/tmp/smime-doctor-samba-template"))
PACKAGES = ["samba", "samba-dsdb-modules", "samba-vfs-modules", "samba-ad-provision", "python3-ldb"]

REALM = "CONTOSO.EXAMPLE"
DC_HOST_NAME = "dc1.contoso.example"  # the DC's DNS name: its service principal is ldap/dc1.contoso.example
NETBIOS = "CONTOSO"
BASE_DN = "DC=contoso,DC=example"
ADMIN_PASSWORD = "Adm1n-Pass!word"  # test-only domain; never a real secret
USER_PASSWORD = "Us3r-Pass!word"
TEMPLATE_MARK = ".template-dir"


class SambaUnavailable(RuntimeError):
    """Samba cannot be installed or started here; the sentence says why."""


@dataclass
class DomainController:
    directory: Path
    address: str
    pid: int
    ca_file: Path
    admin_user: str = f"Administrator@{REALM.lower()}"
    admin_password: str = ADMIN_PASSWORD
    base_dn: str = BASE_DN
    netbios: str = NETBIOS

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.address}"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.address}"

    @property
    def smb_conf(self) -> Path:
        return self.directory / "etc" / "smb.conf"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the samba process by pid, SIGKILL if it lingers."""
        stop_pid(self.pid, timeout)

    def samdb(self, *args: str) -> None:
        run([SYSTEM_PYTHON, str(SAMDB_TOOL), args[0], str(self.smb_conf), *args[1:]])


# -- installation -----------------------------------------------------------------------


def samba_installed() -> bool:
    return shutil.which("samba") is not None and shutil.which("samba-tool") is not None and _has_ldb()


def _has_ldb() -> bool:
    return subprocess.run([SYSTEM_PYTHON, "-c", "import ldb, samba"], capture_output=True).returncode == 0


def ensure_samba() -> None:
    """Install Samba with apt if missing (root only); SambaUnavailable with the reason otherwise."""
    if samba_installed():
        return
    if os.geteuid() != 0:
        raise SambaUnavailable("Samba is not installed and installing it needs root (apt-get install samba)")
    if shutil.which("apt-get") is None:
        raise SambaUnavailable("Samba is not installed and this system has no apt-get")
    # Debian's postinst would start smbd/nmbd; a policy-rc.d answering 101 stops that.
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
            run(["apt-get", "update", "-q"], env=env)
            run(cmd, env=env)
    finally:
        if created:
            policy.unlink(missing_ok=True)
    if not samba_installed():
        raise SambaUnavailable("apt-get install samba finished but samba/samba-tool/python3-ldb are missing")


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise SambaUnavailable(f"{' '.join(cmd[:3])} failed ({proc.returncode}): " + "\n".join(tail))
    return proc.stdout


# -- template -----------------------------------------------------------------------------


def template_key() -> str:
    h = hashlib.sha256()
    for path in (Path(__file__), SAMDB_TOOL):
        h.update(path.read_bytes())
    h.update(subprocess.run(["samba", "--version"], capture_output=True, text=True).stdout.encode())
    return h.hexdigest()[:16]


def template_path() -> Path:
    return CACHE_DIR / f"dc-{template_key()}.tar"


def build_template(target: Path) -> None:
    """Provision a domain into target and make it test-ready (the slow part, ~10 s)."""
    target.mkdir(parents=True)
    empty = target / "empty.conf"
    empty.touch()
    d = str(target)
    options = {
        "server services": "ldap kdc",  # a DC is a KDC too (Kerberos binds: tests/samba/kerberos.py)
        "pid directory": f"{d}/run",
        "ncalrpc dir": f"{d}/ncalrpc",
        "winbindd socket directory": f"{d}/winbindd",
        "ntp signd socket directory": f"{d}/ntp",
        "usershare path": f"{d}/usershares",
        "log file": f"{d}/log.%m",
    }
    run(
        [
            "samba-tool", "domain", "provision", f"--targetdir={d}", "-s", str(empty),
            f"--realm={REALM}", f"--domain={NETBIOS}", "--host-name=dc1", "--server-role=dc",
            "--dns-backend=NONE", "--use-rfc2307", f"--adminpass={ADMIN_PASSWORD}",
            *[f"--option={k} = {v}" for k, v in options.items()],
        ]
    )  # fmt: skip
    _write_tls(target / "private")
    conf = target / "etc" / "smb.conf"
    extra = [
        "ldap server require strong auth = no",  # simple bind on 389 + StartTLS, as AD allows
        "dsdb:schema update allowed = yes",
        "tls enabled = yes",
        f"tls cafile = {d}/private/tls-ca.pem",
        f"tls certfile = {d}/private/tls-cert.pem",
        f"tls keyfile = {d}/private/tls-key.pem",
    ]
    text = conf.read_text().replace("[global]\n", "[global]\n" + "".join(f"\t{x}\n" for x in extra), 1)
    conf.write_text(text)
    samba_tool = ["samba-tool"]
    run([*samba_tool, "user", "setexpiry", "Administrator", "--noexpiry", "-s", str(conf)])
    run(
        [*samba_tool, "domain", "passwordsettings", "set", "--max-pwd-age=0", "--min-pwd-age=0",
         "--complexity=off", "-s", str(conf)]
    )  # fmt: skip
    run([SYSTEM_PYTHON, str(SAMDB_TOOL), "extend-schema", str(conf)])
    # A real DC registers ldap/dc1.contoso.example & co. on its account (private/spn_update_list);
    # Samba does that from its dnsupdate service, which the test DC does not run. Without these
    # SPNs the KDC issues no ticket for LDAP.
    run(["samba_spnupdate", "-s", str(conf)])
    (target / TEMPLATE_MARK).write_text(d)


def _write_tls(private: Path) -> None:
    """A test CA and a server certificate valid for every 127.0.0.N we may use (LDAPS by IP)."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC) - timedelta(days=1)
    later = now + timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smime-doctor Samba test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName("dc1.contoso.example"), x509.DNSName("localhost")]
    sans += [x509.IPAddress(ipaddress.ip_address(f"127.0.0.{n}")) for n in range(1, 255)]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dc1.contoso.example")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (private / "tls-ca.pem").write_bytes(ca.public_bytes(pem))
    (private / "tls-cert.pem").write_bytes(leaf.public_bytes(pem))
    key_path = private / "tls-key.pem"
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def ensure_template() -> Path:
    """The cached template tarball, built on first use (atomically, so parallel runs do not clash)."""
    tar_path = template_path()
    if tar_path.exists():
        return tar_path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = CACHE_DIR / f"build-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        build_template(work / "dc")
        tmp = tar_path.with_suffix(f".tmp{os.getpid()}")
        with tarfile.open(tmp, "w") as tar:
            tar.add(work / "dc", arcname="dc", filter=_no_sockets)
        tmp.replace(tar_path)
        for stale in CACHE_DIR.glob("dc-*.tar"):  # templates of older versions of these scripts
            if stale != tar_path:
                stale.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tar_path


def _no_sockets(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return info if (info.isfile() or info.isdir() or info.issym()) else None


def restore(directory: Path) -> Path:
    """Unpack the template into directory/dc and point its smb.conf at the new place."""
    tar_path = ensure_template()
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        tar.extractall(directory, filter="tar")
    dc = directory / "dc"
    old = (dc / TEMPLATE_MARK).read_text()
    conf = dc / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace(old, str(dc)))
    return dc


# -- run ----------------------------------------------------------------------------------


def free_address(start: int = 2) -> str:
    """The first 127.0.0.N (N >= start) where nothing listens on the LDAP and Kerberos ports."""
    for n in range(start, 250):
        addr = f"127.0.0.{n}"
        if all(_port_free(addr, p) for p in (88, 389, 464, 636, 3268, 3269)):
            return addr
    raise SambaUnavailable("no free loopback address 127.0.0.2-249 for the test DC")


def _port_free(addr: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError:
            return False
    return True


def start(dc_dir: Path, address: str | None = None, timeout: float = 30.0) -> DomainController:
    """Start samba on its own loopback address and wait until LDAPS answers."""
    address = address or free_address()
    conf = dc_dir / "etc" / "smb.conf"
    log = (dc_dir / "samba.out").open("ab")
    proc = subprocess.Popen(
        [
            "samba", "-F", "-M", "single", "-s", str(conf), "--debug-stdout",
            f"--option=interfaces = {address}/8", "--option=bind interfaces only = yes",
            "--option=ldb:nosync = true",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    dc = DomainController(dc_dir, address, proc.pid, dc_dir / "private" / "tls-ca.pem")
    (dc_dir / "samba.pid.test").write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (dc_dir / "samba.out").read_text(errors="replace").splitlines()[-10:]
            raise SambaUnavailable("samba exited at start: " + "\n".join(tail))
        if _ldaps_answers(address, dc.ca_file):
            return dc
        time.sleep(0.1)
    stop_pid(proc.pid)
    raise SambaUnavailable(f"samba on {address} did not answer LDAPS within {timeout:.0f} s")


def _ldaps_answers(address: str, ca_file: Path) -> bool:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    try:
        with (
            socket.create_connection((address, 636), timeout=1) as raw,
            ctx.wrap_socket(raw, server_hostname=address) as tls,
        ):
            return tls.version() is not None
    except OSError:
        return False


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (started by another process): poll instead
            done = 0 if _alive(pid) else pid
        if done:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def load_demo_tenant(dc: DomainController, data_dir: Path) -> None:
    dc.samdb("load-tenant", str(data_dir / "ad.ldif"), str(data_dir / "ad-config.ldif"), USER_PASSWORD)


def start_with_demo(
    directory: Path, data_dir: Path | None = None, address: str | None = None
) -> DomainController:
    """Restore, start, load the demo tenant: what the test session and the benchmark use."""
    ensure_samba()
    dc = start(restore(directory), address)
    try:
        load_demo_tenant(dc, data_dir or demo_data_dir())
    except BaseException:
        dc.stop()
        raise
    return dc


def demo_data_dir() -> Path:
    return HERE.parents[1] / "workers" / "demo_tenant" / "data"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    directory = Path(argv[1]).resolve()
    if argv[0] == "start":
        dc = start_with_demo(directory)
        print(f"address={dc.address} pid={dc.pid} ca={dc.ca_file} admin={dc.admin_user}")
    else:
        stop_pid(int((directory / "dc" / "samba.pid.test").read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
