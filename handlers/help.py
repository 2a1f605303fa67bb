"""Help that shows only what the asker may do, "did you mean", S/MIME in three sentences, and
explanations of check ids. What is offered comes from handlers/intent_table.py."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from handlers.intent_table import example_lines
from handlers.understanding.text import fold
from workers.checks import REGISTRY
from workers.checks.base import outcomes

SUGGEST_CHARS = 200  # how much of a message the "closest commands" similarity reads
ABOUT = {
    "en": (
        "S/MIME signs and encrypts e-mail with a certificate per person. To send you encrypted "
        "mail, colleagues' Outlook needs your certificate, which travels from Active Directory "
        "through Entra Connect to Exchange Online and the offline address book (hours to a day). "
        "I check every step of that chain for you, tell you what is wrong and what fixes it, and "
        "carry out clean-ups once an approver agrees. Ask me 'is my cert published?' or type 'help'."
    ),
    "de": (
        "S/MIME signiert und verschlüsselt E-Mails mit einem Zertifikat pro Person. Damit Kollegen "
        "Ihnen verschlüsselt schreiben können, braucht deren Outlook Ihr Zertifikat; es wandert vom "
        "Active Directory über Entra Connect nach Exchange Online und ins Offline-Adressbuch "
        "(Stunden bis ein Tag). Ich prüfe jeden Schritt dieser Kette, sage, was nicht stimmt und was "
        "hilft, und führe Bereinigungen aus, sobald eine freigebende Person zustimmt. Fragen Sie "
        "„ist mein Zertifikat veröffentlicht?“ oder tippen Sie „hilfe“."
    ),
}

HEAD = {
    "en": "I answer questions about S/MIME certificates. You can ask:",
    "de": "Ich beantworte Fragen zu S/MIME-Zertifikaten. Sie können fragen:",
}
NOT_UNDERSTOOD = {
    "en": "Sorry, I did not understand that. Closest commands:",
    "de": "Das habe ich nicht verstanden. Am nächsten kommen:",
}


def help_text(roles: set[str], lang: str) -> str:
    """What this person may ask (approvers see pending/approve/deny; users no helpdesk commands)."""
    return "\n".join([HEAD[lang], *(f"  • {line}" for line in example_lines(roles, lang))])


def closest_commands(text: str, roles: set[str], lang: str, limit: int = 3) -> list[str]:
    """The example phrasings this person may use that are nearest to what they typed."""
    help_word = "help" if lang == "en" else "hilfe"
    lines = [line for line in example_lines(roles, lang) if line != help_word]
    best = process.extract(
        fold(text[:SUGGEST_CHARS]), lines, scorer=fuzz.token_set_ratio, processor=fold, limit=limit
    )
    return [line for line, _, _ in best]


def not_understood(text: str, roles: set[str], lang: str) -> str:
    help_word = "help" if lang == "en" else "hilfe"
    lines = [NOT_UNDERSTOOD[lang], *(f"  • {s}" for s in closest_commands(text, roles, lang))]
    lines.append(f"  • {help_word}")
    return "\n".join(lines)


def about(lang: str) -> str:
    return ABOUT[lang]


def explain(check_id: str | None, lang: str) -> str:

    spec = REGISTRY.get(check_id or "")
    if spec is None:
        near = [c for c in REGISTRY if check_id and check_id.split(".")[0] == c.split(".")[0]][:6]
        if lang == "de":
            return f"Eine Prüfung „{check_id}“ gibt es nicht." + (
                f" Meinten Sie: {', '.join(near)}?" if near else ""
            )
        return f"There is no check '{check_id}'." + (f" Did you mean: {', '.join(near)}?" if near else "")
    scope = {
        "user": ("per user", "je Benutzer"),
        "tenant": ("tenant-wide", "mandantenweit"),
        "sender": ("for a sender", "für einen Absender"),
    }[spec.scope]
    can = ", ".join(s for s in outcomes(spec) if s != "pass")
    # The rule is the precise condition, written once in English at the check's registration.
    if lang == "de":
        return f"{spec.id} ({scope[1]}): {spec.summary['de']}.\nRegel (englisch): {spec.rule}\nMögliche Befunde: {can}"
    return f"{spec.id} ({scope[0]}): {spec.summary['en']}.\nRule: {spec.rule}\nCan report: {can}"
