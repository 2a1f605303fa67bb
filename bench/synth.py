"""Synthetic snapshot generator for the audit throughput benchmark.

Builds a tenant in the format of the bundled demo tenant (docs/snapshot.md §1), reusing the
demo generator's PKI, record writers and templates: Contoso Root CA with Issuing CA 01
and 00, Example Public S/MIME Root R1 with its CA (all five in the SST, templates and CA
objects in ad-config.ldif), plus the untrusted Fabrikam partner CA for foreign certificates.

Users follow a fixed, seeded mix of field cases (about 70% healthy, about 1.3 certificates
per user); certificate bytes differ between runs (fresh keys, random serials), names,
dates and the mix do not. RSA key generation is the slow part of making certificates, so
leaves reuse a pool of ``LEAF_KEYS`` keys (never twice within one user) and only the CA
signature is paid per leaf, on every core.

Besides the snapshot files the generator writes ``certs.der``: every distinct certificate
of the snapshot once (also those inside PKCS#7 blobs), each as a 4-byte big-endian length
and the DER bytes, for the benchmark's baseline.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "scripts", REPO / "tests" / "support"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import make_demo_tenant as mdt  # noqa: E402
import pki_factory as pf  # noqa: E402
from cryptography import x509  # noqa: E402

from workers.certs.sst import write_sst  # noqa: E402

# Bump when the output changes in any way, so cached snapshots are regenerated.
GENERATOR_VERSION = 1
SEED = 20261120
LEAF_KEYS = 50
NOW = mdt.NOW
AT = "2026-11-20T06:00:00Z"  # evaluate the audit at the collection instant

# Field cases and their share of users (the rest are healthy).
MIX: dict[str, float] = {
    "healthy": 0.70,
    "renewed": 0.04,  # an expired predecessor still published next to the current cert
    "expired": 0.035,  # only an expired certificate
    "stale_smime": 0.03,  # Outlook PKCS#7 with an expired cert in userSMIMECertificate
    "no_nickname": 0.025,  # mailNickname missing: certs never reach EXO
    "many_values": 0.003,  # 16-20 values in userCertificate
    "mixed_case": 0.03,  # Mixed.Case addresses
    "foreign": 0.03,  # someone else's certificate (another user's, or another address)
    "exo_missing": 0.025,  # EXO recipient without the certificate
    "exo_differs": 0.025,  # EXO holds an older certificate than AD
    "hidden": 0.02,  # hidden from the GAL
    "corrupt": 0.022,  # undecodable value in AD or in EXO
    "public_ca": 0.01,  # certificate from the public S/MIME CA
}

_STATE: dict[str, Any] = {}  # the PKI and the key pool, inherited by forked workers


@dataclass(frozen=True)
class Spec:
    """One leaf to sign (picklable, so workers can sign it)."""

    issuer: str  # ca01, ca00, public, fabrikam
    name: str
    email: str
    issued: datetime
    lifetime: float
    key: int


def _sign(spec: Spec) -> bytes:
    pki, keys = _STATE["pki"], _STATE["keys"]
    key = keys[spec.key]
    if spec.issuer == "public":
        leaf = mdt.public_cert(
            pki, spec.name, spec.email, issued=spec.issued, lifetime=spec.lifetime, key=key
        )
    elif spec.issuer == "fabrikam":
        leaf = pf.make_leaf(
            pki.fabrikam_ca,
            spec.name,
            emails=[spec.email],
            organization="Fabrikam",
            not_before=spec.issued,
            not_after=spec.issued + timedelta(days=spec.lifetime),
            key=key,
        )
    else:
        extra: dict[str, Any] = {}
        if spec.issuer == "ca00":
            extra = {
                "issuer": pki.ca00,
                "crl_urls": [mdt.CONTOSO_CDP.replace("01", "00")],
                "ca_issuer_urls": [mdt.CONTOSO_AIA.replace("01", "00")],
            }
        leaf = mdt.contoso_cert(
            pki, spec.name, spec.email, issued=spec.issued, lifetime=spec.lifetime, key=key, **extra
        )
    return leaf.der


def _sign_chunk(specs: list[Spec]) -> list[bytes]:
    return [_sign(s) for s in specs]


class _Plan:
    """Users with placeholders (Spec) for certificates, resolved after signing."""

    def __init__(self, n_users: int) -> None:
        self.rng = random.Random(SEED)
        self.specs: list[Spec] = []
        self.users: list[tuple[str, Any]] = []  # (case, mdt.User)
        self.n = n_users

    def leaf(self, user: Any, j: int, issued: datetime, lifetime: float = 730, issuer: str = "ca01") -> int:
        idx = len(self.specs)
        key = (len(self.users) * 7 + j) % LEAF_KEYS
        self.specs.append(Spec(issuer, user.display, user.address, issued, lifetime, key))
        return idx

    def cases(self) -> Iterator[str]:
        names = list(MIX)
        weights = [MIX[n] for n in names]
        for _ in range(self.n):
            yield self.rng.choices(names, weights)[0]

    def build(self) -> None:
        rng = self.rng
        for i, case in enumerate(self.cases()):
            sam = f"user{i:06d}"
            display = f"User {i:06d}"
            u = mdt.User(sam, display, case, {})
            u.byte_style = "base64" if i % 2 == 0 else "ints"
            recent = NOW - timedelta(days=rng.randint(20, 600))
            if case == "mixed_case":
                u.mail = f"User.{i:06d}@{mdt.DOMAIN}"
            u.user_certs = [self.leaf(u, 0, recent)]  # type: ignore[list-item]
            if case == "healthy" and rng.random() < 0.22:
                u.smime_certs = list(u.user_certs)  # the same cert in both attributes
            elif case == "renewed":
                u.user_certs.insert(0, self.leaf(u, 1, recent - timedelta(days=800), 730, "ca00"))  # type: ignore[arg-type]
            elif case == "expired":
                u.user_certs = [self.leaf(u, 0, NOW - timedelta(days=rng.randint(800, 1500)), 730, "ca00")]  # type: ignore[list-item]
            elif case == "stale_smime":
                u.smime_certs = [("pkcs7", self.leaf(u, 1, datetime(2024, 4, 2, tzinfo=UTC), 548))]  # type: ignore[list-item]
            elif case == "no_nickname":
                u.mail_nickname = False
                u.exo_user_certs, u.exo_smime_certs = [], []
            elif case == "many_values":
                n = rng.randint(16, 20)
                u.user_certs = [
                    self.leaf(u, j, datetime(2020, 1, 10, tzinfo=UTC) + timedelta(days=90 * j), 365, "ca00")
                    for j in range(n - 1)
                ] + u.user_certs  # type: ignore[operator]
            elif case == "foreign":
                if i > 0 and rng.random() < 0.5:
                    other = self.users[i - 1][1]
                    u.user_certs.append(other.user_certs[-1])
                else:
                    u.user_certs.append(("foreign", len(self.specs)))  # type: ignore[arg-type]
                    self.specs.append(
                        Spec(
                            "fabrikam",
                            f"Partner {i}",
                            f"partner{i}@fabrikam.example",
                            recent,
                            730,
                            (i + 3) % LEAF_KEYS,
                        )
                    )
            elif case == "exo_missing":
                u.exo_user_certs, u.exo_smime_certs = [], []
            elif case == "exo_differs":
                u.exo_user_certs = [self.leaf(u, 1, recent - timedelta(days=400))]  # type: ignore[list-item]
            elif case == "hidden":
                u.hidden = True
            elif case == "corrupt":
                if rng.random() < 0.5:
                    junk = b"\x00\xff" + hashlib.sha256(f"junk-{i}".encode()).digest() * 8
                    u.user_certs.append(junk)  # type: ignore[arg-type]
                    u.exo_user_certs = list(u.user_certs)
                else:
                    u.extra["corrupt_exo"] = "yes"
            elif case == "public_ca":
                u.user_certs = [self.leaf(u, 0, NOW - timedelta(days=rng.randint(10, 300)), 365, "public")]  # type: ignore[list-item]
            self.users.append((case, u))


def _resolve(values: list[Any] | None, ders: list[bytes], pki: Any, keys: list[Any]) -> list[bytes] | None:
    if values is None:
        return None
    out: list[bytes] = []
    for v in values:
        if isinstance(v, bytes):
            out.append(v)
        elif isinstance(v, int):
            out.append(ders[v])
        elif v[0] == "foreign":
            out.append(ders[v[1]])
        else:  # ("pkcs7", index): what Outlook's "Publish to GAL" writes
            der = ders[v[1]]
            cert = x509.load_der_x509_certificate(der)
            key = next(k for k in keys if k.public_key() == cert.public_key())
            stale = pf.Issued(cert, key)
            out.append(
                pf.outlook_pkcs7(
                    [stale], signer=stale, default=stale, signing_time=datetime(2024, 4, 3, 8, 12, tzinfo=UTC)
                )
            )
    return out


def generate(out: Path, n_users: int, *, workers: int | None = None) -> dict[str, int]:
    """Write the snapshot (and certs.der) into ``out``; return case -> number of users."""
    pki = mdt.build_pki()
    keys = [pf.new_key() for _ in range(LEAF_KEYS)]
    _STATE.update(pki=pki, keys=keys)
    plan = _Plan(n_users)
    plan.build()
    chunks = [plan.specs[i : i + 500] for i in range(0, len(plan.specs), 500)]
    procs = workers or multiprocessing.cpu_count()
    if procs > 1 and len(chunks) > 1:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            ders = [d for chunk in pool.map(_sign_chunk, chunks) for d in chunk]
    else:
        ders = [d for chunk in chunks for d in _sign_chunk(chunk)]
    users = []
    for _, u in plan.users:
        u.user_certs = _resolve(u.user_certs, ders, pki, keys) or []
        u.smime_certs = _resolve(u.smime_certs, ders, pki, keys) or []
        u.exo_user_certs = _resolve(u.exo_user_certs, ders, pki, keys)
        u.exo_smime_certs = _resolve(u.exo_smime_certs, ders, pki, keys)
        users.append(u)

    out.mkdir(parents=True, exist_ok=True)
    sst_certs = [pki.root, pki.ca01, pki.ca00, pki.public_root, pki.public_ca]
    (out / "smime-issuing-ca.sst").write_bytes(write_sst([c.der for c in sst_certs]))
    (out / "ad.ldif").write_bytes(pf.ldif_bytes(mdt.ad_entries(users)))
    (out / "ad-config.ldif").write_bytes(pf.ldif_bytes(mdt.ad_config_entries(pki)))
    with (out / "exo-recipients.json").open("w", encoding="utf-8") as f:
        context = f"https://outlook.office365.com/adminapi/beta/{mdt.TENANT}/$metadata#Recipient"
        f.write(f'{{"@odata.context": "{context}",\n')
        f.write(' "value": [\n')
        for i, u in enumerate(users):
            rec = mdt.exo_recipient(u)
            if u.extra.get("corrupt_exo"):
                rec["UserCertificate"] = [*rec["UserCertificate"], "!!not base64!!"]
            f.write(("" if i == 0 else ",\n") + json.dumps(rec, ensure_ascii=False))
        f.write("\n]}\n")
    (out / "entra-users.json").write_text(json.dumps([mdt.entra_user(u) for u in users], indent=1) + "\n")
    (out / "entra-organization.json").write_text(
        json.dumps(
            {
                "id": mdt.TENANT_ID,
                "displayName": "Contoso (synthetic)",
                "onPremisesSyncEnabled": True,
                "onPremisesLastSyncDateTime": pf.iso_utc(mdt.LAST_SYNC),
            },
            indent=2,
        )
        + "\n"
    )
    meta = {
        "collected_at": AT,
        "sync_interval_minutes": mdt.SYNC_INTERVAL_MINUTES,
        "sync_scope": mdt.SYNC_SCOPE,
        "generator_version": GENERATOR_VERSION,
        "users": n_users,
    }
    # certs.der: every distinct certificate once, for the baseline (not part of the snapshot)
    seen: set[bytes] = set()
    with (out / "certs.der").open("wb") as f:
        for u in users:
            for v in [*u.user_certs, *u.smime_certs, *(u.exo_user_certs or []), *(u.exo_smime_certs or [])]:
                for der in _certificates_in(v):
                    digest = hashlib.sha256(der).digest()
                    if digest not in seen:
                        seen.add(digest)
                        f.write(struct.pack(">I", len(der)) + der)
    counts: dict[str, int] = {}
    for case, _ in plan.users:
        counts[case] = counts.get(case, 0) + 1
    meta["mix"] = counts
    meta["distinct_certificates"] = len(seen)
    # written last: its presence marks a complete snapshot
    (out / "snapshot.json").write_text(json.dumps(meta, indent=2) + "\n")
    return counts


def _certificates_in(value: bytes) -> list[bytes]:
    from workers.certs.pkcs7 import looks_like_pkcs7, parse_pkcs7

    if looks_like_pkcs7(value):
        return list(parse_pkcs7(value).certificates)
    try:
        x509.load_der_x509_certificate(value)
    except ValueError:
        return []
    return [value]


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="Write a synthetic snapshot")
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    print(generate(a.out, a.users))
