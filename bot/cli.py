"""`smime-doctor`: the command line (SNAPSHOT.md §3 is its contract).

Exit codes: 0 no failing finding, 1 at least one `fail`, 2 the input could not be used
(one line on stderr says why).
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from rich.console import Console

from workers.errors import InputError, SmimeDoctorError
from workers.sources.parsing import parse_time

EXIT_OK, EXIT_FAIL, EXIT_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smime-doctor",
        description="Diagnose S/MIME certificate publishing in hybrid Microsoft 365 organisations "
        "(AD → Entra Connect → Exchange Online → Outlook).",
        epilog="Exit codes: 0 no failure, 1 at least one failing check, 2 unusable input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser, formats: list[str]) -> None:
        src = p.add_argument_group("source")
        src.add_argument(
            "--snapshot",
            metavar="DIR",
            help="offline snapshot directory (see README: exporting a snapshot); default $SMIME_DOCTOR_SNAPSHOT",
        )
        src.add_argument(
            "--demo", action="store_true", help="use the bundled demo tenant instead of a snapshot"
        )
        p.add_argument(
            "--at",
            metavar="ISO8601",
            help="evaluate as of this instant (default: now; --demo: the demo's collection time)",
        )
        p.add_argument("--format", choices=formats, default="text", help="output format (default: text)")
        p.add_argument(
            "--lang",
            choices=["en", "de"],
            default=os.environ.get("SMIME_DOCTOR_LANG", "en"),
            help="language of titles, details and remedies",
        )
        p.add_argument(
            "--online",
            action="store_true",
            help="fetch missing intermediates (AIA) and check CRL/OCSP (10 s timeouts)",
        )
        p.add_argument("-v", "--verbose", action="store_true", help="text: also list passed checks")

    d = sub.add_parser(
        "diagnose", help="is USER's certificate published and usable?", description="Diagnose one user."
    )
    d.add_argument("user", metavar="USER", help="SMTP address, UPN, sAMAccountName or objectGUID")
    common(d, ["text", "json"])

    w = sub.add_parser(
        "why-cant-encrypt",
        help="why can't SENDER encrypt to RECIPIENT?",
        description="Explain why a sender cannot encrypt to a recipient.",
    )
    w.add_argument(
        "--sender", required=True, metavar="X", help="who wants to encrypt (may be outside the organisation)"
    )
    w.add_argument("--recipient", required=True, metavar="Y", help="who should receive encrypted mail")
    common(w, ["text", "json"])

    a = sub.add_parser("audit", help="diagnose every user in the snapshot", description="Audit every user.")
    common(a, ["text", "json", "jsonl", "csv", "html"])
    a.add_argument("--out", metavar="FILE", help="write the report to FILE instead of standard output")

    c = sub.add_parser(
        "checks",
        help="list the diagnostic catalogue",
        description="List every check id with its one-line summary.",
    )
    c.add_argument("--lang", choices=["en", "de"], default="en")
    c.add_argument("--markdown", action="store_true", help="as a Markdown table (the README's catalogue)")

    sub.add_parser(
        "demo",
        help="a short guided tour over the bundled demo tenant",
        description="Guided tour over the demo tenant.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from bot.demo import run_demo

            return run_demo()
        if args.command == "checks":
            return cmd_checks(args)
        snapshot, at = open_source(args)
        if args.command == "diagnose":
            return cmd_diagnose(args, snapshot, at)
        if args.command == "why-cant-encrypt":
            return cmd_why(args, snapshot, at)
        return cmd_audit(args, snapshot, at)
    except InputError as exc:
        print(f"smime-doctor: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except SmimeDoctorError as exc:
        print(f"smime-doctor: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("smime-doctor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def open_source(args: argparse.Namespace) -> tuple[Any, datetime]:
    from workers.sources.snapshot import Snapshot

    directory = args.snapshot or os.environ.get("SMIME_DOCTOR_SNAPSHOT")
    if args.demo:
        from workers.demo_tenant import DATA_DIR

        directory = str(DATA_DIR)
    if not directory:
        raise InputError(
            "no source: pass --snapshot DIR (or --demo); live AD/Exchange Online sources are not configured"
        )
    snapshot = Snapshot(directory)
    if args.at:
        at = parse_time(args.at)
        if at is None:
            raise InputError(f"--at {args.at!r} is not an ISO 8601 date/time (e.g. 2026-11-20T06:00:00Z)")
    elif args.demo and snapshot.tenant.collected_at:
        at = snapshot.tenant.collected_at
    else:
        at = datetime.now(UTC)
    return snapshot, at


def _engine(snapshot: Any, at: datetime, args: argparse.Namespace) -> Any:
    from workers.diagnosis import Engine

    return Engine(snapshot.tenant, at, lang=args.lang, online=args.online)


def _console(stream: IO[str] | None = None) -> Console:
    return Console(file=stream or sys.stdout, highlight=False, soft_wrap=True)


def cmd_diagnose(args: argparse.Namespace, snapshot: Any, at: datetime) -> int:
    user = snapshot.find(args.user)
    engine = _engine(snapshot, at, args)
    report = engine.diagnose(user, args.user).to_json()
    engine.close()
    _emit(report, args)
    return EXIT_FAIL if report["verdict"] == "fail" else EXIT_OK


def cmd_why(args: argparse.Namespace, snapshot: Any, at: datetime) -> int:
    recipient = snapshot.find(args.recipient)
    sender = snapshot.sender(args.sender)
    engine = _engine(snapshot, at, args)
    report = engine.encrypt_to(recipient, sender, args.recipient, args.sender).to_json()
    engine.close()
    _emit(report, args)
    return EXIT_FAIL if report["verdict"] == "fail" else EXIT_OK


def _emit(report: dict[str, Any], args: argparse.Namespace) -> None:
    if args.format == "json":
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        from bot.render.text import render_report

        render_report(report, _console(), args.lang, args.verbose)


def cmd_checks(args: argparse.Namespace) -> int:
    from workers.checks import REGISTRY

    if args.markdown:
        print(catalogue_markdown())
        return EXIT_OK
    for spec in REGISTRY.values():
        print(f"{spec.id:34} {spec.summary[args.lang]}")
    return EXIT_OK


def catalogue_markdown() -> str:
    from workers.checks import REGISTRY

    rows = ["| id | scope | what it checks | auf Deutsch |", "| --- | --- | --- | --- |"]
    rows += [f"| `{s.id}` | {s.scope} | {s.summary['en']} | {s.summary['de']} |" for s in REGISTRY.values()]
    return "\n".join(rows)


# -- audit ------------------------------------------------------------------------------


def cmd_audit(args: argparse.Namespace, snapshot: Any, at: datetime) -> int:
    engine = _engine(snapshot, at, args)
    tenant = [f.to_json() for f in engine.tenant_findings()]
    out: IO[str] = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
    summary = _Summary()
    try:
        reports = (r.to_json() for r in engine.audit(_progress(snapshot, args)))
        writer = {
            "json": _audit_json,
            "jsonl": _audit_jsonl,
            "csv": _audit_csv,
            "html": _audit_html,
            "text": _audit_text,
        }[args.format]
        writer(out, reports, tenant, summary, at, args)
    finally:
        engine.close()
        if args.out:
            out.close()
    failed = summary.verdicts.get("fail", 0) > 0 or any(f["status"] == "fail" for f in tenant)
    return EXIT_FAIL if failed else EXIT_OK


def _progress(snapshot: Any, args: argparse.Namespace) -> Iterator[Any]:
    """Users, with a progress bar on stderr when it is a terminal."""
    users = snapshot.iter_users()
    if not sys.stderr.isatty():
        yield from users
        return
    from rich.progress import Progress

    with Progress(console=Console(file=sys.stderr), transient=True) as progress:
        task = progress.add_task("auditing", total=len(snapshot))
        for user in users:
            yield user
            progress.advance(task)


class _Summary:
    def __init__(self) -> None:
        self.users = 0
        self.verdicts: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()
        self.worst: list[dict[str, str]] = []

    def add(self, report: dict[str, Any]) -> dict[str, Any]:
        self.users += 1
        self.verdicts[report["verdict"]] += 1
        for check_id in {f["check"] for f in report["findings"] if f["status"] in ("fail", "warn")}:
            self.checks[check_id] += 1
        if report["verdict"] == "fail":
            s = report["subject"]
            self.worst.append(
                {"user": str(s.get("primary_smtp") or s.get("query")), "headline": report.get("headline", "")}
            )
        return report

    def to_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "verdicts": dict(self.verdicts),
            "checks": self.checks.most_common(),
            "worst_users": self.worst,
        }


def _audit_json(
    out: IO[str],
    reports: Iterator[dict[str, Any]],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
    args: argparse.Namespace,
) -> None:
    """One JSON object with a `reports` array, written incrementally so memory stays flat."""
    head = {
        "schema": 1,
        "kind": "audit",
        "evaluated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tenant": {"findings": tenant},
    }
    out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "reports": [\n')
    for i, report in enumerate(reports):
        out.write((",\n" if i else "") + json.dumps(summary.add(report), ensure_ascii=False))
    out.write('\n], "summary": ' + json.dumps(summary.to_json(), ensure_ascii=False) + "}\n")


def _audit_jsonl(
    out: IO[str],
    reports: Iterator[dict[str, Any]],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
    args: argparse.Namespace,
) -> None:
    out.write(
        json.dumps(
            {
                "schema": 1,
                "kind": "tenant",
                "evaluated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "findings": tenant,
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    for report in reports:
        out.write(json.dumps(summary.add(report), ensure_ascii=False) + "\n")


CSV_FIELDS = [
    "user",
    "primary_smtp",
    "verdict",
    "check",
    "status",
    "certificate",
    "title",
    "detail",
    "remedy",
]


def _audit_csv(
    out: IO[str],
    reports: Iterator[dict[str, Any]],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
    args: argparse.Namespace,
) -> None:
    """One row per failing/warning finding (what a spreadsheet triage needs); tenant rows first."""
    w = csv.DictWriter(out, fieldnames=CSV_FIELDS)
    w.writeheader()
    for f in tenant:
        if f["status"] in ("fail", "warn", "error"):
            w.writerow(
                {"user": "(tenant)", "primary_smtp": "", "verdict": "", **{k: f[k] for k in CSV_FIELDS[3:]}}
            )
    for report in reports:
        summary.add(report)
        s = report["subject"]
        for f in report["findings"]:
            if f["status"] in ("fail", "warn", "error"):
                w.writerow(
                    {
                        "user": s["query"],
                        "primary_smtp": s.get("primary_smtp") or "",
                        "verdict": report["verdict"],
                        **{k: f[k] for k in CSV_FIELDS[3:]},
                    }
                )


def _audit_html(
    out: IO[str],
    reports: Iterator[dict[str, Any]],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
    args: argparse.Namespace,
) -> None:
    e = html.escape
    out.write(
        "<!doctype html><html><head><meta charset='utf-8'><title>smime-doctor audit</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
        ".fail{color:#b00020}.warn{color:#a36b00}.pass{color:#1b7f3b}.info{color:#1565c0}</style></head><body>"
    )
    out.write(
        f"<h1>smime-doctor audit</h1><p>Evaluated at {e(at.strftime('%Y-%m-%d %H:%M UTC'))}</p><h2>Tenant</h2><ul>"
    )
    for f in tenant:
        out.write(
            f"<li class='{e(f['status'])}'><b>{e(f['title'])}</b> <code>{e(f['check'])}</code> — {e(f['detail'])} {e(f['remedy'])}</li>"
        )
    out.write(
        "</ul><h2>Users</h2><table><tr><th>User</th><th>Verdict</th><th>Answer</th><th>Problems</th></tr>"
    )
    for report in reports:
        summary.add(report)
        s = report["subject"]
        probs = "<br>".join(
            f"<span class='{e(f['status'])}'>{e(f['status'])}</span> {e(f['title'])} <code>{e(f['check'])}</code>"
            for f in report["findings"]
            if f["status"] in ("fail", "warn", "error")
        )
        out.write(
            f"<tr><td>{e(str(s.get('primary_smtp') or s['query']))}</td><td class='{e(report['verdict'])}'>{e(report['verdict'])}</td>"
            f"<td>{e(report.get('headline', ''))}</td><td>{probs}</td></tr>"
        )
    v = summary.verdicts
    out.write(
        f"</table><p>{summary.users} users: {v.get('fail', 0)} fail, {v.get('warn', 0)} warn, "
        f"{v.get('pass', 0) + v.get('info', 0)} ok.</p></body></html>\n"
    )


def _audit_text(
    out: IO[str],
    reports: Iterator[dict[str, Any]],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
    args: argparse.Namespace,
) -> None:
    from bot.render.text import render_audit_summary

    for report in reports:
        summary.add(report)
    render_audit_summary(summary.to_json(), tenant, _console(out), args.lang)


if __name__ == "__main__":
    sys.exit(main())
