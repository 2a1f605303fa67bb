"""Directory and certificate text stays text on every surface: hostile display names,
certificate subjects, SAN values and request reasons go through the real renderers for
Teams (Adaptive Cards), Slack (Block Kit), the terminal (rich) and the HTML audit report,
and the checks look at what a reader would get — a link, bold text, a mention, a moved cursor."""

from __future__ import annotations

import html
import io
import re
from argparse import Namespace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from slack_sdk.models.blocks import Block

from bot.cli import _audit_html, _Summary
from bot.console import render_answer
from bot.render.blocks import render
from bot.render.cards import answer_card, answer_summary
from bot.render.escape import for_card_markdown, for_slack_mrkdwn, visible_controls
from bot.render.text import render_report
from tests.support.pki_factory import make_ca, make_leaf
from workers.answers import answer_from_json
from workers.certs.x509 import parse_certificate

EVIL_LINK = "[✅ Approve this request](https://evil.example)"
LEGIT = ["O'Brien & Söhne <Sales>", "Anna_Maria*", "Lee (IT) - #1 [EU]", "a_b@contoso.example"]
SLACK_EVIL = (
    "*boss* _now_ ~x~ `code` <!channel> <@U0BADBAD> <http://evil.example|click me> :white_check_mark:"
)
TERMINAL_EVIL = "[link=https://evil.example]Click[/link] [bold red]ALERT[/] \x1b[2J\x1b]8;;https://evil.example\x07x\r\x07\x9b31m \u202eabc :warning:"


# -- answers, built like the workers build them -----------------------------------------------


def finding(status: str, title: str, detail: str = "", remedy: str = "") -> dict[str, Any]:
    return {
        "check": "cert.expired",
        "status": status,
        "certificate": None,
        "title": title,
        "detail": detail,
        "remedy": remedy,
        "evidence": {},
    }


def report(
    name: str, *, email: str = "a@contoso.example", detail: str = "", headline: str = ""
) -> dict[str, Any]:
    return {
        "type": "report",
        "report": {
            "schema": 1,
            "kind": "diagnosis",
            "evaluated_at": "2026-11-20T06:00:00Z",
            "subject": {"query": "a", "primary_smtp": email, "display_name": name, "dn": f"CN={name},DC=x"},
            "sender": None,
            "verdict": "fail",
            "headline": headline or f"No — {name} cannot receive encrypted mail.",
            "findings": [
                finding("fail", f"Certificate of {name} expired", detail or f"'{name}' expired", "renew")
            ],
            "certificates": [
                {
                    "sha256": "ab" * 32,
                    "emails": [email],
                    "not_before": "2025-01-01T00:00:00Z",
                    "not_after": "2027-01-01T00:00:00Z",
                    "locations": ["ad.userCertificate"],
                }
            ],
            "outlook_choice": {"attribute": "ad.userCertificate", "certificate": "ab" * 32},
        },
    }


def hostile_certificate(common_name: str, email: str) -> Any:
    """A real self-published certificate with a hostile subject and SAN, as the bot parses it."""
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    ca = make_ca("Test CA", not_before=t0, not_after=t0 + timedelta(days=3650))
    leaf = make_leaf(
        ca, common_name, emails=[email], not_before=t0, not_after=t0 + timedelta(days=365), organization="x"
    )
    return parse_certificate(leaf.der)


def approval_request(subject: str, reason: str, requester: str = "ts.user") -> dict[str, Any]:
    return {
        "type": "approval_request",
        "request": {
            "id": "R-abc123",
            "action": "prune_certificates",
            "requester": requester,
            "target": requester,
            "plan": {
                "action": "prune_certificates",
                "changes": [
                    {
                        "attribute": "ad.userCertificate",
                        "sha256": "cd" * 32,
                        "subject": subject,
                        "not_after": "2026-01-01",
                        "reason": reason,
                    }
                ],
            },
            "expires": 1_900_000_000,
            "state": "pending",
            "decisions": [],
        },
    }


# -- what a reader gets ---------------------------------------------------------------------------

_MD = MarkdownIt("commonmark").enable("strikethrough")  # markdown-it, as Teams desktop/web use it


def card_texts(card: dict[str, Any]) -> list[str]:
    """Every markdown string of a card: TextBlock text, Fact titles and values."""
    out: list[str] = []
    for block in card["body"]:
        if block["type"] == "TextBlock":
            out.append(block["text"])
        elif block["type"] == "FactSet":
            out.extend(s for f in block["facts"] for s in (f["title"], f["value"]))
    return out


def card_shown(markdown: str) -> tuple[str, set[str]]:
    """(the text a CommonMark renderer shows, the HTML tags it makes)."""
    rendered = _MD.render(markdown)
    tags = set(re.findall(r"<([a-z0-9]+)", rendered))
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u2060", "").replace("\u00a0", " ")
    return " ".join(text.split()), tags


