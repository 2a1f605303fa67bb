#!/usr/bin/env python3
"""AD read benchmark against a real Samba AD DC (tests/samba/dc.py; needs root or an installed Samba).

(a) LDAP operations per single-user diagnosis: a fresh AdSource, `find_user` + `read_config`
    (the configuration is read once and cached), then a second user on the same source.
    Connection set-up (bind, StartTLS, rootDSE) is counted separately: it happens once per
    connection, which is reused.
(b) audit read of N users (default 5,000 plus the 41 demo users): entries/s of
    `AdSource.iter_users()` against a bare ldap3 paged search (`extend.standard.paged_search`,
    generator, same attributes, same page size) in the same run, alternating, best of 3.

Target: ops <= 2 and ratio >= 0.8. Ends with exactly one BENCH line.
Usage: ``.venv/bin/python bench/ad_read.py [--users N]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ldap3  # noqa: E402

from tests.samba import dc as samba  # noqa: E402
from tests.samba.helpers import settings_for  # noqa: E402
from workers.sources import parsing  # noqa: E402
from workers.sources.ad import PAGE_SIZE, AdSource  # noqa: E402


def bare_rate(dc: samba.DomainController, attributes: list[str], flt: str) -> tuple[int, float]:
    """A plain ldap3 paged search: what any reader has to pay."""
    import ssl

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(dc.ca_file))
    server = ldap3.Server(dc.address, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, dc.admin_user, dc.admin_password, auto_bind=True, receive_timeout=30)
    started = time.perf_counter()
    n = 0
    for entry in conn.extend.standard.paged_search(
        dc.base_dn, flt, attributes=attributes, paged_size=PAGE_SIZE, generator=True
    ):
        if entry.get("type") == "searchResEntry":
            n += 1
    elapsed = time.perf_counter() - started
    conn.unbind()
    return n, n / elapsed


def source_rate(dc: samba.DomainController) -> tuple[int, float]:
    with AdSource(settings_for(dc)) as src:
        started = time.perf_counter()
        n = sum(1 for _ in src.iter_users())
        return n, n / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="smime-doctor-bench-ad-"))
    dc = samba.start_with_demo(workdir)
    try:
        cert = next(
            v for _, a in parsing.iter_ldif(samba.demo_data_dir() / "ad.ldif") for v in a["usercertificate"]
        )
        (workdir / "cert.der").write_bytes(cert)
        t = time.perf_counter()
        dc.samdb("bulk-users", f"OU=Bench,{dc.base_dn}", str(args.users), str(workdir / "cert.der"))
        print(f"loaded {args.users} users in {time.perf_counter() - t:.1f} s")

        with AdSource(settings_for(dc)) as src:
            src.find_user("adele.vance@contoso.example")
            src.read_config()
            first = src.stats.operations
            setup = src.stats.setup_operations
            src.find_user("alex.wilber")
            src.read_config()
            second = src.stats.operations - first
            attributes, flt = src.user_attributes, src.settings.user_filter
        print(
            f"(a) first diagnosis: {first} operations (+{setup} connection set-up: bind, rootDSE); next: {second}"
        )

        ours: list[float] = []
        bare: list[float] = []
        counts = set()
        for _ in range(3):
            n, rate = source_rate(dc)
            counts.add(n)
            ours.append(rate)
            n, rate = bare_rate(dc, attributes, flt)
            counts.add(n)
            bare.append(rate)
        if len(counts) != 1:
            print(f"entry counts differ between readers: {counts}", file=sys.stderr)
            return 1
        ours_best, bare_best = max(ours), max(bare)
        ratio = ours_best / bare_best
        print(f"(b) {counts.pop()} entries: AdSource {ours_best:,.0f}/s, bare ldap3 {bare_best:,.0f}/s")
        met = first <= 2 and ratio >= 0.8
        print(
            f"BENCH ad_read ops_per_diagnosis={first} entries_per_s={ours_best:.0f} "
            f"bare_entries_per_s={bare_best:.0f} ratio={ratio:.2f} target=ops<=2,ratio>=0.8 "
            f"met={'yes' if met else 'no'}"
        )
        return 0
    finally:
        dc.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
