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


def headline(report: Report, user: UserFacts, sender: UserFacts | None, lang: str) -> str:

    de = lang == "de"
    who = user.primary_smtp or user.display
    # The answer is about this user; tenant-wide findings are listed apart by the renderers.
    own = [f for f in report.findings if f.check not in REGISTRY or REGISTRY[f.check].scope != "tenant"]
    fails = [f for f in own if f.status == "fail"]
    fails.sort(key=lambda f: _FAIL_ORDER.index(f.check) if f.check in _FAIL_ORDER else len(_FAIL_ORDER))
    if report.kind == "encrypt_to" and sender is not None:
        name = sender.external_address if sender.external else (sender.primary_smtp or sender.display)
        lookup = next((f for f in report.findings if f.check == "sender.lookup"), None)
        if sender.external:
            return (
                f"{name} ist extern und kann {who} erst nach einer signierten Mail verschlüsseln."
                if de
                else f"{name} is external and can encrypt to {who} only after receiving a signed mail."
            )
        if lookup is not None and lookup.status == "pass" and not fails:
            return (
                f"Ja — {name} kann an {who} verschlüsseln." if de else f"Yes — {name} can encrypt to {who}."
            )
        reason = fails[0].title if fails else (lookup.title if lookup else "")
        return (
            f"Nein — {name} kann nicht an {who} verschlüsseln: {reason}."
            if de
            else f"No — {name} cannot encrypt to {who}: {reason}."
        )
    if fails:
        return f"Nein — {who}: {fails[0].title}." if de else f"No — {who}: {fails[0].title}."
    present = next((f for f in own if f.check == "publish.ad_present"), None)
    warn = next((f for f in own if f.status == "warn"), None)
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
