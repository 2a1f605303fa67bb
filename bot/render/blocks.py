"""Answers as Slack Block Kit: pure functions from the typed answers (workers/answers.py) to blocks.

The headline comes first (most people read nothing else), then findings grouped by severity
with their remedy, certificate facts in a compact context block, and buttons for the next
step. Slack rejects a message over its limits (50 blocks, 3000 characters a section), so a
long answer folds into a summary that fits plus `detail`: further messages for a thread.
Every piece of directory data is escaped (bot/render/escape.py) — a display name must never
become an @channel, a link or bold text — and mrkdwn text objects are `verbatim`, so Slack
links no bare URL or #channel in them either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, assert_never

from bot.render.escape import for_slack_code, for_slack_mrkdwn, for_slack_text
from bot.render.summary import self_summary
from bot.render.text import ORDER, _dedupe, is_tenant_wide, priority, verdict_of_dicts
from workers.answers import (
    Answer,
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
    AuditAnswer,
    PlanAnswer,
    ReportAnswer,
    TextAnswer,
    answer_from_json,
)
from workers.i18n.actions import action_name, target_of
from workers.i18n.states import state_name
from workers.plan_types import Change, changes_of

MAX_BLOCKS = 50  # per message
HOME_MAX_BLOCKS = 100  # per App Home view
SECTION_TEXT = 3000
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
FALLBACK_TEXT = 3000  # notification text; Slack truncates at 40k, people read far less

# Action ids the Slack app listens to (bot/slack/listeners.py); values carry no identity.
CHECK_AGAIN, WHY_ME, RESET = "smime_check_again", "smime_why_me", "smime_reset"
HISTORY = "smime_history"  # someone else's report: their change history (the value is the command)
APPROVE, DENY = "smime_approve", "smime_deny"

EMOJI = {
    "fail": ":x:",
    "error": ":grey_question:",
    "warn": ":warning:",
    "info": ":information_source:",
    "pass": ":white_check_mark:",
    "skip": ":heavy_minus_sign:",
}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "fail": "Must be fixed",
        "error": "Could not be checked",
        "warn": "Should be fixed",
        "info": "Good to know",
        "certs": "Certificates",
        "outlook": "Outlook picks",
        "nothing": "nothing",
        "passed": "{n} checks passed",
        "skipped": "{n} not checked",
        "sender": "Sender",
        "recipient": "Recipient",
        "tenant": "Tenant-wide (for admins)",
        "more": "… and {n} more — the full detail is in the thread.",
        "check_again": "Check again",
        "why_me": "Why no encryption?",
        "history": "Change history",
        "more_certs": "+{n} more certificates",
        "home_more_pending": "+{n} more waiting — say 'pending' for the whole list.",
        "reset": "Reset my certs",
        "reset_confirm": "Ask an approver to remove your published certificates? Nothing changes until they approve.",
        "confirm": "Yes",
        "cancel": "Cancel",
        "audit": "Audit: {users} users — {fail} fail, {warn} warn, {ok} ok",
        "common": "Most common problems",
        "worst": "Users with failures",
        "request": "*{requester}* asks for *{action}* for *{target}*",
        "changes": "What will change",
        "no_changes": "Nothing to change.",
        "expires": "Expires {when}",
        "approve": "Approve",
        "deny": "Deny",
        "approve_confirm": "Approve request {id}? The listed values will be removed.",
        "deny_confirm": "Deny request {id}?",
        "your_request": "Your request {id} — what will change once an approver agrees:",
        "state_pending": ":hourglass_flowing_sand: Waiting for an approver",
        "state_approved": ":white_check_mark: Approved by {who}",
        "state_denied": ":no_entry: Denied by {who}",
        "state_expired": ":alarm_clock: Expired — nobody decided in time",
        "state_executing": ":gear: Approved by {who} — being carried out",
        "state_done": ":white_check_mark: Done (approved by {who})",
        "state_failed": ":x: Failed — nothing more will be tried (approved by {who})",
        "recorded": "{who} approved; another approver is needed",
        "home_title": "Your S/MIME certificate",
        "home_none": "No diagnosis yet — checking now; this page updates by itself.",
        "home_checked": "Last checked {when}",
        "home_pending": "Approvals waiting",
        "home_pending_none": "No approvals waiting.",
        "home_recent": "Recent requests",
        "home_error": "I could not look you up: {error}",
    },
    "de": {
        "fail": "Muss behoben werden",
        "error": "Konnte nicht geprüft werden",
        "warn": "Sollte behoben werden",
        "info": "Gut zu wissen",
        "certs": "Zertifikate",
        "outlook": "Outlook wählt",
        "nothing": "nichts",
        "passed": "{n} Prüfungen bestanden",
        "skipped": "{n} nicht geprüft",
        "sender": "Absender",
        "recipient": "Empfänger",
        "tenant": "Mandantenweit (für Admins)",
        "more": "… und {n} weitere — alle Details stehen im Thread.",
        "check_again": "Erneut prüfen",
        "why_me": "Warum nicht?",
        "history": "Änderungsverlauf",
        "more_certs": "+{n} weitere Zertifikate",
        "home_more_pending": "+{n} weitere warten — „was wartet auf meine Freigabe?“ zeigt alle.",
        "reset": "Zurücksetzen",
        "reset_confirm": "Eine freigebende Person bitten, Ihre veröffentlichten Zertifikate zu entfernen? Vor der Freigabe ändert sich nichts.",
        "confirm": "Ja",
        "cancel": "Abbrechen",
        "audit": "Prüfung: {users} Benutzer — {fail} Fehler, {warn} Warnungen, {ok} in Ordnung",
        "common": "Häufigste Probleme",
        "worst": "Benutzer mit Fehlern",
        "request": "*{requester}* beantragt *{action}* für *{target}*",
        "changes": "Was sich ändert",
        "no_changes": "Nichts zu ändern.",
        "expires": "Läuft ab {when}",
        "approve": "Freigeben",
        "deny": "Ablehnen",
        "approve_confirm": "Antrag {id} freigeben? Die aufgeführten Werte werden entfernt.",
        "deny_confirm": "Antrag {id} ablehnen?",
        "your_request": "Ihr Antrag {id} — was sich nach der Freigabe ändert:",
        "state_pending": ":hourglass_flowing_sand: Wartet auf Freigabe",
        "state_approved": ":white_check_mark: Freigegeben von {who}",
        "state_denied": ":no_entry: Abgelehnt von {who}",
        "state_expired": ":alarm_clock: Abgelaufen — niemand hat rechtzeitig entschieden",
        "state_executing": ":gear: Freigegeben von {who} — wird ausgeführt",
        "state_done": ":white_check_mark: Erledigt (freigegeben von {who})",
        "state_failed": ":x: Fehlgeschlagen — es wird nichts mehr versucht (freigegeben von {who})",
        "recorded": "{who} hat freigegeben; eine weitere Freigabe ist nötig",
        "home_title": "Ihr S/MIME-Zertifikat",
        "home_none": "Noch keine Diagnose — ich prüfe gerade; diese Seite aktualisiert sich selbst.",
        "home_checked": "Zuletzt geprüft {when}",
        "home_pending": "Wartende Freigaben",
        "home_pending_none": "Keine Freigaben offen.",
        "home_recent": "Letzte Anträge",
        "home_error": "Ich konnte Sie nicht zuordnen: {error}",
    },
}


@dataclass(frozen=True)
class Message:
    """One Slack message: `text` is the notification fallback; `detail` are thread follow-ups."""

    text: str
    blocks: list[dict[str, Any]]
    detail: list[list[dict[str, Any]]] = field(default_factory=list)


# -- primitives ------------------------------------------------------------------------------


md = for_slack_mrkdwn  # a directory value inside mrkdwn
code = for_slack_code  # a value inside our own `code` span
esc = for_slack_text  # a plain sentence as a message's `text` (bot/slack/transport.py)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; never ends inside a `<…>` token or an `&…;` entity (a cut
    token would leave markup half open, or lose the date token that keeps a `*` literal)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    return cut + "…"


def mrkdwn(text: str, limit: int) -> dict[str, Any]:
    """A mrkdwn text object with `verbatim`: our formatting applies; no auto-linking."""
    return {"type": "mrkdwn", "text": clip(text, limit), "verbatim": True}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text, SECTION_TEXT)}


def context(texts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(t, CONTEXT_TEXT) for t in texts[:CONTEXT_ELEMENTS]]}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT)}}


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT)},
        "value": value[:2000],
    }
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def confirm_dialog(title: str, text: str, yes: str, no: str, danger: bool = False) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": {"type": "plain_text", "text": clip(title, 100)},
        "text": {"type": "plain_text", "text": clip(text, 300)},
        "confirm": {"type": "plain_text", "text": clip(yes, 30)},
        "deny": {"type": "plain_text", "text": clip(no, 30)},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def words_for(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


# Button labels stay within 20 characters: phones cut longer ones ("Explain p…").
MAX_LABEL = 20


def next_step_buttons(lang: str, again: str = "status", others: str | None = None) -> dict[str, Any]:
    """Check again, why can't someone encrypt to me, reset my published certs. `again` is the
    question to repeat: it is handled like typed text, as whoever clicks. `others` is the
    subject's address when the reader is someone else (helpdesk): then the buttons act on that
    person — check again, their change history — and never on the reader's own certificates."""
    w = words_for(lang)
    if others is not None:
        history = f"history of {others}" if lang != "de" else f"verlauf von {others}"
        return {
            "type": "actions",
            "block_id": "smime_next",
            "elements": [
                button(w["check_again"], CHECK_AGAIN, again[:500] or f"check {others}", style="primary"),
                button(w["history"], HISTORY, history[:500]),
            ],
        }
    reset_confirm = confirm_dialog(w["reset"], w["reset_confirm"], w["confirm"], w["cancel"], danger=True)
    return {
        "type": "actions",
        "block_id": "smime_next",
        "elements": [
            button(w["check_again"], CHECK_AGAIN, again[:500] or "status", style="primary"),
            button(w["why_me"], WHY_ME, "self"),
            button(w["reset"], RESET, "self", style="danger", confirm=reset_confirm),
        ],
    }


