"""`make demo`: a short guided tour over the bundled demo tenant, jobs run in-process.

Each step is what a helpdesk person would type; the output is the real engine's answer.
"""

from __future__ import annotations

import io
import sys

from rich.console import Console
from rich.rule import Rule

from bot.console import ConsoleChat
from bot.render.text import render_audit_summary, render_report
from workers.config import load_settings
from workers.demo_tenant import DATA_DIR
from workers.diagnosis import Engine
from workers.report import AuditSummary
from workers.sources.snapshot import Snapshot

STEPS: list[tuple[str, str, dict[str, str]]] = [
    ("A healthy user: is Adele's certificate published?", "diagnose", {"user": "adele.vance"}),
    (
        "Broken: Stella's old Outlook publication hides her current certificate",
        "diagnose",
        {"user": "stale.smime"},
    ),
    (
        "Broken: Nora's certificate never reaches Exchange Online (no mailNickname)",
        "diagnose",
        {"user": "no.nickname"},
    ),
    ("Broken: a terminal-server user with 20 autoenrolled certificates", "diagnose", {"user": "ts.user"}),
    ("Why can't Alex encrypt to Stella?", "why", {"sender": "alex.wilber", "recipient": "stale.smime"}),
    (
        "Auf Deutsch: Ist das frisch veröffentlichte Zertifikat schon angekommen?",
        "diagnose_de",
        {"user": "fresh.cert"},
    ),
    ("Audit of the whole tenant", "audit", {}),
]


def run_demo(console: Console | None = None) -> int:
    console = console or Console(highlight=False, soft_wrap=True)
    snapshot = Snapshot(DATA_DIR)
    at = snapshot.tenant.collected_at
    assert at is not None
    console.print(
        f"[bold]smime-doctor demo[/] — bundled tenant 'Contoso (demo)', {len(snapshot)} recipients, "
        f"evaluated as of {at:%Y-%m-%d %H:%M} UTC (the snapshot's collection time)\n"
    )
    engines = {lang: Engine(snapshot.tenant, at, lang=lang) for lang in ("en", "de")}
    try:
        for n, (title, kind, params) in enumerate(STEPS, 1):
            console.print(Rule(f"{n}. {title}", align="left"))
            command = _command(kind, params)
            console.print(f"[dim]$ {command}[/]\n")
            if kind in ("diagnose", "diagnose_de"):
                lang = "de" if kind == "diagnose_de" else "en"
                report = engines[lang].diagnose(snapshot.find(params["user"]), params["user"])
                render_report(report.to_json(), console, lang)
            elif kind == "why":
                report = engines["en"].encrypt_to(
                    snapshot.find(params["recipient"]),
                    snapshot.sender(params["sender"]),
                    params["recipient"],
                    params["sender"],
                )
                render_report(report.to_json(), console, "en")
            else:
                engine = engines["en"]
                summary = AuditSummary()
                for r in engine.audit(snapshot.iter_users()):
                    summary.add(r.to_json())
                render_audit_summary(
                    summary.to_json(), [f.to_json() for f in engine.tenant_findings()], console, "en"
                )
            console.print()
    finally:
        for engine in engines.values():
            engine.close()
    run_chat_tour(console)
    console.print(
        "Try it yourself: [bold].venv/bin/smime-doctor diagnose <user> --demo[/] "
        "(users: see workers/demo_tenant/data/README.md), or --help."
    )
    return 0


# The scripted conversation: (who types, what they type). Adele is helpdesk, Alex approves.
CHAT_SCRIPT: list[tuple[str, str]] = [
    ("stale.smime", "hey bot, is my cert published?"),
    ("stale.smime", "check adele.vance"),
    ("stale.smime", "pls remove my old certs"),
    ("adele.vance", "check carl"),
    ("adele.vance", "the first one"),
    ("adele.vance", "and what about carla?"),
    ("stale.smime", "warum kann Alex mir nicht verschlüsselt schreiben?"),
    ("exp.soon", "wann läuft mein Zertifikat ab?"),
    ("adele.vance", "hilfe"),
]
DEMO_ROLES = {"helpdesk": {"users": ["adele.vance"]}, "approver": {"users": ["alex.wilber"]}}


def run_chat_tour(console: Console) -> None:
    """The chat pipeline with the console transport, jobs in-process (no Redis needed)."""

    console.print(
        Rule("Chat: the same questions in the bot (console transport, in-process jobs)", align="left")
    )
    settings = load_settings(demo=True, roles=DEMO_ROLES)
    chats: dict[str, ConsoleChat] = {}
    buffers: dict[str, io.StringIO] = {}
    try:
        for who, line in CHAT_SCRIPT:
            if who not in chats:
                buffers[who] = io.StringIO()
                chats[who] = ConsoleChat(settings, who, None, out=buffers[who])
            buffer = buffers[who]
            start = len(buffer.getvalue())
            chats[who].say(line)
            console.print(f"[bold]{who}>[/] {line}")
            console.print(_shorten(buffer.getvalue()[start:]), highlight=False, markup=False)
    finally:
        for chat in chats.values():
            chat.close()


def _shorten(text: str, keep: int = 14) -> str:
    """Chat answers repeat the full report shown above; the tour shows their first lines."""
    lines = text.rstrip("\n").splitlines()
    if len(lines) <= keep:
        return "\n".join(lines) + "\n"
    return "\n".join(lines[:keep]) + f"\n  … ({len(lines) - keep} more lines)\n"


def _command(kind: str, params: dict[str, str]) -> str:
    if kind == "diagnose":
        return f"smime-doctor diagnose {params['user']} --demo"
    if kind == "diagnose_de":
        return f"smime-doctor diagnose {params['user']} --demo --lang de"
    if kind == "why":
        return f"smime-doctor why-cant-encrypt --sender {params['sender']} --recipient {params['recipient']} --demo"
    return "smime-doctor audit --demo"


if __name__ == "__main__":
    sys.exit(run_demo())
