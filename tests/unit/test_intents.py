"""How people phrase their questions, in English and German, and what the bot understands."""

from __future__ import annotations

import pytest

from handlers.intents import parse

EN = [
    ("is my cert published?", "self_check", {}),
    ("Is my certificate published", "self_check", {}),
    ("is my certifcate ok?", "self_check", {}),
    ("are my certs published", "self_check", {}),
    ("IS MY CERT PUBLISHED", "self_check", {}),
    ("my status", "self_check", {}),
    ("/smime status", "self_check", {}),
    ("why can't Alex encrypt to me?", "why_to_me", {"sender": "alex"}),
    (
        "Why cant alex.wilber@contoso.example encrypt to me",
        "why_to_me",
        {"sender": "alex.wilber@contoso.example"},
    ),
    ("why doesn't bob encrypt to me", "why_to_me", {"sender": "bob"}),
    ("why can't alex send encrypted mail to me?", "why_to_me", {"sender": "alex"}),
    ("/smime why alex", "why_to_me", {"sender": "alex"}),
    ("who can encrypt to me", "why_to_me", {"sender": None}),
    ("why can't alex encrypt to bob?", "why", {"sender": "alex", "recipient": "bob"}),
    (
        "why can't Alex Wilber encrypt to Stella Stale",
        "why",
        {"sender": "alex wilber", "recipient": "stella stale"},
    ),
    ("reset my published certs", "reset", {}),
    ("Reset my certificates please", "reset", {}),
    ("clean up my certs", "reset", {}),
    ("/smime reset", "reset", {}),
    ("check bob", "check", {"subject": "bob"}),
    ("check user stale.smime", "check", {"subject": "stale.smime"}),
    ("diagnose alice@contoso.example", "check", {"subject": "alice@contoso.example"}),
    ("/smime check bob", "check", {"subject": "bob"}),
    ("audit", "audit", {}),
    ("explain publish.count_limit", "explain", {"check_id": "publish.count_limit"}),
    ("what does sync.mailnickname mean?", "explain", {"check_id": "sync.mailnickname"}),
    ("help", "help", {}),
    ("history of alice", "history", {"subject": "alice"}),
    ("approve R-AbC123", "approve", {"request_id": "R-AbC123"}),
    ("pending", "pending", {}),
    (
        "request upload_issuing_ca for Fabrikam Mail CA",
        "request",
        {"action": "upload_issuing_ca", "subject": "fabrikam mail ca"},
    ),
]

DE = [
    ("ist mein Zertifikat veröffentlicht?", "self_check", {}),
    ("Ist mein Zertifikat veroeffentlicht", "self_check", {}),
    ("ist mein zertifkat veröffentlicht", "self_check", {}),
    ("sind meine zertifikate ok", "self_check", {}),
    ("ist mein Zertifikat im Adressbuch?", "self_check", {}),
    ("mein status", "self_check", {}),
    ("warum kann Alex mir nicht verschlüsselt schreiben?", "why_to_me", {"sender": "alex"}),
    (
        "Warum kann alex.wilber mir keine verschlüsselten Mails schicken",
        "why_to_me",
        {"sender": "alex.wilber"},
    ),
    ("warum kann bob mir nicht verschluesselt schreiben", "why_to_me", {"sender": "bob"}),
    ("wer kann mir verschlüsselt schreiben", "why_to_me", {"sender": None}),
    ("warum kann alex an bob nicht verschlüsselt schreiben", "why", {"sender": "alex", "recipient": "bob"}),
    (
        "warum kann Alex an Stella keine verschlüsselten Mails senden?",
        "why",
        {"sender": "alex", "recipient": "stella"},
    ),
    ("setze meine veröffentlichten Zertifikate zurück", "reset", {}),
    ("Setze meine Zertifikate zurück!", "reset", {}),
    ("Zertifikate zurücksetzen", "reset", {}),
    ("bitte setze meine veroeffentlichten zertifikate zurueck", "reset", {}),
    ("prüfe bob", "check", {"subject": "bob"}),
    ("pruefe den Benutzer stale.smime", "check", {"subject": "stale.smime"}),
    ("prüfe die Benutzerin alice@contoso.example", "check", {"subject": "alice@contoso.example"}),
    ("ist das Zertifikat von bob veröffentlicht?", "check", {"subject": "bob"}),
    ("prüfe alle", "audit", {}),
    ("erkläre publish.count_limit", "explain", {"check_id": "publish.count_limit"}),
    ("was bedeutet sync.mailnickname?", "explain", {"check_id": "sync.mailnickname"}),
    ("hilfe", "help", {}),
    ("was kannst du?", "help", {}),
    ("verlauf von alice", "history", {"subject": "alice"}),
    ("ablehnen R-xyz789", "deny", {"request_id": "R-xyz789"}),
    ("offene freigaben", "pending", {}),
]


@pytest.mark.parametrize(("text", "kind", "fields"), EN)
def test_english(text: str, kind: str, fields: dict[str, str | None]) -> None:
    intent = parse(text)
    assert intent.kind == kind, intent
    for name, value in fields.items():
        assert getattr(intent, name) == value
    assert intent.lang in ("en", None)


@pytest.mark.parametrize(("text", "kind", "fields"), DE)
def test_german(text: str, kind: str, fields: dict[str, str | None]) -> None:
    intent = parse(text)
    assert intent.kind == kind, intent
    for name, value in fields.items():
        assert getattr(intent, name) == value
    assert intent.lang in ("de", None)


@pytest.mark.parametrize(
    "text", ["blah blah", "the printer is broken", "zertifikat kaputt bitte hilfe", "", "???", "a" * 5000]
)
def test_anything_else_gets_help_with_close_commands(text: str) -> None:
    intent = parse(text)
    assert intent.kind in ("unknown", "help")
    if intent.kind == "unknown":
        assert len(intent.suggestions) == 3


def test_german_fallback_suggestions_are_german() -> None:
    intent = parse("zertifikat kaputt bitte hilfe")
    assert intent.lang == "de" and all(s[0].islower() or s.startswith("setze") for s in intent.suggestions)
