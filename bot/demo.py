"""`make demo`: a short guided tour over the bundled demo tenant, jobs run in-process.

Each step is what a helpdesk person would type; the output is the real engine's answer.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.rule import Rule

from bot.render.text import render_audit_summary, render_report
from workers.demo_tenant import DATA_DIR
from workers.diagnosis import Engine
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
                from bot.cli import _Summary

                summary = _Summary()
                for r in engine.audit(snapshot.iter_users()):
                    summary.add(r.to_json())
                render_audit_summary(
                    summary.to_json(), [f.to_json() for f in engine.tenant_findings()], console, "en"
                )
            console.print()
    finally:
        for engine in engines.values():
            engine.close()
    console.print(
        "Try it yourself: [bold].venv/bin/smime-doctor diagnose <user> --demo[/] "
        "(users: see workers/demo_tenant/data/README.md), or --help."
    )
    return 0


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
