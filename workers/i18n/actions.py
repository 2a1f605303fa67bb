"""What each remediation is called where people read it, in both languages — never its id
(prune_certificates) in a sentence for a person."""

from __future__ import annotations

from typing import Any

ACTION_NAMES = {
    "reset_published": (
        "reset of the published certificates",
        "Zurücksetzen der veröffentlichten Zertifikate",
    ),
    "prune_certificates": ("clean-up of old certificates", "Bereinigung alter Zertifikate"),
    "set_mail_nickname": ("setting the mail nickname", "Setzen des Mail-Nicknames"),
    "lowercase_addresses": ("lower-casing the addresses", "Kleinschreiben der Adressen"),
    "clear_smime_attribute": ("clearing userSMIMECertificate", "Leeren von userSMIMECertificate"),
    "upload_issuing_ca": ("adding an issuing CA to the tenant", "Hinzufügen einer ausstellenden CA"),
    "undo": ("undo of a change", "Rücknahme einer Änderung"),
}


def action_name(action: str, lang: str) -> str:
    names = ACTION_NAMES.get(action)
    return names[1 if lang == "de" else 0] if names else action


def target_of(request: dict[str, Any]) -> str:
    """Whose objects a request changes, as people know them: "Tom Terminal <ts.user@…>"."""
    raw = request.get("plan")
    plan: dict[str, Any] = raw if isinstance(raw, dict) else {}
    display, smtp = plan.get("target_display"), plan.get("primary_smtp")
    if display and smtp and display != smtp:
        return f"{display} <{smtp}>"
    return str(smtp or display or request.get("target") or "?")