def assert_card_inert(markdown: str, allowed: frozenset[str] = frozenset({"p"})) -> str:
    shown, tags = card_shown(markdown)
    assert tags <= allowed, (markdown, tags)
    # The native renderer (Teams mobile) links `[..](..)` even after backslashes.
    assert "](" not in markdown and "{{" not in markdown, markdown
    return shown


_NEUTRAL = re.compile(r"<!date\^00000000\^\{_\}\|(.)>")


def slack_shown(mrkdwn: str) -> tuple[str, list[str]]:
    """(the text Slack shows, the formatting delimiters it would still act on). Every `<…>`
    must be a neutral date token or one of our real dates; `&…;` are decoded."""
    for token in re.findall(r"<[^>]*>", mrkdwn):
        assert _NEUTRAL.fullmatch(token) or re.fullmatch(
            r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*>", token
        ), token
    plain = _NEUTRAL.sub("\ue000", mrkdwn)  # a literal character: formats nothing
    active = [
        m.group()
        for m in re.finditer(r"[*_~`]", plain)
        if m.group() == "`"
        or not (
            0 < m.start() < len(plain) - 1 and plain[m.start() - 1].isalnum() and plain[m.end()].isalnum()
        )
    ]
    shown = html.unescape(_NEUTRAL.sub(lambda m: m.group(1), mrkdwn)).replace("\u00ad", "")
    return shown, active


def mrkdwn_objects(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for b in blocks:
        Block.parse(b)  # Slack's own models accept it
        if b["type"] == "section":
            out.append(b["text"])
        elif b["type"] == "context":
            out.extend(e for e in b["elements"] if e["type"] == "mrkdwn")
    return out


def terminal(render_fn: Any) -> tuple[str, str]:
    """(what the terminal receives, the recorded text) for a rich renderer."""
    raw = io.StringIO()
    console = Console(file=raw, width=80, record=True, color_system=None, force_terminal=False)
    render_fn(console)
    return raw.getvalue(), " ".join(console.export_text().split())


# -- Teams ----------------------------------------------------------------------------------------


def test_a_certificate_subject_is_no_link_in_the_approvers_card() -> None:
    cert = hostile_certificate(EVIL_LINK, "x@evil.example")
    answer = approval_request(
        cert.subject, "superseded by [this](https://evil.example/2)", requester=EVIL_LINK
    )
    card = answer_card(answer_from_json(answer), "en")
    assert card is not None
    facts = [f for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]]
    assert any(EVIL_LINK in card_shown(f["value"])[0] for f in facts)  # still reads as written
    for value in card_texts(card):
        assert_card_inert(value, frozenset({"p", "strong"}))
    assert "https://evil.example" not in str(card.get("actions"))


def test_a_display_name_is_no_link_and_no_formatting_in_a_report_card() -> None:
    name = EVIL_LINK + " **bold** _it_ ~~gone~~ `x` <https://evil.example> <at>Boss</at>"
    card = answer_card(answer_from_json(report(name, detail=f"- list item {name}\n\n1. {name}")), "en")
    assert card is not None
    shown = [assert_card_inert(t, frozenset({"p", "strong"})) for t in card_texts(card)]
    assert any(f"{name} (a@contoso.example)" == s for s in shown)


def test_legitimate_names_still_read_right_in_cards() -> None:
    for name in LEGIT:
        card = answer_card(answer_from_json(report(name, email="a_b@contoso.example")), "en")
        assert card is not None
        shown = [assert_card_inert(t, frozenset({"p", "strong"})) for t in card_texts(card)]
        assert f"{name} (a_b@contoso.example)" in shown


def test_card_date_functions_in_directory_text_are_not_evaluated() -> None:
    card = answer_card(answer_from_json(report("{{DATE(2017-02-14T06:00:00Z, SHORT)}}")), "en")
    assert card is not None and not any("{{" in t for t in card_texts(card))


def test_a_plain_text_answer_to_teams_is_escaped_markdown() -> None:
    summary = answer_summary(answer_from_json({"type": "text", "text": f"No user {EVIL_LINK} found."}), "en")
    shown, tags = card_shown(summary)
    assert tags == {"p"} and shown == f"No user {EVIL_LINK} found."


# -- Slack ----------------------------------------------------------------------------------------


def test_a_display_name_is_no_mention_link_or_formatting_in_slack() -> None:
    m = render(answer_from_json(report(SLACK_EVIL)), "en")
    objects = mrkdwn_objects(m.blocks)
    assert all(o.get("verbatim") is True for o in objects)  # no auto-linked URLs or #channels
    who = next(o["text"] for o in objects if "a@contoso.example" in o["text"] and "(" in o["text"])
    shown, active = slack_shown(who)
    assert shown == f"{SLACK_EVIL} (a@contoso.example)" and active == []
    for o in objects:
        slack_shown(o["text"])  # every <…> is inert
    head = slack_shown(m.blocks[0]["text"]["text"])
    assert head[1] == ["*", "*"]  # only our own bold around the headline


