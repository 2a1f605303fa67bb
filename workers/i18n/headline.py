"""The one-sentence answer that leads every report ("Yes — …" / "No — …")."""

from __future__ import annotations

from workers.checks import REGISTRY
from workers.facts import UserFacts
from workers.report import Report

_FAIL_ORDER = (
    "publish.ad_present",
    "sender.lookup",
    "trust.exo_issuing_ca",
    "exo.cert_matches_ad",
    "sync.mailnickname",
)


# Failures that stop a sender's client from encrypting. Anything else that fails — an expired
# value Outlook does not pick, an unreadable extra value — sits beside a working certificate:
# the answer is "Yes, but", not "No" (senders' clients ignore it).
BLOCKING = (
    "sender.lookup",
    "publish.ad_present",
    "publish.smime_precedence",
    "publish.smime_default_cert",
    "sync.in_scope",
    "sync.mailnickname",
    "sync.errors",
    "exo.cert_matches_ad",
    "exo.recipient_found",
    "exo.hidden_from_gal",
    "publish.attr_size",
    "sender.distribution_list",
    "trust.exo_issuing_ca",
)


def answer_of(report: Report) -> str:
    """ "yes", "yes_but" or "no" — what senders' clients do, not the worst finding."""
    own = [f for f in report.findings if f.check not in REGISTRY or REGISTRY[f.check].scope != "tenant"]
    fails = [f for f in own if f.status == "fail"]
    picked = (report.outlook_choice or {}).get("certificate")
    blocking = [f for f in fails if f.check in BLOCKING or (picked and f.certificate == picked) or not picked]
    if blocking:
        return "no"
    return "yes_but" if fails or any(f.status == "warn" for f in own) else "yes"


def headline(report: Report, user: UserFacts, sender: UserFacts | None, lang: str) -> str:

    de = lang == "de"
    report.answer = answer_of(report)
    who = user.primary_smtp or user.display
    # The answer is about this user; tenant-wide findings are listed apart by the renderers.
    own = [f for f in report.findings if f.check not in REGISTRY or REGISTRY[f.check].scope != "tenant"]
    fails = [f for f in own if f.status == "fail"]
    fails.sort(key=lambda f: _FAIL_ORDER.index(f.check) if f.check in _FAIL_ORDER else len(_FAIL_ORDER))
    # the reason named is the root cause (workers/causes.py), not the first symptom
    roots = {c["check"]: c for c in report.causes}
    root_fails = [f for f in fails if f.check in roots]
    fails = root_fails + [f for f in fails if f not in root_fails]
    if report.kind == "encrypt_to" and sender is not None:
        name = sender.external_address if sender.external else (sender.primary_smtp or sender.display)
        lookup = next((f for f in report.findings if f.check == "sender.lookup"), None)
        if sender.external:
            return (
                f"{name} ist extern und kann {who} erst nach einer signierten Mail verschlüsseln."
                if de
                else f"{name} is external and can encrypt to {who} only after receiving a signed mail."
            )
        if lookup is not None and lookup.status == "pass" and report.answer != "no":
            return (
                f"Ja — {name} kann an {who} verschlüsseln." if de else f"Yes — {name} can encrypt to {who}."
            )
        reason = fails[0].title if fails else (lookup.title if lookup else "")
        return (
            f"Nein — {name} kann nicht an {who} verschlüsseln: {reason}."
            if de
            else f"No — {name} cannot encrypt to {who}: {reason}."
        )
    if fails and report.answer == "no":
        return f"Nein — {who}: {fails[0].title}." if de else f"No — {who}: {fails[0].title}."
    present = next((f for f in own if f.check == "publish.ad_present"), None)
    first_cause = report.causes[0]["title"] if report.causes else None
    warn = next((f for f in own if f.status in ("fail", "warn") and f.title == first_cause), None) or (
        fails[0] if fails else next((f for f in own if f.status == "warn"), None)
    )
    if present is not None and present.status == "pass":
        base = (
            f"Ja — das Zertifikat von {who} ist veröffentlicht"
            if de
            else f"Yes — {who}'s certificate is published"
        )
    else:
        base = f"{who}: keine Fehler" if de else f"{who}: no failures"
    flowing = next((f for f in own if f.check == "exo.cert_matches_ad" and f.status == "info"), None)
    if warn is not None:
        return base + (f", aber: {warn.title}." if de else f", but: {warn.title}.")
    if flowing is not None:
        return base + f" — {flowing.title}: {flowing.detail}"
    return base + "."
