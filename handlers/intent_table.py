"""Every intent the chat understands, in one table: who may use it, and how help shows it.

The chat core (handlers/chat.py) dispatches on `kind`; help, "closest commands" and the
permission check all read this table, so a new intent is one row plus its handler.
`roles` empty means everyone; `others` is what asking about someone else needs (asking about
yourself never needs more than being a user).
"""

from __future__ import annotations

from dataclasses import dataclass

HELPDESK = frozenset({"helpdesk", "admin"})
APPROVERS = frozenset({"approver", "admin"})


@dataclass(frozen=True)
class IntentSpec:
    kind: str
    handler: str  # the Dispatcher method that answers it
    roles: frozenset[str] = frozenset()  # needed to use it at all (empty: everyone)
    others: frozenset[str] = frozenset()  # needed when it is about someone else
    examples: tuple[tuple[str, str], ...] = ()  # (en, de) help lines; the first is the main one


INTENT_TABLE: dict[str, IntentSpec] = {
    s.kind: s
    for s in (
        IntentSpec(
            "diagnose",
            "_diagnose",
            others=HELPDESK,
            examples=(
                ("is my cert published?", "ist mein Zertifikat veröffentlicht?"),
                ("when does my certificate expire?", "wann läuft mein Zertifikat ab?"),
                ("when will others see my new certificate?", "wann sehen andere mein neues Zertifikat?"),
            ),
        ),
        IntentSpec(
            "why_cant_encrypt",
            "_why",
            others=HELPDESK,
            examples=(
                ("why can't <name> encrypt to me?", "warum kann <Name> mir nicht verschlüsselt schreiben?"),
                ("why can't I encrypt to <name>?", "warum kann ich <Name> nicht verschlüsselt schreiben?"),
            ),
        ),
        IntentSpec(
            "reset",
            "_reset",
            examples=(("reset my published certs", "setze meine veröffentlichten Zertifikate zurück"),),
        ),
        IntentSpec(
            "diagnose_other",
            "_diagnose",
            roles=HELPDESK,
            examples=(
                ("check <user>", "prüfe <Benutzer>"),
                ("why can't <X> encrypt to <Y>?", "warum kann <X> an <Y> nicht verschlüsselt schreiben?"),
                ("history of <user>", "Verlauf von <Benutzer>"),
            ),
        ),
        IntentSpec(
            "audit",
            "_audit",
            roles=HELPDESK,
            examples=(
                ("which users have certificate problems?", "welche Benutzer haben Zertifikatsprobleme?"),
            ),
        ),
        IntentSpec(
            "history",
            "_history_of",
            others=HELPDESK,
            examples=(("history of me", "mein Verlauf"),),
        ),
        IntentSpec(
            "request_action",
            "_request",
            roles=HELPDESK,
            examples=(
                (
                    "request set_mail_nickname | lowercase_addresses | clear_smime_attribute for <user>",
                    "beantrage set_mail_nickname | lowercase_addresses | clear_smime_attribute für <Benutzer>",
                ),
                (
                    "request upload_issuing_ca for <CA name or sha256>",
                    "beantrage upload_issuing_ca für <CA-Name oder sha256>",
                ),
            ),
        ),
        IntentSpec(
            "pending",
            "_pending",
            roles=APPROVERS,
            examples=(("anything waiting for my approval?", "was wartet auf meine Freigabe?"),),
        ),
        IntentSpec(
            "approve",
            "_decide",
            roles=APPROVERS,
            examples=(
                (
                    "approve <request id>, or: approve the request from <name>",
                    "genehmige <Antrags-ID> oder: genehmige den Antrag von <Name>",
                ),
            ),
        ),
        IntentSpec(
            "deny",
            "_decide",
            roles=APPROVERS,
            examples=(("deny <request id> because <reason>", "lehne <Antrags-ID> ab, weil <Grund>"),),
        ),
        IntentSpec(
            "undo",
            "_undo",
            roles=HELPDESK | APPROVERS,
            examples=(("undo <request id>", "mach <Antrags-ID> rückgängig"),),
        ),
        IntentSpec("explain", "_explain", examples=(("explain <check id>", "erkläre <Prüfungs-ID>"),)),
        IntentSpec("about", "_about", examples=(("what is S/MIME?", "was ist S/MIME?"),)),
        IntentSpec("help", "_help", examples=(("help", "hilfe"),)),
        IntentSpec("clarify", "_clarify"),
        IntentSpec("unknown", "_unknown"),
    )
}


def visible_to(roles: set[str]) -> list[IntentSpec]:
    """The intents a person with `roles` may use, in help order."""
    return [s for s in INTENT_TABLE.values() if s.examples and (not s.roles or roles & s.roles)]


def example_lines(roles: set[str], lang: str) -> list[str]:
    index = 0 if lang == "en" else 1
    return [example[index] for spec in visible_to(roles) for example in spec.examples]
