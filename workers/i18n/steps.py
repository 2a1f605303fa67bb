"""The one thing to do about a root cause, said so it can be done from the chat.

A remedy in a finding is written for admins ("prune_certificates / clear_smime_attribute");
a person asking about themself needs the sentence they can act on: what to say to the bot,
or whom to ask. Keyed by the root cause's check (workers/causes.py); English and German side
by side with the same placeholders (tests/unit/test_steps.py checks both).
"""

from __future__ import annotations

RESET = (
    "Say 'reset my published certs': an approver confirms, then the stale values are removed (nothing changes before).",
    "Sagen Sie „setze meine veröffentlichten Zertifikate zurück“: eine freigebende Person bestätigt, dann werden die veralteten Werte entfernt (vorher ändert sich nichts).",
)
ENROLL = (
    "Get a new S/MIME certificate (autoenrollment signs you up at your next logon, or use your CA's portal); then ask 'when will others see my new certificate?'.",
    "Holen Sie sich ein neues S/MIME-Zertifikat (die automatische Registrierung beim nächsten Anmelden oder das Portal Ihrer CA); fragen Sie dann „wann sehen andere mein neues Zertifikat?“.",
)
HELPDESK = (
    "This needs the helpdesk: your account's directory data must be fixed ({check}); they can request the change here.",
    "Das muss das Helpdesk beheben: die Verzeichnisdaten Ihres Kontos ({check}); es kann die Änderung hier beantragen.",
)
WAIT = (
    "Nothing to do: it is on its way; ask 'when will others see my new certificate?' for the timeline.",
    "Nichts zu tun: es ist unterwegs; fragen Sie „wann sehen andere mein neues Zertifikat?“ nach dem Zeitplan.",
)

STEPS: dict[str, tuple[str, str]] = {
    "publish.smime_precedence": RESET,
    "publish.ad_present": ENROLL,
    "publish.smime_default_cert": RESET,
    "publish.clutter": RESET,
    "publish.count_limit": RESET,
    "publish.foreign_cert": RESET,
    "cert.validity": ENROLL,
    "cert.eku_email": ENROLL,
    "cert.can_encrypt": ENROLL,
    "cert.address_match": ENROLL,
    "cert.key_strength": ENROLL,
    "trust.chain": ENROLL,
    "sync.mailnickname": HELPDESK,
    "sync.in_scope": HELPDESK,
    "sync.errors": HELPDESK,
    "exo.hidden_from_gal": HELPDESK,
    "exo.recipient_found": HELPDESK,
    "exo.cert_matches_ad": WAIT,
}


def chat_step(cause: dict[str, object], lang: str) -> str:
    """The step for a root cause (a `causes` entry of the JSON report), else its own remedy."""
    check = str(cause.get("check") or "")
    step = STEPS.get(check)
    if step is None:
        return str(cause.get("remedy") or "")
    return step[1 if lang == "de" else 0].format(check=check)
