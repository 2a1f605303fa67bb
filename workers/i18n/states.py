"""What an approval request's states are called where people read them, in both languages
(never the English state id inside a German sentence)."""

from __future__ import annotations

STATE_WORDS = {
    "en": {
        "pending": "waiting for an approver",
        "approved": "approved",
        "denied": "denied",
        "expired": "expired",
        "executing": "being carried out",
        "done": "done",
        "failed": "failed",
    },
    "de": {
        "pending": "wartet auf Freigabe",
        "approved": "freigegeben",
        "denied": "abgelehnt",
        "expired": "abgelaufen",
        "executing": "wird ausgeführt",
        "done": "erledigt",
        "failed": "fehlgeschlagen",
    },
}


def state_name(state: str, lang: str) -> str:
    return STATE_WORDS["de" if lang == "de" else "en"].get(state, state)
