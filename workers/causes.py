"""Causes, not checks: which failing or warning findings are root causes, and which follow from one.

A consultant answers "why can't Bob encrypt to me?" with one cause: Stella's five failures
(ad_present, smime_precedence, smime_default_cert, trust.chain, cert.validity) all stem from one
stale Outlook publication. The rules, in order (the first that claims a finding wins):

| root cause | what follows from it |
| --- | --- |
| `publish.smime_precedence` (a stale userSMIMECertificate hides a good userCertificate) | `publish.ad_present`, `publish.smime_default_cert`, every finding about the certificate Outlook picks |
| `publish.ad_present` (what Outlook picks is unusable) | `publish.smime_default_cert`, every finding about the certificate Outlook picks |
| `publish.clutter` (stale values published besides the good one) | every finding about a certificate Outlook does not pick, `publish.count_limit` |
| `sync.in_scope`, `sync.mailnickname`, `sync.errors` (the object does not sync) | `exo.cert_matches_ad`, `sync.cert_flow`, `exo.propagation` |
| `cert.validity` of a certificate | `trust.chain` of the same certificate ("not valid at this time") |

Everything else that fails or warns is its own root cause. Tenant-wide findings are never a
user's cause (they are listed apart, for helpdesk and admins). The JSON report carries the
result as ``causes`` (docs/snapshot.md §2): root causes in order of importance, each with the
findings that follow from it.
"""

from __future__ import annotations

from typing import Any

from workers.checks import REGISTRY
from workers.report import Finding

PROBLEM = ("fail", "error", "warn")
# Which root causes come first when several are present: what the sender's client does first.
ORDER = (
    "sender.lookup",
    "publish.smime_precedence",
    "publish.ad_present",
    "sync.in_scope",
    "sync.mailnickname",
    "sync.errors",
    "publish.clutter",
)
SYNC_ROOTS = ("sync.in_scope", "sync.mailnickname", "sync.errors")
SYNC_FOLLOWERS = ("exo.cert_matches_ad", "sync.cert_flow", "exo.propagation")
PICK_FOLLOWERS = ("publish.ad_present", "publish.smime_default_cert")
PER_CERTIFICATE = ("cert.", "trust.chain", "trust.revocation", "trust.ca_health")


def _tenant_wide(f: Finding) -> bool:
    spec = REGISTRY.get(f.check)
    return spec is not None and spec.scope == "tenant"


def causes_of(findings: list[Finding], picked: str | None) -> list[dict[str, Any]]:
    """Root causes with their followers; `picked` is the sha256 of the certificate Outlook picks."""
    problems = [f for f in findings if f.status in PROBLEM and not _tenant_wide(f)]
    present = {f.check: f for f in problems}
    follows: dict[int, Finding] = {}  # id(finding) -> its root cause

    def claim(root: Finding, followers: list[Finding]) -> None:
        for f in followers:
            if f is not root and id(f) not in follows and id(root) not in follows:
                follows[id(f)] = root

    # per-certificate findings (cert.*, trust.*) follow from what is wrong with publishing; the
    # publish/sync findings that name a certificate are causes of their own
    per_cert = [f for f in problems if f.certificate and f.check.startswith(PER_CERTIFICATE)]
    about_pick = [f for f in per_cert if picked and f.certificate == picked]
    about_others = [f for f in per_cert if f.certificate != picked]
    if "publish.smime_precedence" in present:
        root = present["publish.smime_precedence"]
        claim(root, [f for f in problems if f.check in PICK_FOLLOWERS] + about_pick)
    if "publish.ad_present" in present:
        # nothing usable is picked: every certificate's own problem is why
        mine = about_pick if picked else per_cert
        claim(
            present["publish.ad_present"],
            [f for f in problems if f.check == "publish.smime_default_cert"] + mine,
        )
    if "publish.clutter" in present:
        claim(
            present["publish.clutter"],
            about_others + [f for f in problems if f.check == "publish.count_limit"],
        )
    for check in SYNC_ROOTS:
        if check in present:
            claim(present[check], [f for f in problems if f.check in SYNC_FOLLOWERS])
    for validity in [f for f in problems if f.check == "cert.validity" and f.certificate]:
        claim(
            validity,
            [f for f in problems if f.check == "trust.chain" and f.certificate == validity.certificate],
        )
    roots = [f for f in problems if id(f) not in follows]
    roots.sort(
        key=lambda f: (
            ORDER.index(f.check) if f.check in ORDER else len(ORDER),
            0 if f.status != "warn" else 1,
        )
    )
    out = []
    for root in roots:
        followers = [f for f in problems if follows.get(id(f)) is root]
        # a follower of a follower belongs to the same root cause
        followers += [f for f in problems if follows.get(id(f)) in followers and f not in followers]
        out.append(
            {
                "check": root.check,
                "status": root.status,
                "certificate": root.certificate,
                "title": root.title,
                "detail": root.detail,
                "remedy": root.remedy,
                "follows": [
                    {"check": f.check, "certificate": f.certificate, "title": f.title} for f in followers
                ],
            }
        )
    return out