def test_the_fallback_text_is_escaped_too() -> None:
    m = render(answer_from_json(report(SLACK_EVIL)), "en")
    assert "<" not in m.text and ">" not in m.text
    assert SLACK_EVIL in html.unescape(m.text)
    approval = render(
        answer_from_json(approval_request("CN=x", "r", requester="<!channel> Anna_Maria*")), "en"
    )
    assert "<" not in approval.text and "<!channel> Anna_Maria*" in html.unescape(approval.text)


def test_a_certificate_subject_and_reason_are_inert_in_the_slack_approval() -> None:
    cert = hostile_certificate("<http://evil.example|✅ Approve> *now*", "x_y@evil.example")
    m = render(answer_from_json(approval_request(cert.subject, "_expired_ <!here>")), "en")
    change = next(o["text"] for o in mrkdwn_objects(m.blocks) if "ad.userCertificate" in o["text"])
    shown, active = slack_shown(change)
    assert cert.subject in shown and "_expired_ <!here>" in shown
    assert active.count("`") == 4 and set(active) <= {"*", "`"} and active.count("*") == 2  # ours only


def test_legitimate_names_still_read_right_in_slack() -> None:
    for name in LEGIT:
        m = render(answer_from_json(report(name, email="a_b@contoso.example")), "en")
        texts = [slack_shown(o["text"]) for o in mrkdwn_objects(m.blocks)]
        assert (f"{name} (a_b@contoso.example)", []) in texts
        assert name in html.unescape(m.text)


# -- terminal -------------------------------------------------------------------------------------


def test_a_display_name_is_no_markup_and_no_escape_sequence_in_the_terminal() -> None:
    raw, shown = terminal(lambda c: render_report(report(TERMINAL_EVIL)["report"], c, "en", verbose=True))
    for char in ("\x1b", "\x07", "\r", "\x9b", "\u202e"):
        assert char not in raw
    assert "[link=https://evil.example]Click[/link] [bold red]ALERT[/]" in shown
    assert "\\x1b[2J" in shown and "\\u202e" in shown and ":warning:" in shown and "⚠" not in shown


def test_the_chat_console_prints_requests_as_text() -> None:
    answer = approval_request(
        "CN=[bold]x[/bold]", "\x1b[2Jgone", requester="[link=https://evil.example]me[/link]"
    )
    out = render_answer(answer_from_json(answer), "en")
    assert "\x1b" not in out
    assert "[link=https://evil.example]me[/link]" in out and "[bold]x[/bold]" in out and "\\x1b[2Jgone" in out


def test_legitimate_names_still_read_right_in_the_terminal() -> None:
    for name in [*LEGIT, "Ops Team [emea]", "C:\\share\\"]:
        _, shown = terminal(lambda c, n=name: render_report(report(n)["report"], c, "en"))
        assert f"{name} <a@contoso.example> CN={name},DC=x" in shown, shown


# -- HTML audit report ----------------------------------------------------------------------------


def test_the_html_audit_report_escapes_every_field() -> None:
    hostile = "<script>alert(1)</script>\u202e\x1b[31m' onmouseover='x"
    r = report(hostile, email=f"{hostile}@contoso.example", headline=f"No — {hostile}")["report"]
    out = io.StringIO()
    tenant = [finding("warn", hostile, hostile, hostile)]
    _audit_html(out, iter([r]), tenant, _Summary(), datetime(2026, 1, 1, tzinfo=UTC), Namespace(lang="en"))
    page = out.getvalue()
    assert page.count("<script") == 1 and "<script>alert" not in page  # only the page's own script
    assert "\u202e" not in page and "\x1b" not in page
    assert "' onmouseover" not in page
    assert html.unescape(page).count(visible_controls(hostile)) >= 4


# -- properties -----------------------------------------------------------------------------------

_TEXT = st.lists(
    st.one_of(
        st.sampled_from(
            list("[]()*_~`<>!#-+.&;:|\\{} \n\t1aZ")
            + ["http://", "](", "<@U1>", "<!channel>", "&amp;", "    "]
        ),
        st.characters(),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_escaped_card_text_never_makes_a_link_or_formatting(value: str) -> None:
    escaped = for_card_markdown(value)
    shown = assert_card_inert(escaped)
    expected = visible_controls(value).replace("\u00a0", " ").replace("\u2060", "")
    assert shown == " ".join(expected.split())


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_escaped_mrkdwn_never_makes_a_mention_link_or_formatting(value: str) -> None:
    shown, active = slack_shown(for_slack_mrkdwn(value))
    assert active == [] and shown == visible_controls(value).replace("\u00ad", "")
