"""TrustStore: RFC 5280 path validation with a per-chain fast path that must agree with pyhanko."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from cryptography import x509

from tests.support.trust_pki import T2025, T2026, issue, name_of, new_key, simple_pki, unknown_extension
from workers.certs.trust import PathResult, TrustStore

AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def store(pki, *, with_inter: bool = True, at: dt.datetime = AT) -> TrustStore:
    return TrustStore([pki.root.info], [pki.inter.info] if with_inter else [], at=at)


def test_valid_leaf_has_full_path() -> None:
    pki = simple_pki()
    r = store(pki).validate(pki.leaf.info)
    assert r.ok, r.error
    assert [c.sha256 for c in r.path] == [pki.leaf.info.sha256, pki.inter.info.sha256, pki.root.info.sha256]
    assert r.anchor_sha256 == pki.root.info.sha256
    assert r.error is None and r.reason_code is None and not r.needed_aia_fetch


def test_missing_intermediate_is_no_issuer() -> None:
    pki = simple_pki()
    r = store(pki, with_inter=False).validate(pki.leaf.info)
    assert not r.ok and r.reason_code == "no_issuer"
    assert r.path == ()
    assert "Contoso Issuing CA" in (r.error or "")


def test_intermediate_from_blob() -> None:
    pki = simple_pki()
    other_leaf = issue("bob", pki.inter)
    ts = store(pki, with_inter=False)
    r = ts.validate(pki.leaf.info, [pki.inter.info, other_leaf.info])
    assert r.ok, r.error
    assert r.path[1].sha256 == pki.inter.info.sha256
    # the blob intermediate does not leak into validations without it
    assert not ts.validate(issue("carol", pki.inter).info).ok


def test_expired_leaf() -> None:
    pki = simple_pki(not_after=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    r = store(pki).validate(pki.leaf.info)
    assert not r.ok and r.reason_code == "expired"
    assert "2025-06-01" in (r.error or "") and "alice" in (r.error or "")


def test_expired_intermediate() -> None:
    root = issue("Root", ca=True)
    inter = issue("Old Issuing CA", root, ca=True, not_after=dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    leaf = issue("alice", inter)
    r = TrustStore([root.info], [inter.info], at=AT).validate(leaf.info)
    assert not r.ok and r.reason_code == "expired"
    assert "Old Issuing CA" in (r.error or "") and "2025-12-01" in (r.error or "")


def test_wrong_signature() -> None:
    pki = simple_pki()
    forged = issue("mallory", pki.inter, sign_key=new_key())
    r = store(pki).validate(forged.info)
    assert not r.ok and r.reason_code == "signature"


def test_intermediate_without_key_cert_sign() -> None:
    root = issue("Root", ca=True)
    inter = issue("Issuing CA", root, ca=True, key_usage="ca_no_certsign")
    leaf = issue("alice", inter)
    r = TrustStore([root.info], [inter.info], at=AT).validate(leaf.info)
    assert not r.ok and r.reason_code == "key_usage"


def test_intermediate_not_ca() -> None:
    root = issue("Root", ca=True)
    inter = issue("Not a CA", root, ca=False, eku=[])
    leaf = issue("alice", inter)
    r = TrustStore([root.info], [inter.info], at=AT).validate(leaf.info)
    assert not r.ok and r.reason_code == "basic_constraints"


def test_path_length_exceeded() -> None:
    # pyhanko (like RFC 5280) takes no constraints from the anchor certificate itself,
    # so the pathLenConstraint 0 sits on an intermediate with another CA below it
    root = issue("Root", ca=True)
    mid = issue("Policy CA", root, ca=True, path_len=0)
    low = issue("Sub CA", mid, ca=True)
    r = TrustStore([root.info], [mid.info, low.info], at=AT).validate(issue("alice", low).info)
    assert not r.ok and r.reason_code == "basic_constraints"
    assert TrustStore([root.info], [mid.info], at=AT).validate(issue("bob", mid).info).ok


def test_rfc822_name_constraints_exclude_leaf() -> None:
    root = issue("Root", ca=True)
    nc = x509.NameConstraints(permitted_subtrees=None, excluded_subtrees=[x509.RFC822Name("fabrikam.com")])
    inter = issue("Issuing CA", root, ca=True, name_constraints=nc)
    bad = issue("eve", inter, emails=["eve@fabrikam.com"])
    good = issue("alice", inter, emails=["alice@contoso.com"])
    ts = TrustStore([root.info], [inter.info], at=AT)
    r = ts.validate(bad.info)
    assert not r.ok and r.reason_code == "name_constraints"
    assert ts.validate(good.info).ok


def test_unknown_critical_extension_on_leaf() -> None:
    pki = simple_pki(extra_extensions=[(unknown_extension(), True)])
    r = store(pki).validate(pki.leaf.info)
    assert not r.ok and r.reason_code == "critical_extension"
    ok = simple_pki(extra_extensions=[(unknown_extension(), False)])
    assert store(ok).validate(ok.leaf.info).ok


def test_at_semantics() -> None:
    pki = simple_pki(not_before=T2025, not_after=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert store(pki, at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)).validate(pki.leaf.info).ok
    r = store(pki, at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)).validate(pki.leaf.info)
    assert not r.ok and r.reason_code == "expired"
    early = store(pki, at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC)).validate(pki.leaf.info)
    assert not early.ok and "not valid before" in (early.error or "")


def test_leaf_issued_by_root_directly() -> None:
    root = issue("Root", ca=True)
    leaf = issue("alice", root)
    r = TrustStore([root.info], at=AT).validate(leaf.info)
    assert r.ok and len(r.path) == 2


def test_self_signed_untrusted_leaf() -> None:
    pki = simple_pki()
    selfie = issue("selfie")
    r = store(pki).validate(selfie.info)
    assert not r.ok and r.reason_code == "no_issuer"


def test_never_raises_on_odd_input() -> None:
    pki = simple_pki()
    # a CA certificate validated as a leaf, an anchor validated as a leaf
    assert store(pki).validate(pki.inter.info).ok
    assert isinstance(store(pki).validate(pki.root.info), PathResult)


def test_usable_inside_running_event_loop() -> None:
    pki = simple_pki()

    async def inside() -> bool:
        ts = store(pki)
        return (
            ts.validate(issue("x", pki.inter, sign_key=new_key()).info).ok is False
            and ts.validate(pki.leaf.info).ok
        )

    assert asyncio.run(inside())


def _batch() -> tuple[TrustStore, list]:
    """Leaves under three chains: healthy, expired intermediate, intermediate without keyCertSign."""
    root = issue("Batch Root", ca=True)
    healthy = issue("Healthy CA", root, ca=True)
    expired = issue("Expired CA", root, ca=True, not_after=dt.datetime(2025, 12, 31, tzinfo=dt.UTC))
    nosign = issue("No-Sign CA", root, ca=True, key_usage="ca_no_certsign")
    leaves = []
    for i in range(30):
        for ca in (healthy, expired, nosign):
            kind = i % 5
            if kind == 0:
                leaves.append(issue(f"u{i}", ca, emails=[f"u{i}@contoso.com"]))
            elif kind == 1:
                leaves.append(issue(f"u{i}", ca, not_after=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)))
            elif kind == 2:
                leaves.append(issue(f"u{i}", ca, sign_key=new_key()))
            elif kind == 3:
                leaves.append(issue(f"u{i}", ca, not_before=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)))
            else:
                leaves.append(issue(f"u{i}", ca, not_before=T2026, not_after=AT + dt.timedelta(seconds=1)))
    return TrustStore([root.info], [healthy.info, expired.info, nosign.info], at=AT), leaves


def test_fast_path_agrees_with_full_validation() -> None:
    ts, leaves = _batch()
    reference = TrustStore(ts._anchors.values(), [c.info for c in ts._pool.values()], at=AT)
    for leaf in leaves:
        fast = ts.validate(leaf.info)
        full = reference.validate_full(leaf.info)
        assert (fast.ok, fast.reason_code) == (full.ok, full.reason_code), leaf.info.subject
        assert [c.sha256 for c in fast.path] == [c.sha256 for c in full.path]
    assert ts.stats["fast"] >= len(leaves) - 3 - 1  # one calibration per chain
    assert ts.stats["full"] <= 3
    assert not any(not c.fast for c in ts._chains.values())


def test_chain_with_name_constraints_uses_full_validation() -> None:
    root = issue("Root", ca=True)
    nc = x509.NameConstraints(permitted_subtrees=[x509.RFC822Name("contoso.com")], excluded_subtrees=None)
    inter = issue("Issuing CA", root, ca=True, name_constraints=nc)
    ts = TrustStore([root.info], [inter.info], at=AT)
    for i in range(3):
        assert ts.validate(issue(f"u{i}", inter, emails=[f"u{i}@contoso.com"]).info).ok
    assert not ts.validate(issue("x", inter, emails=["x@fabrikam.com"]).info).ok
    assert ts.stats["fast"] == 0


def test_renewed_ca_with_same_name_uses_full_validation() -> None:
    root = issue("Root", ca=True)
    old = issue("Issuing CA", root, ca=True)
    new = issue("Issuing CA", root, ca=True)  # same name, new key
    ts = TrustStore([root.info], [old.info, new.info], at=AT)
    assert ts.validate(issue("a", old).info).ok
    assert ts.validate(issue("b", new).info).ok
    assert ts.stats["fast"] == 0


def test_results_cached_by_leaf_and_extras() -> None:
    pki = simple_pki()
    ts = store(pki, with_inter=False)
    assert not ts.validate(pki.leaf.info).ok
    assert ts.validate(pki.leaf.info, [pki.inter.info]).ok
    assert not ts.validate(pki.leaf.info).ok
    assert ts.stats["cached"] == 1


def test_name_matched_only_after_normalisation() -> None:
    """The leaf's issuer DN differs in case from the CA's subject: RFC 5280 still chains (full path)."""
    root = issue("Root", ca=True)
    inter = issue("Issuing CA", root, ca=True)
    leaf = issue("alice", inter, issuer_name=name_of("ISSUING ca", "contoso TEST"))
    ts = TrustStore([root.info], [inter.info], at=AT)
    r = ts.validate(leaf.info)
    assert r.ok, r.error
    assert ts.stats["fast"] == 0 and ts.stats["full"] == 1


@pytest.mark.parametrize("n", [200])
def test_fast_path_cost_is_small(n: int) -> None:
    """Smoke check of the design target; the real number is measured in the report."""
    import time

    pki = simple_pki()
    leaves = [issue(f"u{i}", pki.inter).info for i in range(n)]
    ts = store(pki)
    ts.validate(leaves[0])
    start = time.perf_counter()
    for leaf in leaves[1:]:
        assert ts.validate(leaf).ok
    per_leaf = (time.perf_counter() - start) / (n - 1)
    assert per_leaf < 0.0005  # full validation is ~1 ms+; fast path is tens of µs
