"""The bot understands what people type: the team's labelled corpora, scored by the chat core.

corpus.jsonl (602 turns), holdout.jsonl (212) and second_writer.jsonl (332) were written the
way people type in Slack and Teams, independently of the recogniser, and the recogniser was
developed against them. unseen.jsonl (310 turns) was written last, by another writer, and is
never used to change the recogniser: the honest figure for messages nobody on the team has
seen (bench/understanding.py prints all of them).
"""

from __future__ import annotations

import pytest

from tests.support.understanding import Score, run

TARGET = 0.95
UNSEEN_FLOOR = 0.85  # a regression guard, not the target: see bench/understanding.py


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    return {
        name: run(name) for name in ("corpus.jsonl", "holdout.jsonl", "second_writer.jsonl", "unseen.jsonl")
    }


def _report(score: Score) -> str:
    return "\n".join(
        f"{t.line['session']} {t.line['as']}: {t.line['input']!r} expected {t.line} got {t.got}"
        for t in score.failures()[:15]
    )


@pytest.mark.parametrize("name", ["corpus.jsonl", "holdout.jsonl", "second_writer.jsonl"])
@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_labelled_corpora_are_understood(scores: dict[str, Score], name: str, lang: str) -> None:
    score = scores[name]
    assert score.accuracy(lang) >= TARGET, _report(score)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_messages_nobody_tuned_for_stay_understood(scores: dict[str, Score], lang: str) -> None:
    assert scores["unseen.jsonl"].accuracy(lang) >= UNSEEN_FLOOR, _report(scores["unseen.jsonl"])


def test_the_corpora_cover_every_intent_persona_and_both_languages(scores: dict[str, Score]) -> None:
    turns = [t.line for t in scores["corpus.jsonl"].turns]
    assert len(turns) >= 400
    assert abs(sum(t["lang"] == "de" for t in turns) - len(turns) / 2) < len(turns) * 0.05
    intents = {t["intent"] for t in turns}
    assert intents >= {
        "diagnose", "why_cant_encrypt", "reset", "request_action", "pending", "approve", "deny", "undo",
        "history", "audit", "explain", "help", "about", "clarify", "unknown",
    }  # fmt: skip
    assert {"adele.vance", "alex.wilber"} < {t["as"] for t in turns}
    sessions: dict[str, int] = {}
    for t in turns:
        sessions[t["session"]] = sessions.get(t["session"], 0) + 1
    assert sum(n > 1 for n in sessions.values()) >= 50