def slack_date(epoch: float, fallback: str | None = None) -> str:
    """A timestamp each reader sees in their own time zone; clients that cannot show it (and the
    notification text) read the UTC time, never the raw epoch."""
    shown = fallback or datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(epoch)}^{{date_short_pretty}} {{time}}|{for_slack_text(shown)}>"


# -- answers ---------------------------------------------------------------------------------


def render(
    answer: Answer,
    lang: str = "en",
    *,
    buttons: bool = True,
    max_blocks: int = MAX_BLOCKS,
    again: str = "status",
    viewer: str | None = None,
) -> Message:
    """Any answer → one message (folded to `max_blocks`). An answer in its outbox JSON is read
    with answer_from_json first (by the caller)."""
    match answer:
        case ReportAnswer(report=report):
            blocks, fallback = report_blocks(report, lang, buttons=buttons, again=again, viewer=viewer)
        case AuditAnswer(summary=summary, tenant=tenant):
            blocks, fallback = audit_blocks(summary, tenant, lang)
        case PlanAnswer():
            blocks, fallback = plan_blocks(answer, lang)
        case ApprovalRequestAnswer(request=request) | ApprovalUpdateAnswer(request=request):
            blocks, fallback = approval_blocks(request, lang, buttons=buttons)
        case TextAnswer():
            blocks, fallback = text_blocks(answer)
        case _:
            assert_never(answer)
    return fold(blocks, clip(fallback, FALLBACK_TEXT), lang, max_blocks)


