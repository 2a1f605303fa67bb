"""Reports as terminal text a helpdesk person reads at a glance: answer first, then what to do.

Lines are rich markup; every value from the directory or a certificate goes through `esc`
(bot/render/escape.py: markup escaped, control characters written out) and lines are printed
with `emoji=False`, so a name can neither style, link nor move the terminal's cursor.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.text import Text

from bot.render.escape import for_terminal as esc
from bot.render.summary import ANSWER_STATUS, self_summary
from workers.checks import REGISTRY

SYMBOL = {"fail": "✗", "warn": "!", "info": "i", "pass": "✓", "skip": "-", "error": "?"}
STYLE = {
    "fail": "bold red",
    "warn": "yellow",
    "info": "cyan",
    "pass": "green",
    "skip": "dim",
    "error": "magenta",
}
ORDER = {"fail": 0, "error": 1, "warn": 2, "info": 3, "skip": 4, "pass": 5}

LABELS = {
    "en": {
        "todo": "What to do",
        "notes": "Good to know",
        "certs": "Certificates",
        "passed": "{n} checks passed",
        "skipped": "not checked",
        "sender": "Sender",
        "recipient": "Recipient",
        "outlook": "Outlook picks",
        "nothing": "nothing",
        "fix": "Fix",
        "tenant": "Tenant-wide (for admins; details: smime-doctor audit)",
    },
    "de": {
        "todo": "Was zu tun ist",
        "notes": "Gut zu wissen",
        "certs": "Zertifikate",
        "passed": "{n} Prüfungen bestanden",
        "skipped": "nicht geprüft",
        "sender": "Absender",
        "recipient": "Empfänger",
        "outlook": "Outlook wählt",
        "nothing": "nichts",
        "fix": "Abhilfe",
        "tenant": "Mandantenweit (für Admins; Details: smime-doctor audit)",
    },
}


def _print(console: Console, markup: str, **kw: Any) -> None:
    """One line of our markup; emoji codes stay text (`:warning:` in a name is not ⚠). A line
    that starts indented wraps under its indent, at word boundaries, at the console's width."""
    indent = len(markup) - len(markup.lstrip(" "))
    if indent and not console.soft_wrap:
        text = Text.from_markup(markup[indent:], emoji=False)
        for line in text.wrap(console, max(20, console.width - indent)):
            line.rstrip()
            console.print(Text(" " * indent) + line, soft_wrap=True, **kw)
        return
    console.print(markup, emoji=False, **kw)


def _symbol(report: dict[str, Any]) -> str:
    """What senders' clients do (report["answer"]), else the worst finding about this user."""
    if report.get("answer") in ANSWER_STATUS:
        return str(ANSWER_STATUS[report["answer"]])
    verdict = verdict_of_dicts([f for f in report["findings"] if not is_tenant_wide(f["check"])])
    return "pass" if verdict == "info" else verdict  # notes alone do not make an answer less of a yes


def render_self(report: dict[str, Any], console: Console, lang: str = "en") -> None:
    """The answer for the person asking about themself (bot/render/summary.py): at most ~10 lines."""
    v = self_summary(report, lang)
    _print(console, f"[{STYLE[v.status]}]{SYMBOL[v.status]} {esc(v.headline)}[/]")
    for label, text in v.lines:
        _print(console, f"  [bold]{esc(label)}:[/] {esc(text)}" if label else f"  {esc(text)}")
    if v.more:
        _print(console, f"  [dim]{esc(v.more)}[/]")


def render_report(report: dict[str, Any], console: Console, lang: str = "en", verbose: bool = False) -> None:
    """Print one report (the JSON contract shape); a report for its own subject (audience
    "self", set by the chat worker) gets the short answer (render_self)."""
    if report.get("audience") == "self" and not verbose:
        render_self(report, console, lang)
        return
    words = LABELS.get(lang, LABELS["en"])
    # The symbol follows the answer about this user, like the headline; tenant-wide findings come last.
    shown = _symbol(report)
    _print(console, f"[{STYLE[shown]}]{SYMBOL[shown]} {esc(report.get('headline') or '')}[/]")
    if report.get("verdict_headline"):  # a focused answer (expiry, propagation): the verdict follows
        _print(console, f"  {esc(str(report['verdict_headline']))}")
    subject = report["subject"]
    who = f"{subject.get('display_name') or ''} <{subject.get('primary_smtp') or subject.get('query')}>"
    if report.get("sender"):
        s = report["sender"]
        _print(
            console,
            f"  {words['sender']}: {esc(str(s.get('primary_smtp') or s.get('query')))}   {words['recipient']}: {esc(who)}",
        )
    else:
        _print(console, f"  {esc(who)}  [dim]{esc(str(subject.get('dn') or ''))}[/]")
    findings = sorted(report["findings"], key=lambda f: (ORDER.get(f["status"], 9), priority(f["check"])))
    tenant = [f for f in findings if is_tenant_wide(f["check"])]
    findings = [f for f in findings if not is_tenant_wide(f["check"])]
    problems = [f for f in findings if f["status"] in ("fail", "error", "warn")]
    notes = [f for f in findings if f["status"] == "info"]
    if problems:
        _print(console, f"\n[bold]{words['todo']}[/]")
        for f in _dedupe(problems):
            _finding(console, f, words)
    if notes:
        _print(console, f"\n[bold]{words['notes']}[/]")
        for f in _dedupe(notes):
            _finding(console, f, words, brief=not verbose)
    certs = report.get("certificates") or []
    if certs:
        choice = report.get("outlook_choice") or {}
        _print(
            console,
            f"\n[bold]{words['certs']}[/]  [dim]{words['outlook']}: {esc(str(choice.get('attribute') or words['nothing']))}[/]",
        )
        for c in certs[:12]:
            mark = "→" if c["sha256"] == choice.get("certificate") else " "
            emails = ", ".join(c["emails"]) or "-"
            locs = ", ".join(c["locations"])
            _print(
                console,
                f" {mark} [dim]{esc(c['sha256'][:12])}[/] {esc(emails)}  {esc(c['not_before'][:10])} … {esc(c['not_after'][:10])}  [dim]{esc(locs)}[/]",
            )
        if len(certs) > 12:
            _print(console, f"   [dim]… +{len(certs) - 12}[/]")
    tenant_problems = [f for f in tenant if f["status"] in ("fail", "error", "warn")]
    if tenant_problems:
        _print(console, f"\n[bold]{words['tenant']}[/]")
        for f in tenant_problems:
            _print(
                console,
                f" [{STYLE[f['status']]}]{SYMBOL[f['status']]}[/] {esc(f['title'])} [dim]{esc(f['check'])}[/]",
            )
    counts = Counter(f["status"] for f in findings + tenant)
    tail = words["passed"].format(n=counts.get("pass", 0))
    if counts.get("skip"):
        tail += f", {counts['skip']} {words['skipped']}"
    _print(console, f"\n[dim]{tail}[/]")
    if verbose:
        for f in findings:
            if f["status"] in ("pass", "skip"):
                _print(
                    console,
                    f"  [{STYLE[f['status']]}]{SYMBOL[f['status']]}[/] [dim]{esc(f['check'])}[/] {esc(f['title'])} {esc(f['detail'])}",
                )


