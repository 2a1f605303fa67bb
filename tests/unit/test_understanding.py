"""What the bot understands of what people type, in English and German — through the chat core
every transport uses (handlers/chat.py), over the demo tenant (adele.vance is helpdesk,
alex.wilber approves). The corpora in tests/understanding measure it at scale; these tests pin
the messages the product was measured on, the conversation rules and the bounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.text import MAX_MENTION_LOOKUPS, plain_text
from handlers.chat import MAX_MESSAGE_CHARS, Dispatcher
from handlers.conversation import State
from handlers.types import ChatRequest, Reply
from handlers.understanding.recognise import INTENTS, Intent, read
from tests.support.understanding import chat_core

STELLA, ALEX, ADELE, TOM = (
    f"{u}@contoso.example" for u in ("stale.smime", "alex.wilber", "adele.vance", "ts.user")
)
DIEGO, CARL, CARLA = (
    "diego.siciliani@contoso.example",
    "eku.clientauth@contoso.example",
    "ca.true@contoso.example",
)


@pytest.fixture
def core() -> Dispatcher:
    return chat_core()


def ask(core: Dispatcher, who: str, text: str, session: str = "s", locale: str | None = None) -> Reply:
    return core.handle(ChatRequest("console", who, text, {"session": f"{who}:{session}"}, locale, "r"))


def say(core: Dispatcher, who: str, text: str, session: str = "s") -> Intent:
    reply = ask(core, who, text, session)
    assert reply.intent is not None
    return replace_lang(reply.intent, reply.lang)


def replace_lang(intent: Intent, lang: str) -> Intent:
    from dataclasses import replace

    return replace(intent, lang=lang)


# -- the messages the product was measured on (32% understood before the chat core) -----------------
MEASURED = [
    # (who, message, intent, subject, sender, focus, lang)
    ("stale.smime", "hey bot, is my certificate published?", "diagnose", STELLA, None, None, "en"),
    ("stale.smime", "can people send me encrypted emails?", "diagnose", STELLA, None, None, "en"),
    ("stale.smime", "pls remove my expired certs", "reset", STELLA, None, None, "en"),
    ("stale.smime", "could you clean up my old certificates?", "reset", STELLA, None, None, "en"),
    ("stale.smime", "kannst du meine zertifikate zurücksetzen?", "reset", STELLA, None, None, "de"),
    ("stale.smime", "bitte meine alten Zertifikate aufräumen", "reset", STELLA, None, None, "de"),
    ("stale.smime", "lösch bitte meine abgelaufenen certs", "reset", STELLA, None, None, "de"),
    ("stale.smime", "my smime cert isnt showing up in the address book", "diagnose", STELLA, None, None, "en"),
    ("stale.smime", "diego gets 'no certificate found' when he tries to encrypt to me", "why_cant_encrypt", STELLA, DIEGO, None, "en"),
    ("stale.smime", "Verschlüsselung geht nicht, kannst du mal schauen", "diagnose", STELLA, None, None, "de"),
    ("stale.smime", "mein cert kommt nicht im adressbuch an", "diagnose", STELLA, None, None, "de"),
    ("stale.smime", "why cant alex send me encrypted mail", "why_cant_encrypt", STELLA, ALEX, None, "en"),
    ("adele.vance", "check mal tom", "diagnose", TOM, None, None, "de"),
    ("adele.vance", "prüfe bitte stale.smime", "diagnose", STELLA, None, None, "de"),
    ("adele.vance", "check bob's cert", "diagnose", None, None, None, "en"),  # nobody is called bob
    ("stale.smime", "what is s/mime?", "about", None, None, None, "en"),
    ("stale.smime", "is my certficate about to expire?", "diagnose", STELLA, None, "expiry", "en"),
    ("stale.smime", "when will my new cert work?", "diagnose", STELLA, None, "propagation", "en"),
    ("stale.smime", "wann funktioniert mein neues Zertifikat?", "diagnose", STELLA, None, "propagation", "de"),
    ("adele.vance", "which users have broken certificates?", "audit", None, None, None, "en"),
    ("adele.vance", "zeig mir alle benutzer mit problemen", "audit", None, None, None, "de"),
    ("stale.smime", "history of me", "history", STELLA, None, None, "en"),
    ("alex.wilber", "anything waiting for my approval?", "pending", None, None, None, "en"),
    ("alex.wilber", "gibt es offene Anträge?", "pending", None, None, None, "de"),
    ("alex.wilber", "was wartet auf meine freigabe", "pending", None, None, None, "de"),
    ("alex.wilber", "approve the request from stella", "approve", STELLA, None, None, "en"),
]  # fmt: skip


MEGAN = "megan.bowen@contoso.example"
PHRASINGS = [
    # German compounds, formal German with an honorific, dialect, pasted Outlook errors, past tense
    ("ts.user", "ist mein Verschlüsselungszertifikat noch gültig?", "diagnose", TOM, None, "expiry", "de"),
    ("adele.vance", "Könnten Sie bitte prüfen, ob das Zertifikat von Frau Stale veröffentlicht ist?", "diagnose", STELLA, None, None, "de"),
    ("ts.user", "Servus, passt mei Zertifikat?", "diagnose", TOM, None, None, "de"),
    ("ts.user", "Microsoft Outlook had problems encrypting this message because the following recipients had missing or invalid certificates: Megan Bowen", "why_cant_encrypt", MEGAN, TOM, None, "en"),
    ("ts.user", "Probleme beim Verschlüsseln dieser Nachricht, weil die folgenden Empfänger fehlende oder ungültige Zertifikate haben: Megan Bowen", "why_cant_encrypt", MEGAN, TOM, None, "de"),
    ("ts.user", "who approved my request?", "history", TOM, None, None, "en"),
    ("ts.user", "Druckerproblem im 2. Stock", "unknown", None, None, None, "de"),
    ("ts.user", "people keep getting an error when they try to write to me encrypted", "diagnose", TOM, None, None, "en"),
]  # fmt: skip


@pytest.mark.parametrize(("who", "text", "kind", "subject", "sender", "focus", "lang"), MEASURED + PHRASINGS)
def test_the_measured_messages_are_understood(
    core: Dispatcher,
    who: str,
    text: str,
    kind: str,
    subject: str | None,
    sender: str | None,
    focus: str | None,
    lang: str,
) -> None:
    intent = say(core, who, text)
    assert (intent.kind, intent.subject, intent.sender, intent.focus, intent.lang) == (
        kind,
        subject,
        sender,
        focus,
        lang,
    )


@pytest.mark.parametrize(
    "text",
    [
        "genehmige R-0123456789abcdef01234567",
        "R-0123456789abcdef01234567 genehmigen",
        "approve R-0123456789abcdef01234567",
    ],
)
def test_approvals_by_request_id(core: Dispatcher, text: str) -> None:
    intent = say(core, "alex.wilber", text)
    assert (intent.kind, intent.request_id) == ("approve", "R-0123456789abcdef01234567")


def test_a_denial_keeps_its_reason(core: Dispatcher) -> None:
    intent = say(core, "alex.wilber", "deny R-0123456789abcdef01234567 not needed")
    assert (intent.kind, intent.request_id, intent.reason) == (
        "deny",
        "R-0123456789abcdef01234567",
        "not needed",
    )
    german = say(
        core, "alex.wilber", "lehne R-0123456789abcdef01234567 ab, weil das Zertifikat noch gebraucht wird"
    )
    assert (german.kind, german.reason) == ("deny", "das Zertifikat noch gebraucht wird")


def test_someone_nobody_is_called_is_said_so(core: Dispatcher) -> None:
    reply = ask(core, "adele.vance", "check bob's cert")
    assert reply.kind == "error" and "nobody called 'bob'" in reply.text


# -- conversations: follow-ups and answers to the bot's own questions ----------------------------------
def test_which_carl_is_answered_by_number_ordinal_or_name(core: Dispatcher) -> None:
    question = ask(core, "adele.vance", "check carl", "a")
    assert question.kind == "question" and question.intent is not None and question.intent.kind == "clarify"
    assert "1. Carl Clientauth" in question.text and "2. Carla Catrue" in question.text
    assert say(core, "adele.vance", "1", "a").subject == CARL
    ask(core, "adele.vance", "check carl", "b")
    assert say(core, "adele.vance", "the first one", "b").subject == CARL
    ask(core, "adele.vance", "prüfe carl", "c")
    assert say(core, "adele.vance", "die zweite", "c").subject == CARLA
    ask(core, "adele.vance", "check carl", "d")
    assert say(core, "adele.vance", "Carla Catrue", "d").subject == CARLA


def test_a_near_miss_asks_did_you_mean_and_yes_goes_on(core: Dispatcher) -> None:
    question = ask(core, "adele.vance", "check stela", "n")
    assert question.kind == "question" and "Did you mean Stella Stale" in question.text
    assert (say(core, "adele.vance", "yes", "n").kind, say(core, "adele.vance", "check stela", "m").kind) == (
        "diagnose",
        "clarify",
    )
    assert say(core, "adele.vance", "nein", "m").kind == "unknown"


def test_follow_ups_take_the_last_question_with_another_person(core: Dispatcher) -> None:
    assert say(core, "adele.vance", "check tom", "f").subject == TOM
    assert say(core, "adele.vance", "what about carla?", "f").subject == CARLA
    follow = say(core, "adele.vance", "und was ist mit stella?", "f")
    assert (follow.kind, follow.subject, follow.lang) == ("diagnose", STELLA, "de")
    assert say(core, "stale.smime", "why can't alex encrypt to me?", "g").sender == ALEX
    then = say(core, "stale.smime", "and diego?", "g")
    assert (then.kind, then.sender, then.subject) == ("why_cant_encrypt", DIEGO, STELLA)
    assert say(core, "adele.vance", "when does tom's cert expire?", "h").focus == "expiry"
    assert (say(core, "adele.vance", "and his colleague carla's?", "h").focus) == "expiry"


def test_conversations_are_per_person_and_thread(core: Dispatcher) -> None:
    say(core, "adele.vance", "check tom", "one")
    assert (
        say(core, "adele.vance", "what about carla?", "two").kind == "diagnose"
    )  # a new thread: plain diagnosis
    ask(core, "adele.vance", "check carl", "three")
    assert say(core, "adele.vance", "1", "four").kind == "unknown"  # another thread did not ask


def test_the_conversation_is_forgotten_after_its_ttl(
    core: Dispatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask(core, "adele.vance", "check carl", "t")
    clock = time.monotonic() + core.settings.conversation_ttl_s + 1
    monkeypatch.setattr("handlers.conversation.time.monotonic", lambda: clock)
    assert say(core, "adele.vance", "1", "t").kind == "unknown"


def test_state_survives_its_json_form() -> None:
    from handlers.conversation import State as S
    from handlers.understanding.recognise import Choice

    question = Intent(
        "clarify",
        "de",
        choices=(Choice(CARL, "Carl"),),
        question="person",
        resume=Intent("diagnose", "de"),
        slot="subject",
    )
    state = S("de", Intent("diagnose", "de", subject=TOM), question)
    assert S.from_json(state.to_json()) == state
    assert S.from_json({"last": {"no": "kind"}, "question": 3}) == S()


# -- language ------------------------------------------------------------------------------------------
def test_german_gets_german_without_a_locale(core: Dispatcher) -> None:
    reply = ask(core, "stale.smime", "ist mein zertifikat veröffentlicht?")
    assert reply.lang == "de" and "Ich prüfe" in reply.text


def test_words_that_do_not_tell_keep_the_conversations_language(core: Dispatcher) -> None:
    ask(core, "adele.vance", "prüfe bitte tom", "l")
    assert ask(core, "adele.vance", "status", "l").lang == "de"
    assert ask(core, "adele.vance", "check hannah", "l").lang == "de"
    assert ask(core, "adele.vance", "check hannah", "other", locale="en-US").lang == "en"


# -- permissions come from the intent table -----------------------------------------------------------
def test_help_shows_what_the_asker_may_do(core: Dispatcher) -> None:
    user, helpdesk, approver = (ask(core, w, "help").text for w in ("ts.user", "adele.vance", "alex.wilber"))
    assert "check <user>" not in user and "audit" not in user.lower().split("which users")[0]
    assert "check <user>" in helpdesk and "which users have certificate problems?" in helpdesk
    assert "anything waiting for my approval?" in approver and "deny <request id>" in approver
    assert "anything waiting" not in user and "anything waiting" not in helpdesk


def test_closest_commands_never_offer_what_the_asker_may_not_do(core: Dispatcher) -> None:
    reply = ask(core, "ts.user", "pending approvals audit check everyone")
    assert "waiting for my approval" not in reply.text and "which users" not in reply.text


def test_an_intent_needing_a_role_is_refused_with_a_sentence(core: Dispatcher) -> None:
    assert ask(core, "ts.user", "approve R-0123456789abcdef01234567").kind == "refusal"
    assert ask(core, "ts.user", "which users have broken certificates?").kind == "refusal"
    assert ask(core, "ts.user", "check megan").kind == "refusal"
    assert ask(core, "ts.user", "why can't I encrypt to megan?").kind == "ack"  # the asker is the sender


# -- bounds: a message costs time linear in its length, and a long one is not read at all ------
def test_a_message_over_the_limit_is_refused_without_being_parsed(core: Dispatcher) -> None:
    reply = ask(core, "ts.user", "x" * (MAX_MESSAGE_CHARS + 1))
    assert reply.kind == "refusal" and "too long" in reply.text
    assert say(core, "ts.user", "is my cert ok " + "x" * (MAX_MESSAGE_CHARS - 20)).kind in (
        "diagnose",
        "unknown",
    )


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "why … to … to …": lambda n: ("why " + "a to " * n)[:n] + "#",
    "why can't … encrypt to …": lambda n: ("why can't " + "x encrypt to " * n)[:n] + "#",
    "warum kann … an … an …": lambda n: ("warum kann " + "x an " * n)[:n] + "#",
    "is … cert published …": lambda n: ("is " + "a cert published " * n)[:n] + "#",
    "punctuation run": lambda n: "?" * n + "a",
    "unknown words": lambda n: ("hello there how are you " * n)[:n],
    "names": lambda n: ("stella carl tom " * n)[:n],
}


def _cpu(core: Dispatcher, text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        core.understander.understand(text, State().view(TOM))
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("family", list(ADVERSARIAL))
def test_understanding_time_grows_linearly(core: Dispatcher, family: str) -> None:
    """No wall-clock threshold: ten times the text may cost about ten times the CPU (a generous 30x)."""
    make = ADVERSARIAL[family]
    _cpu(core, make(100))  # warm caches
    small, large = _cpu(core, make(400)), _cpu(core, make(4_000))
    assert large < 30 * max(small, 1e-4), (family, small, large)


def test_reading_never_raises_on_odd_text() -> None:
    for text in [
        "",
        "???",
        "\x00\x01",
        "R-",
        "<@>",
        "<mailto:|>",
        "ä" * 50,
        "check " + "'" * 30,
        "1" * 40,
        "cert.validity.x.y",
    ]:
        read(text)


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


def test_slack_markup_becomes_intents(core: Dispatcher) -> None:
    check = say(
        core,
        "adele.vance",
        plain_text("check <mailto:stale.smime@contoso.example|stale.smime@contoso.example>", EMAILS.get),
    )
    assert (check.kind, check.subject) == ("diagnose", "stale.smime@contoso.example")
    mention = say(core, "adele.vance", plain_text("history of <@U0STALE>", EMAILS.get))
    assert (mention.kind, mention.subject) == ("history", "stale.smime@contoso.example")


def test_markup_left_in_a_message_is_read_as_what_it_means(core: Dispatcher) -> None:
    """A console or a transport that did not resolve Slack markup: the address counts, a mention not."""
    mailto = say(
        core, "adele.vance", "check <mailto:stale.smime@contoso.example|stale.smime@contoso.example>"
    )
    assert (mailto.kind, mailto.subject) == ("diagnose", "stale.smime@contoso.example")
    mention = say(core, "stale.smime", "<@U0123ABCD> is my cert ok?")
    assert (mention.kind, mention.subject) == ("diagnose", "stale.smime@contoso.example")


def test_slack_mentions_are_looked_up_a_bounded_number_of_times() -> None:
    asked: list[str] = []

    def email_of(user_id: str) -> str:
        asked.append(user_id)
        return f"{user_id.lower()}@contoso.example"

    text = " ".join(f"<@U{i:04d}> <@U{i:04d}>" for i in range(50))
    out = plain_text(text, email_of)
    assert len(asked) == MAX_MENTION_LOOKUPS and len(set(asked)) == MAX_MENTION_LOOKUPS
    assert out.startswith("u0000@contoso.example u0000@contoso.example") and out.endswith("U0049 U0049")


# -- fuzzing: no message makes the chat core raise ---------------------------------------------------
WORDS = st.sampled_from(
    [
        "check",
        "carl",
        "stella",
        "is",
        "my",
        "cert",
        "ok",
        "why",
        "can't",
        "encrypt",
        "to",
        "me",
        "R-0123456789abcdef01234567",
        "warum",
        "kann",
        "mir",
        "nicht",
        "verschlüsselt",
        "1",
        "2",
        "yes",
        "nein",
        "approve",
        "deny",
        "the",
        "request",
        "from",
        "undo",
        "history",
        "of",
        "audit",
        "all",
        "users",
        "and",
        "what",
        "about",
        "<@U1>",
        "<mailto:a@b|a@b>",
        "stale.smime",
        "cert.validity",
        "'",
        '"',
        "?",
        "!",
        ".",
        ",",
        "s/mime-zertifikate",
        "ääää",
        "ß",
    ]
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=30),
    st.sampled_from(["adele.vance", "alex.wilber", "ts.user"]),
)
def test_any_message_gets_a_reply_and_never_an_exception(
    core: Dispatcher, words: list[str], who: str
) -> None:
    for text in (" ".join(words), "".join(words)):
        reply = ask(core, who, text, "fuzz")
        assert reply.text and reply.intent is not None and reply.intent.kind in INTENTS
