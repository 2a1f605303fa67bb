"""The short answer for a person asking about themself, as one model every renderer shows
(terminal, Slack, Teams): the verdict, why (the root cause), what to do from the chat, when it
will work, and how many details are left out. From the JSON report's `answer` and `causes`
(workers/causes.py) and the step sentences (workers/i18n/steps.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.i18n.steps import chat_step

ANSWER_STATUS = {"yes": "pass", "yes_but": "warn", "no": "fail"}
WORDS = {
    "en": {
        "why": "Why",
        "do": "What to do",
        "when": "When it works",
        "after": "after the fix, Exchange Online follows with the next directory sync (usually within 30 minutes): OWA, new Outlook and phones at once, cached-mode Outlook within about 48 hours.",
        "more": "{n} more details: ask 'check me in detail'.",
    },
    "de": {
        "why": "Warum",
        "do": "Was tun",
        "when": "Wann es geht",
        "after": "nach der Korrektur übernimmt Exchange Online sie mit der nächsten Verzeichnissynchronisierung (meist binnen 30 Minuten): OWA, neues Outlook und Handys sofort, Outlook im Cache-Modus binnen etwa 48 Stunden.",
        "more": "{n} weitere Details: fragen Sie „prüfe mich ausführlich“.",
    },
}


@dataclass(frozen=True)
class SelfSummary:
    status: str  # pass / warn / fail: the symbol and colour
    headline: str
    lines: tuple[tuple[str, str], ...]  # (label, text); label "" for a plain line
    more: str  # "" when nothing is left out


def self_summary(report: dict[str, Any], lang: str) -> SelfSummary:
    w = WORDS["de" if lang == "de" else "en"]
    status = ANSWER_STATUS.get(str(report.get("answer")), "warn")
    lines: list[tuple[str, str]] = []
    if report.get("verdict_headline"):
        lines.append(("", str(report["verdict_headline"])))
    causes = report.get("causes") or []
    if causes:
        cause = causes[0]
        lines.append((w["why"], str(cause.get("detail") or cause.get("title") or "")))
        step = chat_step(cause, lang)
        if step:
            lines.append((w["do"], step))
    timeline = next((f for f in report.get("findings") or [] if f.get("check") == "exo.propagation"), None)
    if timeline is not None and "exo_expected" in (timeline.get("evidence") or {}):  # on its way
        lines.append((w["when"], str(timeline.get("detail") or "")))
    elif causes and report.get("answer") != "yes":
        lines.append((w["when"], w["after"]))
    rest = (
        len(causes[0].get("follows") or []) + sum(1 + len(c.get("follows") or []) for c in causes[1:])
        if causes
        else 0
    )
    return SelfSummary(
        status, str(report.get("headline") or ""), tuple(lines), w["more"].format(n=rest) if rest else ""
    )
