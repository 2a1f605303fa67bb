"""Answers as Adaptive Cards (schema 1.5) for Teams: the same headline-first report as the
text and Slack renderers, with buttons for the next step.

Pure functions over the typed answers (workers/answers.py; the transport reads them from the
outbox JSON) and the approval request JSON (handlers/approvals.py), so they are tested without Teams. Teams refuses
messages over ~28 KB, so a long report is folded — fewer items, then no details — until the
card fits `MAX_CARD_BYTES`, and the card says what was left out and where to see it all.

TextBlock text and Fact titles/values are markdown in Teams: every value from the directory,
a certificate or a request goes through `md` (bot/render/escape.py) — a certificate subject
must never become a link in the approvers' card.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.render.escape import for_card_markdown as md
from bot.render.summary import self_summary
from bot.render.text import LABELS, ORDER, _dedupe, is_tenant_wide, priority, verdict_of_dicts
from workers.answers import (
    Answer,
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
    AuditAnswer,
    PlanAnswer,
    ReportAnswer,
    TextAnswer,
)
from workers.i18n.actions import action_name, target_of
from workers.i18n.states import STATE_WORDS
from workers.plan_types import Change, Plan, changes_of

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_CARD_BYTES = 24_000  # Teams' limit is ~28 KB for the whole activity; leave room for the envelope
MAX_TEXT = 1_200  # one finding's detail or remedy

# Text colours readable on Teams' light and dark host configs (contrast >= 4.5:1 on both):
# `warning` (#f8d22a, 1.47:1 on white) and `good` (2.07:1) are never used for text; the
# symbol (✗ ⚠ ℹ ✓) carries the status, colour only adds to it for failures and notes.
COLOR = {"fail": "attention", "error": "attention", "warn": "default", "info": "accent", "pass": "default"}
SYMBOL = {"fail": "✗", "warn": "⚠", "info": "ℹ", "pass": "✓", "skip": "–", "error": "?"}

WORDS = {
    "en": {
        "again": "Check again",
        "explain": "Explain problem {n}",
        "help": "Help",
        "more": "… {n} more not shown — the full report: smime-doctor diagnose {who}",
        "audit": "Audit: {users} users",
        "common": "Most common problems",
        "worst": "Users with failures",
        "approve": "Approve",
        "deny": "Deny",
        "request": "Approval request {id}",
        "requester": "Requested by",
        "target": "Changes for",
        "action": "Action",
        "expires": "Expires",
        "changes": "What will change",
        "state": "State",
        "decided": "{verb} by {who}",
        "approved": "Approved",
        "denied": "Denied",
        "plan": "Your request {id} — what will change",
        "plan_tail": "An approver sees this plan before anything changes; you will be told of every step.",
        "nochange": "Nothing would change.",
    },
    "de": {
        "again": "Erneut prüfen",
        "explain": "Problem {n} erklären",
        "help": "Hilfe",
        "more": "… {n} weitere nicht gezeigt — der ganze Bericht: smime-doctor diagnose {who}",
        "audit": "Prüfung: {users} Benutzer",
        "common": "Häufigste Probleme",
        "worst": "Benutzer mit Fehlern",
        "approve": "Freigeben",
        "deny": "Ablehnen",
        "request": "Freigabeantrag {id}",
        "requester": "Beantragt von",
        "target": "Änderungen für",
        "action": "Aktion",
        "expires": "Läuft ab",
        "changes": "Was sich ändert",
        "state": "Status",
        "decided": "{verb} von {who}",
        "approved": "Freigegeben",
        "denied": "Abgelehnt",
        "plan": "Ihr Antrag {id} — was sich ändert",
        "plan_tail": "Eine freigebende Person sieht diesen Plan, bevor etwas geändert wird; Sie erfahren jeden Schritt.",
        "nochange": "Es würde sich nichts ändern.",
    },
}
# The verbs on approval buttons; the data carries only the request id besides.
APPROVE_VERB, DENY_VERB = "smime.approve", "smime.deny"


def _w(lang: str) -> dict[str, str]:
    return WORDS["de" if lang == "de" else "en"]


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        out["actions"] = actions
    out["msteams"] = {"width": "Full"}
    return out


def text(value: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": _clip(value), "wrap": True, **style}


def _clip(value: str, limit: int = MAX_TEXT) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def say(title: str, text_to_send: str) -> dict[str, Any]:
    """A button that sends `text_to_send` as if the person typed it (Teams messageBack)."""
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {"msteams": {"type": "messageBack", "text": text_to_send, "displayText": text_to_send}},
    }


def size_of(value: dict[str, Any]) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


# -- reports ----------------------------------------------------------------------------------

# Progressively tighter limits: (problems, notes, certificates, with details).
_FOLDS = ((50, 20, 12, True), (20, 8, 6, True), (10, 4, 3, True), (10, 0, 0, False), (5, 0, 0, False))


def report_card(report: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """One report, headline first; folded until it fits a Teams message. A report about the
    reader themself (audience "self"): the short answer (bot/render/summary.py)."""
    if report.get("audience") == "self":
        return self_card(report, lang)
    built: dict[str, Any] = {}
    for fold in _FOLDS:
        built = _report_card(report, lang, *fold)
        if size_of(built) <= MAX_CARD_BYTES:
            return built
    return built


def self_card(report: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """Verdict, why, what to do, when it works; the next-step buttons of any report."""
    v = self_summary(report, lang)
    body: list[dict[str, Any]] = [
        text(f"{SYMBOL[v.status]} {md(v.headline)}", size="Medium", weight="Bolder", color=COLOR[v.status])
    ]
    for label, line in v.lines:
        body.append(text(f"**{md(label)}:** {md(line)}" if label else md(line), spacing="Small"))
    if v.more:
        body.append(text(md(v.more), isSubtle=True, spacing="Medium"))
    return card(body, report_actions(report, [], lang))


def _report_card(
    report: dict[str, Any], lang: str, max_problems: int, max_notes: int, max_certs: int, details: bool
) -> dict[str, Any]:
    labels = LABELS["de" if lang == "de" else "en"]
    w = _w(lang)
    own = [f for f in report["findings"] if not is_tenant_wide(f["check"])]
    verdict = verdict_of_dicts(own)
    shown = "pass" if verdict == "info" else verdict
    subject = report["subject"]
    who = str(subject.get("primary_smtp") or subject.get("query") or "")
    body: list[dict[str, Any]] = [
        text(
            f"{SYMBOL[shown]} {md(report.get('headline') or '')}",
            size="Medium",
            weight="Bolder",
            color=COLOR[shown],
        )
    ]
    if report.get("sender"):
        s = report["sender"]
        sender = str(s.get("primary_smtp") or s.get("query"))
        body.append(
            text(f"{labels['sender']}: {md(sender)} · {labels['recipient']}: {md(who)}", isSubtle=True)
        )
    else:
        name = subject.get("display_name") or ""
        body.append(text(f"{md(name)} ({md(who)})" if name else md(who), isSubtle=True, spacing="None"))
    findings = sorted(own, key=lambda f: (ORDER.get(f["status"], 9), priority(f["check"])))
    problems = _dedupe([f for f in findings if f["status"] in ("fail", "error", "warn")])
    notes = _dedupe([f for f in findings if f["status"] == "info"])
    left_out = 0
    if problems:
        body.append(text(labels["todo"], weight="Bolder", spacing="Medium"))
        for f in problems[:max_problems]:
            body.extend(_finding(f, labels, details))
        left_out += max(len(problems) - max_problems, 0)
    if notes and max_notes:
        body.append(text(labels["notes"], weight="Bolder", spacing="Medium"))
        for f in notes[:max_notes]:
            body.extend(_finding(f, labels, details=False))
    left_out += max(len(notes) - max_notes, 0)
    certs = report.get("certificates") or []
    if certs and max_certs:
        choice = report.get("outlook_choice") or {}
        picked = md(choice.get("attribute") or labels["nothing"])
        body.append(
            text(f"{labels['certs']} · {labels['outlook']}: {picked}", weight="Bolder", spacing="Medium")
        )
        facts = []
        for c in certs[:max_certs]:
            mark = "→ " if c["sha256"] == choice.get("certificate") else ""
            facts.append(
                {
                    "title": f"{mark}{md(c['sha256'][:12])}",
                    "value": md(
                        f"{', '.join(c['emails']) or '-'} · {c['not_before'][:10]} … {c['not_after'][:10]}"
                        f" · {', '.join(c['locations'])}"
                    ),
                }
            )
        body.append({"type": "FactSet", "facts": facts})
    left_out += max(len(certs) - max_certs, 0)
    tenant = [
        f
        for f in report["findings"]
        if is_tenant_wide(f["check"]) and f["status"] in ("fail", "warn", "error")
    ]
    if tenant:
        body.append(text(labels["tenant"], weight="Bolder", spacing="Medium"))
        for f in tenant[:max_problems]:
            body.append(
                text(f"{SYMBOL[f['status']]} {md(f['title'])} ({md(f['check'])})", color=COLOR[f["status"]])
            )
        left_out += max(len(tenant) - max_problems, 0)
    counts = Counter(f["status"] for f in report["findings"])
    tail = labels["passed"].format(n=counts.get("pass", 0))
    if counts.get("skip"):
        tail += f", {counts['skip']} {labels['skipped']}"
    body.append(text(tail, isSubtle=True, size="Small", spacing="Medium"))
    if left_out:
        body.append(text(w["more"].format(n=left_out, who=md(who)), isSubtle=True, size="Small"))
    return card(body, report_actions(report, problems, lang))


def _finding(f: dict[str, Any], labels: dict[str, str], details: bool) -> list[dict[str, Any]]:
    status = f["status"]
    count = f" (×{f['_count']})" if f.get("_count", 1) > 1 else ""
    out = [
        text(
            f"{SYMBOL[status]} **{md(f['title'])}**{count} · {md(f['check'])}",
            color=COLOR[status],
            spacing="Small",
        )
    ]
    if details and f.get("detail"):
        out.append(text(md(f["detail"], multiline=True), spacing="None"))
    if details and f.get("remedy"):
        out.append(text(f"→ {md(f['remedy'], multiline=True)}", spacing="None", isSubtle=True))
    return out


def report_actions(report: dict[str, Any], problems: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The next step: ask again, have the worst problem explained, or see the commands."""
    w = _w(lang)
    subject = report["subject"]
    who = str(subject.get("primary_smtp") or subject.get("query") or "")
    if report.get("sender"):
        s = report["sender"]
        sender = str(s.get("primary_smtp") or s.get("query"))
        again = (
            f"why can't {sender} encrypt to {who}"
            if lang != "de"
            else f"warum kann {sender} an {who} nicht verschlüsseln"
        )
    else:
        again = f"check {who}" if lang != "de" else f"prüfe {who}"
    actions = [say(w["again"], again)]
    for n, f in enumerate(problems[:2], 1):  # labels fit a phone (<= 20 characters); the text names the check
        word = "explain" if lang != "de" else "erkläre"
        actions.append(say(w["explain"].format(n=n), f"{word} {f['check']}"))
    actions.append(say(w["help"], "help" if lang != "de" else "hilfe"))
    return actions