def fold(blocks: list[dict[str, Any]], text: str, lang: str, max_blocks: int = MAX_BLOCKS) -> Message:
    """Keep the head (and the trailing buttons) within the limit; the rest becomes thread detail."""
    if len(blocks) <= max_blocks:
        return Message(text, blocks)
    tail = [b for b in blocks[-1:] if b["type"] == "actions"]
    body = blocks[: len(blocks) - len(tail)]
    keep = max_blocks - len(tail) - 1  # room for the "… more in the thread" notice
    head, rest = body[:keep], body[keep:]
    notice = context([words_for(lang)["more"].format(n=sum(1 for b in rest if b["type"] == "section"))])
    detail = [rest[i : i + MAX_BLOCKS] for i in range(0, len(rest), MAX_BLOCKS)]
    return Message(text, head + [notice] + tail, detail)


def text_blocks(answer: TextAnswer) -> tuple[list[dict[str, Any]], str]:
    text = answer.text
    blocks = [section(md(text, multiline=True))] if text else []
    candidates = answer.candidates or ()
    if candidates:
        blocks.append(section("\n".join(f"• {md(c)}" for c in candidates[:40])))
    return blocks, for_slack_text(text, multiline=True)


def _finding_text(f: dict[str, Any], brief: bool = False) -> str:
    count = f" (×{f['_count']})" if f.get("_count", 1) > 1 else ""
    line = f"{EMOJI.get(f['status'], '')} *{md(f['title'])}*{count}  `{code(f['check'])}`"
    if not brief and f.get("detail"):
        line += f"\n{md(f['detail'])}"
    if not brief and f.get("remedy"):
        line += f"\n:arrow_right: {md(f['remedy'])}"
    return line


