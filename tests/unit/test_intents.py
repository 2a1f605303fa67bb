"""How people phrase their questions, in English and German, and what the bot understands."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.slack.text import MAX_MENTION_LOOKUPS, plain_text
from handlers import intents
from handlers.intents import MAX_MESSAGE_CHARS, parse

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
    "text",
    [
        "blah blah",
        "the printer is broken",
        "zertifikat kaputt bitte hilfe",
        "",
        "???",
        "a" * MAX_MESSAGE_CHARS,
    ],
)
def test_anything_else_gets_help_with_close_commands(text: str) -> None:
    intent = parse(text)
    assert intent.kind in ("unknown", "help")
    if intent.kind == "unknown":
        assert len(intent.suggestions) == 3


def test_german_fallback_suggestions_are_german() -> None:
    intent = parse("zertifikat kaputt bitte hilfe")
    assert intent.lang == "de" and all(s[0].islower() or s.startswith("setze") for s in intent.suggestions)


# -- bounds: a message costs time linear in its length, and a long one is not read at all ------


def test_a_message_over_the_limit_is_refused_without_being_parsed() -> None:
    assert parse("x" * (MAX_MESSAGE_CHARS + 1)).kind == "too_long"
    assert parse("check bob " + "x" * (MAX_MESSAGE_CHARS - 10)).kind == "check"  # the limit itself is fine
    assert parse("check bob" + " " * (MAX_MESSAGE_CHARS - 9)) == parse("check bob")


# Inputs that made the old patterns retry a name at every separator, or a regex retry at every
# character of a punctuation run: quadratic, 4-6 s of CPU at 40 KB.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "why … to … to …": lambda n: ("why " + "a to " * n)[:n] + "#",
    "why can't … encrypt to …": lambda n: ("why can't " + "x encrypt to " * n)[:n] + "#",
    "warum kann … an … an …": lambda n: ("warum kann " + "x an " * n)[:n] + "#",
    "is … cert published …": lambda n: ("is " + "a cert published " * n)[:n] + "#",
    "punctuation run": lambda n: "?" * n + "a",
    "unknown words": lambda n: ("hello there how are you " * n)[:n],
}


def _cpu(text: str, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        parse(text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("family", list(ADVERSARIAL))
def test_parse_time_grows_linearly(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No wall-clock threshold: ten times the text may cost about ten times the CPU (a generous
    30x allowed), where the old patterns cost ~100x. The size limit is lifted to measure."""
    monkeypatch.setattr(intents, "MAX_MESSAGE_CHARS", 10**6)
    make = ADVERSARIAL[family]
    parse(make(100))  # warm the regex cache
    small, large = _cpu(make(4_000)), _cpu(make(40_000))
    assert large < 30 * max(small, 1e-4), (family, small, large)


@pytest.mark.parametrize(
    ("text", "kind", "fields"),
    [
        # the rewritten patterns answer exactly as before on their edge cases
        ("why alex -> bob", "why", {"sender": "alex", "recipient": "bob"}),
        ("why alex → bob", "why", {"sender": "alex", "recipient": "bob"}),
        ("why a to b → c", "why", {"sender": "a to b", "recipient": "c"}),  # the arrow, past " to "
        ("why a to b to c", "why", {"sender": "a", "recipient": "b to c"}),  # the first " to "
        ("why can't a encrypt to b encrypt to c", "why", {"sender": "a", "recipient": "b encrypt to c"}),
        ("is bob's cert published", "check", {"subject": "bob"}),
        ("is bobs s/mime published", "check", {"subject": "bob"}),
        ("is bob cert published x s/mime published", "check", {"subject": "bob cert published x"}),
        (
            "warum kann a an b an c nicht verschlüsselt schreiben",
            "why",
            {"sender": "a", "recipient": "b an c"},
        ),
        ("why can't a encrypt to b #", "unknown", {}),
        ("check <mailto:bob@contoso.example|bob@contoso.example>", "unknown", {}),  # Slack's markup: below
    ],
)
def test_edge_cases_of_the_linear_patterns(text: str, kind: str, fields: dict[str, str]) -> None:
    intent = parse(text)
    assert intent.kind == kind, intent
    for name, value in fields.items():
        assert getattr(intent, name) == value


# -- Slack's markup, before the parser (bot/slack/text.py) -----------------------------------------

EMAILS = {"U0STALE": "stale.smime@contoso.example", "W0ALEX": "alex.wilber@contoso.example"}


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        (
            "check <mailto:stale.smime@contoso.example|stale.smime@contoso.example>",
            "check stale.smime@contoso.example",
        ),
        (
            "check <mailto:Stale.Smime@contoso.example?subject=x|Stale.Smime@contoso.example>",
            "check Stale.Smime@contoso.example",
        ),
        ("check <@U0STALE>", "check stale.smime@contoso.example"),
        (
            "why can't <@W0ALEX|alex> encrypt to <@U0STALE>?",
            "why can't alex.wilber@contoso.example encrypt to stale.smime@contoso.example?",
        ),
        ("check <@U0NOBODY|nobody>", "check nobody"),  # no e-mail: the name Slack showed
        ("check <@U0NOBODY>", "check U0NOBODY"),
        ("<!here> check bob <#C0GENERAL|general>", "check bob"),
        ("look up <https://contoso.example|contoso.example>", "look up contoso.example"),
        ("look up <https://contoso.example>", "look up https://contoso.example"),
        ("why alex -&gt; bob &amp; &lt;@U0STALE&gt;", "why alex -> bob & <@U0STALE>"),  # typed, not markup
        ("check\n  bob", "check bob"),
    ],
)
def test_slack_markup_becomes_what_was_typed(slack: str, plain: str) -> None:
    assert plain_text(slack, EMAILS.get) == plain


def test_slack_markup_becomes_intents() -> None:
    check = parse(
        plain_text("check <mailto:stale.smime@contoso.example|stale.smime@contoso.example>", EMAILS.get)
    )
    assert check.kind == "check" and check.subject == "stale.smime@contoso.example"
    mention = parse(plain_text("history of <@U0STALE>", EMAILS.get))
    assert mention.kind == "history" and mention.subject == "stale.smime@contoso.example"


def test_slack_mentions_are_looked_up_a_bounded_number_of_times() -> None:
    asked: list[str] = []

    def email_of(user_id: str) -> str:
        asked.append(user_id)
        return f"{user_id.lower()}@contoso.example"

    text = " ".join(f"<@U{i:04d}> <@U{i:04d}>" for i in range(50))
    out = plain_text(text, email_of)
    assert len(asked) == MAX_MENTION_LOOKUPS and len(set(asked)) == MAX_MENTION_LOOKUPS
    assert out.startswith("u0000@contoso.example u0000@contoso.example") and out.endswith("U0049 U0049")