def audit_card(summary: dict[str, Any], tenant: Sequence[dict[str, Any]], lang: str = "en") -> dict[str, Any]:
    w = _w(lang)
    v = summary.get("verdicts") or {}
    ok = v.get("pass", 0) + v.get("info", 0)
    worst_status = "fail" if v.get("fail") else ("warn" if v.get("warn") else "pass")
    body = [
        text(w["audit"].format(users=summary.get("users", 0)), size="Medium", weight="Bolder"),
        text(f"✗ {v.get('fail', 0)} fail · ⚠ {v.get('warn', 0)} warn · ✓ {ok} ok", color=COLOR[worst_status]),
    ]
    if summary.get("checks"):
        body.append(text(w["common"], weight="Bolder", spacing="Medium"))
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": str(n), "value": md(c)} for c, n in summary["checks"][:12]],
            }
        )
    labels = LABELS["de" if lang == "de" else "en"]
    problems = [f for f in tenant if f["status"] in ("fail", "warn", "error")]
    if problems:
        body.append(text(labels["tenant"], weight="Bolder", spacing="Medium"))
        for f in problems[:10]:
            body.extend(_finding(f, labels, details=True))
    worst = summary.get("worst_users") or []
    if worst:
        body.append(text(w["worst"], weight="Bolder", spacing="Medium"))
        for row in worst[:25]:
            body.append(text(f"✗ {md(row['user'])}: {md(row['headline'])}", spacing="Small"))
        if len(worst) > 25:
            body.append(text(f"… +{len(worst) - 25}", isSubtle=True))
    built = card(body)
    while size_of(built) > MAX_CARD_BYTES and len(built["body"]) > 3:
        built["body"].pop(-2)  # drop from the end, keep the "… +n" line last
    return built