# Within one severity, lead with what answers "is it published?", then the chain after it.
_PRIORITY = (
    "publish.ad_present",
    "sender.lookup",
    "publish",
    "sync",
    "exo",
    "sender",
    "trust",
    "cert",
    "addr",
    "pki",
    "advice",
)


def priority(check_id: str) -> int:
    if check_id in _PRIORITY:
        return _PRIORITY.index(check_id)
    family = check_id.split(".", 1)[0]
    return _PRIORITY.index(family) if family in _PRIORITY else len(_PRIORITY)


def verdict_of_dicts(findings: list[dict[str, Any]]) -> str:
    rank = {"pass": 0, "info": 1, "warn": 2, "fail": 3}
    worst = max((f["status"] for f in findings if f["status"] in rank), key=rank.__getitem__, default="pass")
    return worst


def is_tenant_wide(check_id: str) -> bool:

    spec = REGISTRY.get(check_id)
    return spec is not None and spec.scope == "tenant"


def _dedupe(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-certificate checks repeat; show each (check, title) once with a count."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        key = (f["check"], f["title"])
        if key in seen:
            seen[key]["_count"] = seen[key].get("_count", 1) + 1
        else:
            seen[key] = dict(f)
    return list(seen.values())


def _finding(console: Console, f: dict[str, Any], words: dict[str, str], brief: bool = False) -> None:
    status = f["status"]
    count = f" (×{f['_count']})" if f.get("_count", 1) > 1 else ""
    _print(
        console,
        f" [{STYLE[status]}]{SYMBOL[status]}[/] [bold]{esc(f['title'])}[/]{count} [dim]{esc(f['check'])}[/]",
    )
    if f["detail"] and not brief:
        _print(console, f"   {esc(f['detail'])}", highlight=False)
    if f["remedy"] and not brief:
        _print(console, f"   [{STYLE[status]}]→[/] {esc(f['remedy'])}", highlight=False)


def render_audit_summary(
    summary: dict[str, Any], tenant: list[dict[str, Any]], console: Console, lang: str = "en"
) -> None:
    de = lang == "de"
    _print(
        console,
        f"[bold]{'Audit' if not de else 'Prüfung'}: {summary['users']} {'Benutzer' if de else 'users'}[/]  "
        f"[red]{summary['verdicts'].get('fail', 0)} fail[/]  [yellow]{summary['verdicts'].get('warn', 0)} warn[/]  "
        f"[green]{summary['verdicts'].get('pass', 0) + summary['verdicts'].get('info', 0)} ok[/]",
    )
    if summary["checks"]:
        _print(console, f"\n[bold]{'Häufigste Probleme' if de else 'Most common problems'}[/]")
        for check_id, n in summary["checks"][:12]:
            _print(console, f"  {n:6d}  {esc(check_id)}")
    problems = [f for f in tenant if f["status"] in ("fail", "warn", "error")]
    if problems:
        _print(console, f"\n[bold]{'Tenant' if not de else 'Mandant'}[/]")
        for f in problems:
            _finding(console, f, LABELS["de" if de else "en"])
    worst = summary.get("worst_users") or []
    if worst:
        _print(console, f"\n[bold]{'Benutzer mit Fehlern' if de else 'Users with failures'}[/]")
        for row in worst[:25]:
            _print(console, f"  [red]✗[/] {esc(row['user'])}: {esc(row['headline'])}")
        if len(worst) > 25:
            _print(console, f"  [dim]… +{len(worst) - 25}[/]")