def _who(party: dict[str, Any]) -> str:
    address = party.get("primary_smtp") or party.get("query") or ""
    name = party.get("display_name")
    return f"{md(name)} ({md(address)})" if name else md(address)


def report_blocks(
    report: dict[str, Any],
    lang: str = "en",
    *,
    buttons: bool = True,
    again: str = "status",
    viewer: str | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """Headline, who, findings by severity with remedies, certificate facts, counts, next steps;
    a report about the reader themself (audience "self"): the short answer (bot/render/summary.py)."""
    w = words_for(lang)
    if report.get("audience") == "self":
        return self_blocks(report, lang, buttons=buttons, again=again)
    findings = sorted(
        report.get("findings") or [], key=lambda f: (ORDER.get(f["status"], 9), priority(f["check"]))
    )
    tenant = [f for f in findings if is_tenant_wide(f["check"])]
    own = [f for f in findings if not is_tenant_wide(f["check"])]
    verdict = verdict_of_dicts(own)
    shown = "pass" if verdict == "info" else verdict
    headline = str(report.get("headline") or "")
    blocks = [section(f"{EMOJI[shown]} *{md(headline)}*")]
    subject = report.get("subject") or {}
    if report.get("sender"):
        who = f"{w['sender']}: {_who(report['sender'])}   {w['recipient']}: {_who(subject)}"
    else:
        who = _who(subject)
    blocks.append(context([who, md(str(report.get("evaluated_at") or ""))]))
    for status in ("fail", "error", "warn"):
        group = _dedupe([f for f in own if f["status"] == status])
        if not group:
            continue
        blocks.append(section(f"*{w[status]}* ({len(group)})"))
        blocks.extend(section(_finding_text(f)) for f in group)
    notes = _dedupe([f for f in own if f["status"] == "info"])
    if notes:
        lines = "\n".join(_finding_text(f, brief=True) for f in notes)
        blocks.append(section(f"*{w['info']}*\n{lines}"))
    certs = report.get("certificates") or []
    if certs:
        choice = report.get("outlook_choice") or {}
        facts = [f"*{w['certs']}* · {w['outlook']}: `{code(choice.get('attribute') or w['nothing'])}`"]
        room = CONTEXT_ELEMENTS - 1 if len(certs) <= CONTEXT_ELEMENTS - 1 else CONTEXT_ELEMENTS - 2
        for c in certs[:room]:
            mark = ":arrow_right: " if c.get("sha256") == choice.get("certificate") else ""
            facts.append(
                f"{mark}`{code(c.get('sha256', '')[:12])}` {md(', '.join(c.get('emails') or []) or '-')} · "
                f"{md(str(c.get('not_before', ''))[:10])} … {md(str(c.get('not_after', ''))[:10])} · "
                f"{md(', '.join(c.get('locations') or []))}"
            )
        if len(certs) > room:  # a context holds 10 elements: say how many are not shown
            facts.append(w["more_certs"].format(n=len(certs) - room))
        blocks.append(context(facts))
    tenant_problems = [f for f in tenant if f["status"] in ("fail", "error", "warn")]
    if tenant_problems:
        lines = "\n".join(_finding_text(f, brief=True) for f in _dedupe(tenant_problems))
        blocks.append(section(f"*{w['tenant']}*\n{lines}"))
    counts = Counter(f["status"] for f in findings)
    tail = [w["passed"].format(n=counts.get("pass", 0))]
    if counts.get("skip"):
        tail.append(w["skipped"].format(n=counts["skip"]))
    blocks.append(context([" · ".join(tail)]))
    if buttons:
        blocks.append(next_step_buttons(lang, again, _others(report, viewer)))
    return blocks, for_slack_text(headline)


def self_blocks(
    report: dict[str, Any], lang: str, *, buttons: bool = True, again: str = "status"
) -> tuple[list[dict[str, Any]], str]:
    """Verdict, why, what to do, when it works — and the buttons to do it."""
    v = self_summary(report, lang)
    blocks: list[dict[str, Any]] = [section(f"{EMOJI[v.status]} *{md(v.headline)}*")]
    blocks.extend(section(f"*{md(label)}:* {md(text)}" if label else md(text)) for label, text in v.lines)
    if v.more:
        blocks.append(context([md(v.more)]))
    if buttons:
        blocks.append(next_step_buttons(lang, again))
    return blocks, for_slack_text(v.headline)


def _others(report: dict[str, Any], viewer: str | None) -> str | None:
    """The report's subject when `viewer` (the reader's address) is not it; None for one's own."""
    subject = report.get("subject") or {}
    who = str(subject.get("primary_smtp") or subject.get("query") or "")
    if viewer is None or not who or who.lower() == viewer.lower():
        return None
    return who


def audit_blocks(
    summary: dict[str, Any], tenant: Sequence[dict[str, Any]], lang: str = "en"
) -> tuple[list[dict[str, Any]], str]:
    w = words_for(lang)
    verdicts = summary.get("verdicts") or {}
    headline = w["audit"].format(
        users=summary.get("users", 0),
        fail=verdicts.get("fail", 0),
        warn=verdicts.get("warn", 0),
        ok=verdicts.get("pass", 0) + verdicts.get("info", 0),
    )
    blocks = [section(f"*{md(headline)}*")]
    common = summary.get("checks") or []
    if common:
        lines = "\n".join(f"`{code(n):>5}` {md(check_id)}" for check_id, n in common[:12])
        blocks.append(section(f"*{w['common']}*\n{lines}"))
    problems = _dedupe([f for f in tenant if f["status"] in ("fail", "warn", "error")])
    if problems:
        blocks.append(section(f"*{w['tenant']}* ({len(problems)})"))
        blocks.extend(section(_finding_text(f)) for f in problems)
    worst = summary.get("worst_users") or []
    if worst:
        blocks.append(section(f"*{w['worst']}* ({len(worst)})"))
        for i in range(0, len(worst), 20):  # 20 lines a section keeps each well under 3000 chars
            rows = worst[i : i + 20]
            blocks.append(section("\n".join(f":x: {md(r['user'])}: {md(r['headline'])}" for r in rows)))
    return blocks, for_slack_text(headline)


# -- approvals -------------------------------------------------------------------------------


def _changes(changes: Sequence[Change], lang: str) -> dict[str, Any]:
    w = words_for(lang)
    if not changes:
        return section(f"*{w['changes']}*\n{w['no_changes']}")
    lines = []
    for c in changes[:25]:
        lines.append(
            f"• `{code(c.attribute)}` `{code(c.sha256[:12])}` "
            f"{md(c.subject)} (→ {md(str(c.not_after)[:10])}) — {md(c.reason or '')}"
        )
    if len(changes) > 25:
        lines.append(f"… +{len(changes) - 25}")
    return section(f"*{w['changes']}*\n" + "\n".join(lines))


def plan_blocks(answer: PlanAnswer, lang: str = "en") -> tuple[list[dict[str, Any]], str]:
    """To the requester: the worker's summary, what will change, and the request id to refer to."""
    w = words_for(lang)
    summary = str(answer.summaries.get(lang) or answer.summary or "")
    request = answer.request or {}
    blocks = [section(md(summary, multiline=True))] if summary else []
    if request.get("id"):
        blocks.append(section(w["your_request"].format(id=f"`{code(request['id'])}`")))
    if answer.plan.changes or not summary:
        blocks.append(_changes(answer.plan.changes, lang))
    if request.get("expires"):
        blocks.append(context([w["expires"].format(when=slack_date(request["expires"]))]))
    fallback = summary or w["your_request"].format(id=request.get("id", ""))
    return blocks, for_slack_text(fallback, multiline=True)


def _deciders(request: dict[str, Any], escape: Callable[[object], str] = md) -> str:
    names = [escape(d.get("display") or d.get("actor", "")) for d in request.get("decisions") or []]
    return ", ".join(names) or "—"


def approval_state_line(
    request: dict[str, Any], lang: str = "en", escape: Callable[[object], str] = md
) -> str:
    """The request's state in one line; `escape` is for_slack_text for a message's fallback text."""
    w = words_for(lang)
    state = request.get("state", "pending")
    if state == "pending" and request.get("decisions"):
        return ":hourglass_flowing_sand: " + w["recorded"].format(who=_deciders(request, escape))
    line = w.get(f"state_{state}", escape(state)).format(who=_deciders(request, escape))
    return line + _reason(request, lang, escape)


def _reason(request: dict[str, Any], lang: str, escape: Callable[[object], str]) -> str:
    """A denial's reason, as the approver typed it (escaped: it is free text)."""
    reasons = [str(d["reason"]) for d in request.get("decisions") or [] if d.get("reason")]
    if not reasons:
        return ""
    return (" — Grund: " if lang == "de" else " — reason: ") + escape(reasons[-1])


def approval_blocks(
    request: dict[str, Any], lang: str = "en", *, buttons: bool = True
) -> tuple[list[dict[str, Any]], str]:
    """The approvers' message: the preview, the expiry, and — only while pending — Approve/Deny.
    The buttons carry the opaque request id and nothing else; who clicked comes from Slack."""
    w = words_for(lang)
    rid = str(request.get("id", ""))
    intro = w["request"].format(
        requester=md(request.get("requester", "")),
        action=md(action_name(str(request.get("action", "")), lang)),
        target=md(target_of(request)),
    )
    blocks: list[dict[str, Any]] = [section(intro), _changes(changes_of(request.get("plan")), lang)]
    facts = [f"`{code(rid)}`"]
    if request.get("expires"):
        facts.append(w["expires"].format(when=slack_date(request["expires"])))
    blocks.append(context(facts))
    state_line = approval_state_line(request, lang)
    blocks.append(section(state_line))
    if buttons and request.get("state", "pending") == "pending":
        blocks.append(approval_buttons(rid, lang))
    plain = (
        w["request"]
        .replace("*", "")
        .format(
            requester=for_slack_text(request.get("requester", "")),
            action=for_slack_text(action_name(str(request.get("action", "")), lang)),
            target=for_slack_text(target_of(request)),
        )
    )
    return blocks, f"{plain} — {approval_state_line(request, lang, for_slack_text)}"


def approval_buttons(request_id: str, lang: str = "en") -> dict[str, Any]:
    w = words_for(lang)
    yes = confirm_dialog(w["approve"], w["approve_confirm"].format(id=request_id), w["approve"], w["cancel"])
    no = confirm_dialog(
        w["deny"], w["deny_confirm"].format(id=request_id), w["deny"], w["cancel"], danger=True
    )
    return {
        "type": "actions",
        "block_id": f"smime_approval:{request_id}"[:255],
        "elements": [
            button(w["approve"], APPROVE, request_id, style="primary", confirm=yes),
            button(w["deny"], DENY, request_id, style="danger", confirm=no),
        ],
    }


# -- App Home --------------------------------------------------------------------------------


def home_view(
    lang: str,
    last: dict[str, Any] | None,
    checked_at: float | None,
    pending: list[dict[str, Any]] | None = None,
    error: str | None = None,
    recent: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The user's own status at a glance, the next-step buttons, for approvers their queue, and the
    latest state of recent requests (the asker's own; staff see everyone's). `last` is the answer
    as the Slack store keeps it (its JSON), read with answer_from_json here."""
    w = words_for(lang)
    blocks: list[dict[str, Any]] = [header(w["home_title"])]
    if error:
        blocks.append(section(":warning: " + w["home_error"].format(error=md(error))))
    elif last is None:
        blocks.append(section(w["home_none"]))
    else:
        answer_blocks = render(answer_from_json(last), lang, buttons=False).blocks
        blocks.extend(answer_blocks[:30])
        if checked_at:
            blocks.append(context([w["home_checked"].format(when=slack_date(checked_at))]))
    if not error:
        blocks.append(next_step_buttons(lang))
    if pending is not None:
        blocks.append({"type": "divider"})
        blocks.append(header(w["home_pending"]))
        if not pending:
            blocks.append(section(w["home_pending_none"]))
        # every section keeps its place under Slack's 100-block limit: the queue gets what the
        # status and the recent requests (3 blocks) leave, and says how many it leaves out
        budget = HOME_MAX_BLOCKS - len(blocks) - (3 if recent else 0) - 1
        shown = 0
        for request in pending:
            rows = approval_blocks(request, lang)[0]
            if len(rows) > budget:
                break
            blocks.extend(rows)
            budget -= len(rows)
            shown += 1
        if shown < len(pending):
            blocks.append(context([w["home_more_pending"].format(n=len(pending) - shown)]))
    if recent:
        blocks.append({"type": "divider"})
        blocks.append(header(w["home_recent"]))
        lines = [
            f"• `{code(r['request'])}` {md(r['action'])} — {md(r['target'])}: *{md(state_name(str(r['state']), lang))}* ({md(r['at'])})"
            for r in recent[:10]
        ]
        blocks.append(section("\n".join(lines)))
    return {"type": "home", "blocks": blocks[:HOME_MAX_BLOCKS]}