# -- approvals --------------------------------------------------------------------------------


def _when(epoch: float | None) -> str:
    if not epoch:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(epoch)))


def _plan_rows(changes: Sequence[Change], lang: str) -> list[dict[str, Any]]:
    if not changes:
        return [text(_w(lang)["nochange"], isSubtle=True)]
    facts = []
    for c in changes[:30]:
        facts.append(
            {
                "title": md(f"{c.attribute} · {c.sha256[:12]}"),
                "value": f"{md(c.subject or '')} (→ {md((c.not_after or '')[:10])}) — {md(c.reason or '')}",
            }
        )
    rows: list[dict[str, Any]] = [{"type": "FactSet", "facts": facts}]
    if len(changes) > 30:
        rows.append(text(f"… +{len(changes) - 30}", isSubtle=True))
    return rows


def _request_head(request: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    w = _w(lang)
    state = str(request.get("state") or "pending")
    return [
        text(w["request"].format(id=md(request.get("id", "?"))), size="Medium", weight="Bolder"),
        {
            "type": "FactSet",
            "facts": [
                {"title": w["action"], "value": md(action_name(str(request.get("action", "")), lang))},
                {"title": w["requester"], "value": md(request.get("requester", ""))},
                {"title": w["target"], "value": md(target_of(request))},
                {"title": w["expires"], "value": _when(request.get("expires"))},
                {
                    "title": w["state"],
                    "value": STATE_WORDS["de" if lang == "de" else "en"].get(state, md(state)),
                },
            ],
        },
        text(w["changes"], weight="Bolder", spacing="Medium"),
        *_plan_rows(changes_of(request.get("plan")), lang),
    ]


def decision_buttons(request_id: str, lang: str) -> list[dict[str, Any]]:
    """Action.Execute (Universal Actions, answered with a refreshed card) falling back to
    Action.Submit on clients without them. The data is the request id only: who decides is
    taken from the click's activity, never from the card."""
    w = _w(lang)
    buttons = []
    for verb, title, style in (
        (APPROVE_VERB, w["approve"], "positive"),
        (DENY_VERB, w["deny"], "destructive"),
    ):
        data = {"verb": verb, "request_id": request_id}
        buttons.append(
            {
                "type": "Action.Execute",
                "title": title,
                "verb": verb,
                "data": {"request_id": request_id},
                "style": style,
                "fallback": {"type": "Action.Submit", "title": title, "data": data, "style": style},
            }
        )
    return buttons


def approval_request_card(request: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """For the approvers: the exact plan, and Approve / Deny while the request is pending."""
    actions = (
        decision_buttons(str(request["id"]), lang) if request.get("state", "pending") == "pending" else None
    )
    return card(_request_head(request, lang) + _decisions(request, lang), actions)


def approval_update_card(request: dict[str, Any], event: str = "", lang: str = "en") -> dict[str, Any]:
    """The approval card after a change: who decided, the new state — without buttons once decided.
    A request that still needs another approval keeps its buttons."""
    needs_more = request.get("state") == "pending"
    actions = decision_buttons(str(request["id"]), lang) if needs_more else None
    return card(_request_head(request, lang) + _decisions(request, lang), actions)


def _decisions(request: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    w = _w(lang)
    rows = []
    for d in request.get("decisions") or []:
        verb = w["approved"] if d.get("approve") else w["denied"]
        who = md(d.get("display") or d.get("actor") or "?")
        rows.append(
            text(
                f"{'✓' if d.get('approve') else '✗'} {w['decided'].format(verb=verb, who=who)} · {_when(d.get('at'))}",
                color="default" if d.get("approve") else "attention",
                weight="Bolder",
                spacing="Small",
            )
        )
        if d.get("reason"):  # a denial's reason, as typed: free text, escaped
            label = "Grund" if lang == "de" else "Reason"
            rows.append(text(f"{label}: {md(str(d['reason']))}", spacing="None"))
    return rows


def plan_card(plan: Plan, request: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """For the requester: what their request will change, with its id."""
    w = _w(lang)
    body = [
        text(w["plan"].format(id=md(request.get("id", "?"))), size="Medium", weight="Bolder"),
        *_plan_rows(plan.changes, lang),
        text(w["plan_tail"], isSubtle=True, spacing="Medium"),
    ]
    return card(body)


# -- dispatch over answer types -----------------------------------------------------------------


def answer_card(answer: Answer, lang: str = "en") -> dict[str, Any] | None:
    """The card for an answer, or None when plain text suits it better."""
    match answer:
        case ReportAnswer(report=report):
            return report_card(report, lang)
        case AuditAnswer(summary=summary, tenant=tenant):
            return audit_card(summary, tenant, lang)
        case PlanAnswer(plan=plan, request=request):
            return plan_card(plan, request or {}, lang)
        case ApprovalRequestAnswer(request=request):
            return approval_request_card(request, lang)
        case ApprovalUpdateAnswer(request=request, event=event):
            return approval_update_card(request, event, lang)
        case TextAnswer():
            return None


def answer_summary(answer: Answer, lang: str = "en") -> str:
    """One line for notifications and for clients that show no cards. An answer without a card
    is sent as this text, which Teams renders as markdown: it is escaped then."""
    match answer:
        case ReportAnswer(report=report):
            return str(report.get("headline") or "")
        case AuditAnswer(summary=summary):
            return _w(lang)["audit"].format(users=summary.get("users", 0))
        case PlanAnswer() | ApprovalRequestAnswer() | ApprovalUpdateAnswer():
            request = answer.request or {}
            state = STATE_WORDS["de" if lang == "de" else "en"].get(str(request.get("state")), "")
            return f"{_w(lang)['request'].format(id=request.get('id', '?'))}: {state}".rstrip(": ")
        case TextAnswer(text=text):
            return md(text, multiline=True)
