"""Causes, not checks (workers/causes.py), and answers for the person who asks (issue: answers
people can act on): on the demo tenant, whose cases are known."""

from __future__ import annotations

from typing import Any

import pytest

from bot.console import render_answer
from workers.answers import ReportAnswer
from workers.checks import REGISTRY
from workers.jobs import compute_answer
from workers.sources.directory import open_directory


@pytest.fixture(scope="module")
def directory() -> Any:
    return open_directory(demo=True)


def report_of(directory: Any, user: str, asker: str = "adele.vance", **spec: Any) -> dict[str, Any]:
    answer = compute_answer(
        {"kind": "diagnose", "subject": user, "asker": asker, "lang": "en", **spec}, directory
    )
    assert isinstance(answer, ReportAnswer)
    return dict(answer.report)


def test_one_stale_outlook_publication_is_the_cause_of_stellas_five_failures(directory: Any) -> None:
    r = report_of(directory, "stale.smime")
    first = r["causes"][0]
    assert first["check"] == "publish.smime_precedence" and r["answer"] == "no"
    assert {f["check"] for f in first["follows"]} >= {
        "publish.ad_present", "publish.smime_default_cert", "cert.validity", "trust.chain",
    }  # fmt: skip
    assert (
        r["headline"]
        == "No — stale.smime@contoso.example: A stale Outlook publication hides your current certificate."
    )


@pytest.mark.parametrize(
    ("user", "cause"),
    [("many.values", "publish.clutter"), ("junk.value", "cert.parse"), ("exp.soon", "cert.validity")],
)
def test_a_valid_outlook_pick_is_yes_with_the_problem_beside_it(
    directory: Any, user: str, cause: str
) -> None:
    r = report_of(directory, user)
    assert r["answer"] == "yes_but" and r["headline"].startswith("Yes — ")
    assert r["causes"][0]["check"] == cause


def test_many_values_expired_certificates_follow_from_the_clutter(directory: Any) -> None:
    clutter = report_of(directory, "many.values")["causes"][0]
    follows = [f["check"] for f in clutter["follows"]]
    assert follows.count("cert.validity") == 11 and follows.count("trust.chain") == 11


@pytest.mark.parametrize(
    ("user", "root", "follower"),
    [
        ("eku.clientauth", "publish.ad_present", "cert.eku_email"),
        ("no.nickname", "sync.mailnickname", "exo.cert_matches_ad"),
    ],
)
def test_symptoms_follow_their_root(directory: Any, user: str, root: str, follower: str) -> None:
    causes = report_of(directory, user)["causes"]
    assert causes[0]["check"] == root and follower in [f["check"] for f in causes[0]["follows"]]
    assert follower not in [c["check"] for c in causes]


def test_tenant_wide_findings_are_never_a_users_cause(directory: Any) -> None:
    for user in directory.iter_users():
        for cause in report_of(directory, user.key)["causes"]:
            assert REGISTRY[cause["check"]].scope != "tenant", (user.key, cause["check"])


def test_the_person_asking_about_themself_gets_cause_step_and_timeline_in_a_few_lines(directory: Any) -> None:
    mine = report_of(directory, "stale.smime", asker="stale.smime")
    assert mine["audience"] == "self"
    text = render_answer(ReportAnswer(mine), "en", width=80)
    lines = text.splitlines()
    assert len(lines) <= 12, text
    assert (
        "Why:" in text and "What to do: Say 'reset my published certs'" in text and "When it works:" in text
    )
    assert "pki.template" not in text and "prune_certificates" not in text  # no admin noise
    helpdesk = render_answer(ReportAnswer(report_of(directory, "stale.smime")), "en", width=80)
    assert len(helpdesk.splitlines()) > 30 and "publish.smime_precedence" in helpdesk  # the full report
    detail = report_of(directory, "stale.smime", asker="stale.smime", focus="detail")
    assert "audience" not in detail  # "check me in detail": the full report about oneself


def test_the_step_speaks_german(directory: Any) -> None:
    answer = compute_answer(
        {"kind": "diagnose", "subject": "no.nickname", "asker": "no.nickname", "lang": "de"}, directory
    )
    text = render_answer(answer, "de", width=80)
    assert "Was tun: Das muss das Helpdesk beheben" in text and "Warum:" in text


def test_every_step_has_both_languages_with_the_same_placeholders() -> None:
    import string

    from workers.i18n.steps import STEPS

    for check, (en, de) in STEPS.items():
        fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (en, de)]
        assert en and de and fields[0] == fields[1], check
        assert check in REGISTRY, check


def test_slack_and_teams_give_the_same_short_answer_about_oneself(directory: Any) -> None:
    from bot.render.blocks import render
    from bot.render.cards import answer_card

    mine = ReportAnswer(report_of(directory, "stale.smime", asker="stale.smime"))
    slack = render(mine, "en")
    texts = " ".join(b.get("text", {}).get("text", "") for b in slack.blocks if b["type"] == "section")
    assert "*Why:*" in texts and "reset my published certs" in texts and "pki.template" not in texts
    assert len(slack.blocks) <= 8
    card = answer_card(mine, "en")
    assert card is not None
    shown = " ".join(b.get("text", "") for b in card["body"])
    assert "**Why:**" in shown and "reset my published certs" in shown and "pki.template" not in shown


def test_every_button_label_fits_a_phone(directory: Any) -> None:
    """Labels over 20 characters are cut at phone width ("Explain p…")."""
    from bot.render.blocks import render
    from bot.render.cards import answer_card

    for user in ("stale.smime", "many.values", "no.nickname"):
        for asker in (user, "adele.vance"):
            answer = ReportAnswer(report_of(directory, user, asker=asker))
            for lang in ("en", "de"):
                slack = [
                    e["text"]["text"]
                    for b in render(answer, lang, viewer=None).blocks
                    if b["type"] == "actions"
                    for e in b["elements"]
                ]
                card = answer_card(answer, lang)
                assert card is not None
                teams = [a["title"] for a in card["actions"]]
                assert slack and teams and all(len(label) <= 20 for label in slack + teams), slack + teams
