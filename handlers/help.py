"""Help that shows only what the asker may do, and explanations of check ids."""

from __future__ import annotations

from handlers.intents import COMMANDS
from workers.checks import REGISTRY
from workers.checks.base import outcomes

USER_KINDS = {"self_check", "why_to_me", "reset", "explain", "help"}
HELPDESK_KINDS = {"check", "why", "audit", "history", "request", "undo"}

HEAD = {
    "en": "I answer questions about S/MIME certificates. You can ask:",
    "de": "Ich beantworte Fragen zu S/MIME-Zertifikaten. Sie können fragen:",
}
NOT_UNDERSTOOD = {
    "en": "Sorry, I did not understand that. Closest commands:",
    "de": "Das habe ich nicht verstanden. Am nächsten kommen:",
}


def help_text(roles: set[str], lang: str) -> str:
    allowed = set(USER_KINDS)
    if roles & {"helpdesk", "admin"}:
        allowed |= HELPDESK_KINDS
    lines = [HEAD[lang]]
    lines += [f"  • {phrase}" for phrase, kind in COMMANDS[lang] if kind in allowed]
    return "\n".join(lines)


def not_understood(suggestions: tuple[str, ...], lang: str) -> str:
    help_word = "help" if lang == "en" else "hilfe"
    lines = [NOT_UNDERSTOOD[lang]] + [f"  • {s}" for s in suggestions if s != help_word]
    lines.append(f"  • {help_word}")
    return "\n".join(lines)


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
