"""Answers to "when does my certificate expire?" and "when will others see my new one?".

Both are diagnoses (the whole report stays below), led by the one sentence asked for: the
report's headline becomes that sentence, and the verdict's own headline moves to
`report["verdict_headline"]`, so every renderer shows the answer first without knowing focus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workers.timestamps import parse_time

FOCUSES = ("expiry", "propagation")


def focused(report: dict[str, Any], focus: str | None, lang: str) -> dict[str, Any]:
    """The report with the focus sentence as its headline (unchanged without a focus)."""
    if focus not in FOCUSES:
        return report
    sentence = _expiry(report, lang) if focus == "expiry" else _propagation(report, lang)
    return {**report, "focus": focus, "verdict_headline": report.get("headline"), "headline": sentence}


def for_whom(report: dict[str, Any], user: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Mark a report about the asker themself (audience "self"): renderers then give the short
    answer — cause, one step, timeline — instead of the helpdesk's full report."""
    if spec.get("focus") == "detail":  # "check me in detail": the full report, whoever asks
        return report
    if str(spec.get("asker") or "").lower() == str(getattr(user, "key", "")).lower():
        return {**report, "audience": "self"}
    return report


def _who(report: dict[str, Any]) -> str:
    subject = report.get("subject") or {}
    return str(subject.get("primary_smtp") or subject.get("query") or "?")


def _expiry(report: dict[str, Any], lang: str) -> str:
    de = lang == "de"
    who = _who(report)
    certs = [c for c in report.get("certificates") or [] if parse_time(c.get("not_after")) is not None]
    if not certs:
        return (
            f"Für {who} ist kein lesbares Zertifikat veröffentlicht, also läuft auch keines ab."
            if de
            else f"No readable certificate is published for {who}, so none expires."
        )
    chosen = (report.get("outlook_choice") or {}).get("certificate")
    cert = next((c for c in certs if c.get("sha256") == chosen), None)
    which = (
        ("das Zertifikat, das Outlook verwendet," if de else "the certificate Outlook uses")
        if cert
        else ("das am längsten gültige Zertifikat" if de else "the longest-valid certificate")
    )
    cert = cert or max(certs, key=lambda c: parse_time(c["not_after"]) or datetime.min)
    end = parse_time(cert["not_after"])
    now = parse_time(report.get("evaluated_at"))
    assert end is not None
    day = end.date().isoformat()
    days = (end - now).days if now else None
    if days is not None and days < 0:
        return (
            f"Für {who} ist {which} am {day} abgelaufen (vor {-days} Tagen); bitte erneuern."
            if de
            else f"For {who}, {which} expired on {day} ({-days} days ago); it needs renewing."
        )
    left = f" ({days} days from now)" if days is not None else ""
    left_de = f" (noch {days} Tage)" if days is not None else ""
    soon = days is not None and days <= 30
    if de:
        tail = (
            " Jetzt erneuern, damit Absender das neue rechtzeitig haben (~48 h fürs Adressbuch)."
            if soon
            else ""
        )
        return f"Für {who} gilt {which} bis {day}{left_de}.{tail}"
    tail = " Renew it now so senders have the new one in time (~48 h for the address book)." if soon else ""
    return f"For {who}, {which} is valid until {day}{left}.{tail}"


def _propagation(report: dict[str, Any], lang: str) -> str:
    de = lang == "de"
    finding = next((f for f in report.get("findings") or [] if f.get("check") == "exo.propagation"), None)
    if finding is None:
        who = _who(report)
        return (
            f"Für {who} ist kein Zertifikat unterwegs: weder AD noch Exchange Online halten eines."
            if de
            else f"Nothing is on its way for {who}: neither AD nor Exchange Online holds a certificate."
        )
    title, detail = str(finding.get("title") or ""), str(finding.get("detail") or "")
    return f"{title}: {detail}" if detail else title
