"""`smime-doctor`: the command line (docs/snapshot.md §3 is its contract).

Exit codes: 0 no failing finding, 1 at least one `fail`, 2 the input could not be used
(one line on stderr says why).

Each command imports what it needs inside its function: `--help`, `check-config` or `worker`
must not pay for loading the engine, the chat SDKs or the live sources they do not use.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from rich.console import Console

from workers.errors import InputError, SmimeDoctorError
from workers.outbox import dead_letter_stream
from workers.report import AuditSummary, Report
from workers.timestamps import parse_time

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
            help="offline snapshot directory (docs/export.md); default $SMIME_DOCTOR_SNAPSHOT",
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
    c.add_argument("--markdown", action="store_true", help="as a Markdown table (the summaries)")

    sub.add_parser(
        "demo",
        help="a short guided tour over the bundled demo tenant",
        description="Guided tour over the demo tenant.",
    )

    ch = sub.add_parser(
        "chat",
        help="talk to the bot in the terminal (the console transport)",
        description="Chat with the bot as USER, through the same handlers, queue and delivery as Slack and Teams.",
    )
    ch.add_argument(
        "--as",
        dest="as_user",
        required=True,
        metavar="USER",
        help="who you are in the directory (address, UPN or account name)",
    )
    ch.add_argument(
        "--snapshot",
        metavar="DIR",
        help="snapshot directory (default: $SMIME_DOCTOR_SNAPSHOT, else the demo tenant)",
    )
    ch.add_argument("--lang", choices=["en", "de"], help="answer language when the wording does not tell")
    ch.add_argument(
        "--script", metavar="FILE", help="read the lines from FILE ('-' = stdin) instead of a prompt"
    )
    ch.add_argument(
        "--format",
        choices=["text", "jsonl"],
        default="text",
        help="jsonl (with --script): one JSON object per input line — input, intent, subject, sender, "
        "request_id, focus, lang, reply, text (docs/chat.md)",
    )
    ch.add_argument(
        "--redis",
        metavar="URL",
        help="queue jobs on RQ workers via this Redis (default: $SMIME_DOCTOR_REDIS_URL, else in-process)",
    )

    wk = sub.add_parser(
        "worker", help="run an RQ worker (queues: interactive, then bulk)", description="Run one RQ worker."
    )
    wk.add_argument("--redis", metavar="URL", help="default: $SMIME_DOCTOR_REDIS_URL")
    wk.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    wk.add_argument("--name", help="worker name (default: generated)")
    wk.add_argument(
        "--fork", action="store_true", help="run each job in a forked work-horse (isolation over latency)"
    )

    sl = sub.add_parser(
        "slack", help="run the Slack bot (Socket Mode, or --http)", description="Run the Slack bot."
    )
    sl.add_argument(
        "--http", action="store_true", help="serve signed requests at /slack/events instead of Socket Mode"
    )
    sl.add_argument("--port", type=int, default=3000, help="HTTP mode port (default 3000)")

    tm = sub.add_parser(
        "teams", help="run the Microsoft Teams bot", description="Run the Teams bot at /api/messages."
    )
    tm.add_argument("--port", type=int, default=3978, help="listen port (default 3978)")
    tm.add_argument(
        "--emulator",
        action="store_true",
        help="accept unauthenticated activities on 127.0.0.1 (local testing only)",
    )
    tm.add_argument("--host", help="listen address (default 0.0.0.0; --emulator: 127.0.0.1)")

    al = sub.add_parser(
        "audit-log",
        help="the approval audit trail: requests, decisions, executions, undos",
        description="Show the audit trail (Redis stream, or the JSON-lines file when only that is configured).",
    )
    al.add_argument("--user", metavar="X", help="only records about this user (as target or requester)")
    al.add_argument("--since", metavar="ISO8601", help="only records at or after this time")
    al.add_argument("--format", choices=["text", "json"], default="text")

    sn = sub.add_parser(
        "snapshot",
        help="export a snapshot from the live sources (AD, Exchange Online, Entra ID)",
        description="Write the snapshot files (docs/snapshot.md) from the configured live sources, for offline use or to share.",
    )
    sn.add_argument("--out", required=True, metavar="DIR", help="folder to write (created if missing)")

    sub.add_parser(
        "check-config",
        help="validate the configuration and reach every configured service",
        description="Validate configuration and reachability; exit 0 unless something is unusable.",
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
        if args.command == "chat":
            return cmd_chat(args)
        if args.command == "worker":
            return cmd_worker(args)
        if args.command == "check-config":
            return cmd_check_config()
        if args.command == "snapshot":
            return cmd_snapshot(args)
        if args.command == "audit-log":
            return cmd_audit_log(args)
        if args.command == "slack":
            from bot.slack import run_slack
            from workers.config import load_settings

            return run_slack(load_settings(), http=args.http, port=args.port)
        if args.command == "teams":
            from bot.teams import run_teams
            from workers.config import load_settings

            return run_teams(load_settings(), args.port, args.emulator, args.host)
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
    if directory:
        snapshot: Any = Snapshot(directory)
    else:
        from workers.sources.live import live_from_env

        live = live_from_env()
        if live is None:
            raise InputError(
                "no source: pass --snapshot DIR (or --demo), or configure live sources "
                "(SMIME_DOCTOR_AD_SERVERS, SMIME_DOCTOR_M365_TENANT — see docs/ad.md and docs/m365.md)"
            )
        # An audit reads everyone with paged bulk calls; a diagnosis asks the sources for one user.
        snapshot = live.collect() if args.command == "audit" else live
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
    """Text answers wrap at word boundaries at the terminal's width ($COLUMNS, else 80 when not a
    terminal); a file written with --out is not wrapped. NO_COLOR is honoured (rich)."""
    if stream is not None:
        return Console(file=stream, highlight=False, soft_wrap=True)
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


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


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.console import run_chat
    from workers.config import load_settings

    if args.format == "jsonl" and not args.script:
        print("smime-doctor chat: --format jsonl needs --script FILE (or '-' for stdin)", file=sys.stderr)
        return EXIT_INPUT
    settings = load_settings(snapshot=args.snapshot, redis_url=args.redis)
    return run_chat(settings, args.as_user, args.lang, args.script, args.format)


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.config import load_settings
    from workers.worker import run_worker

    return run_worker(load_settings(redis_url=args.redis), burst=args.burst, name=args.name, fork=args.fork)


def cmd_audit_log(args: argparse.Namespace) -> int:
    from workers.audit import AuditTrail
    from workers.config import load_settings

    settings = load_settings()
    if not settings.redis_url and not settings.audit_log_file:
        raise InputError(
            "no audit trail configured: set SMIME_DOCTOR_REDIS_URL (or SMIME_DOCTOR_AUDIT_LOG_FILE)"
        )
    redis = None
    if settings.redis_url:
        from redis import Redis

        redis = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=5)
    target = None
    if args.user:
        from workers.sources.directory import directory_for

        target = directory_for(settings).user(directory_for(settings).resolve(args.user)).key
    since = None
    if args.since:
        at = parse_time(args.since)
        if at is None:
            raise InputError(f"--since {args.since!r} is not an ISO 8601 date/time")
        since = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    trail = AuditTrail(redis, settings.key_prefix, settings.audit_log_file)
    try:
        entries = list(trail.entries(target, since))
        # answers that could not be delivered (not tied to a user: listed without --user)
        dead = _dead_letter_records(redis, settings.outbox_stream, since) if redis and not target else []
    except Exception as exc:  # Redis unreachable: one sentence, exit 2
        raise InputError(f"the audit trail cannot be read ({type(exc).__name__})") from None
    if args.format == "json":
        json.dump(entries + dead, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for e in entries:
            actors = f" by {', '.join(e['actors'])}" if e.get("actors") else ""
            print(
                f"{e['at']}  {e['event']:<16} {e['action']:<22} {e['request']}  target={e['target']} "
                f"requester={e['requester']} state={e['state']}{actors}"
            )
        if dead:
            print(
                f"undelivered answers (dead letters in {dead_letter_stream(settings.outbox_stream)}): {len(dead)}"
            )
        for d in dead:
            print(
                f"{d['at']}  {d['event']} {d['delivery_id']}  target={d['target']} "
                f"attempts={d['attempts']} error={d['error']}"
            )
        if not entries and not dead:
            print("no matching records")
    return EXIT_OK


def _dead_letter_records(redis: Any, stream: str, since: str | None) -> list[dict[str, Any]]:
    """The outbox's dead letters as audit-log records (same keys as approval events, and more)."""
    from workers.outbox import dead_letters

    records = []
    for d in dead_letters(redis, stream):
        if since and d["at"] < since:
            continue
        message = d["message"]
        answer = message.get("answer") or {}
        target = message.get("target") or {}
        records.append(
            {
                "at": d["at"],
                "event": "delivery_dead_lettered",
                "action": "",
                "request": answer.get("request_id") or (answer.get("request") or {}).get("id") or "",
                "target": f"{target.get('platform', '?')}:{target.get('target_id') or target.get('channel') or ''}",
                "requester": "",
                "state": "dead_letter",
                "delivery_id": message.get("delivery_id"),
                "attempts": d["attempts"],
                "error": d["error"],
                "entry": d["entry"],
            }
        )
    return records


def cmd_snapshot(args: argparse.Namespace) -> int:
    """The collector: a live tenant and its snapshot must give the same answers."""
    from pathlib import Path

    from workers.sources.live import live_from_env

    live = live_from_env()
    if live is None:
        raise InputError("no live source configured (SMIME_DOCTOR_AD_SERVERS, SMIME_DOCTOR_M365_TENANT)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    collected = datetime.now(UTC)
    if live.ad is not None:
        from workers.sources.ad_collect import write_ad_snapshot

        write_ad_snapshot(live.ad, out)
    if live.exchange is not None:
        from workers.sources.cloud_collect import write_cloud_snapshot

        write_cloud_snapshot(live.exchange, live.graph, out)
    meta = {
        "collected_at": collected.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sync_interval_minutes": live.sync_interval_minutes,
    }
    (out / "snapshot.json").write_text(json.dumps(meta, indent=2) + "\n")
    live.close()
    print(f"snapshot written to {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    return EXIT_OK


def cmd_check_config() -> int:
    from workers.config import load_settings
    from workers.health import check_all

    failed = False
    settings = load_settings()
    for status, line in [*check_all(settings), *_dead_letter_check(settings)]:
        print(f"{status:5} {line}")
        failed |= status == "fail"
    return EXIT_INPUT if failed else EXIT_OK


def _dead_letter_check(settings: Any) -> Iterator[tuple[str, str]]:
    """How many answers ended in the outbox's dead-letter stream (warn when any)."""
    if not settings.redis_url:
        return
    try:
        from redis import Redis

        r = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
        count = int(r.xlen(dead_letter_stream(settings.outbox_stream)))
    except Exception:  # Redis unreachable: check_all said so already
        return
    where = dead_letter_stream(settings.outbox_stream)
    if count:
        yield (
            "warn",
            f"{count} answer(s) could not be delivered after {settings.outbox_max_attempts} attempts; "
            f"they wait in {where} (smime-doctor audit-log lists them)",
        )
    else:
        yield "ok", f"no undeliverable answers ({where} is empty)"


def catalogue_markdown() -> str:
    from workers.checks import REGISTRY

    rows = ["| id | scope | what it checks | auf Deutsch |", "| --- | --- | --- | --- |"]
    rows += [f"| `{s.id}` | {s.scope} | {s.summary['en']} | {s.summary['de']} |" for s in REGISTRY.values()]
    return "\n".join(rows)


# -- audit ------------------------------------------------------------------------------


def cmd_audit(args: argparse.Namespace, snapshot: Any, at: datetime) -> int:
    engine = _engine(snapshot, at, args)
    tenant = [f.to_json() for f in engine.tenant_findings()]
    summary = _Summary()
    # The loaded snapshot lives until exit: keep the cyclic collector from scanning it again
    # and again while users are audited (and, in forked workers, from touching — and so
    # copying — the pages they inherited).
    gc.freeze()
    try:
        if args.format in ("json", "jsonl"):
            # JSON is written as UTF-8 bytes straight from orjson (no str round trip)
            workers = _audit_workers(args, snapshot)
            if workers > 1:
                lines = _parallel_lines(snapshot, engine, workers)
            else:
                lines = (_serialized(r) for r in engine.audit(_progress(snapshot, args)))
            with _binary_out(args.out) as bout:
                (_audit_json if args.format == "json" else _audit_jsonl)(bout, lines, tenant, summary, at)
        else:
            reports = (r.to_json() for r in engine.audit(_progress(snapshot, args)))
            writer = {"csv": _audit_csv, "html": _audit_html, "text": _audit_text}[args.format]
            out: IO[str] = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout  # noqa: SIM115
            try:
                writer(out, reports, tenant, summary, at, args)
            finally:
                if args.out:
                    out.close()
    finally:
        engine.close()
    failed = summary.verdicts.get("fail", 0) > 0 or any(f["status"] == "fail" for f in tenant)
    return EXIT_FAIL if failed else EXIT_OK


@contextlib.contextmanager
def _binary_out(path: str | None) -> Iterator[IO[bytes]]:
    """The --out file opened for bytes, or standard output's byte stream."""
    if path:
        with open(path, "wb") as fh:
            yield fh
        return
    sys.stdout.flush()
    yield sys.stdout.buffer
    sys.stdout.buffer.flush()


# -- parallel audit (json/jsonl) ---------------------------------------------------------
# Users are independent once the snapshot is loaded, so a large offline audit runs them in
# forked worker processes (which inherit the snapshot, the engine and the tenant facts) in
# chunks, and writes the serialized reports in the original order: the output is the same
# bytes. A chunk is only a range of positions: the worker reads those entries from its
# inherited copy, so nothing is pickled on the way in. Reading them still writes reference
# counts, which copies the pages holding them into that worker (copy-on-write); a worker
# is therefore replaced after _CHUNKS_PER_WORKER chunks, and its copies go with it. (When
# the parent pickled every entry for the workers instead, it copied nearly the whole
# snapshot into itself over an audit: +0.5 GB peak at 100,000 users.)

PARALLEL_MIN_USERS = 2000
_CHUNK = 200
_CHUNKS_PER_WORKER = 25
_WORKER_STATE: tuple[Any, Any, list[Any]] | None = None  # (snapshot, engine, entries), inherited

# (JSON of one report as UTF-8, the part of it the summary needs)
_Line = tuple[bytes, tuple[str, list[str], dict[str, str] | None]]


def _audit_workers(args: argparse.Namespace, snapshot: Any) -> int:
    """How many processes audit users: 1 unless the audit is large, offline and fork is available."""
    import multiprocessing

    wanted = os.environ.get("SMIME_DOCTOR_WORKERS")
    count = int(wanted) if wanted and wanted.isdigit() else (os.cpu_count() or 1)
    if (
        args.online
        or len(snapshot) < PARALLEL_MIN_USERS
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        return 1
    return max(1, min(count, 8))


def _serialized(report: Report) -> _Line:
    return report.to_json_bytes(), _Summary.parts(report)


def _worker_init() -> None:
    assert _WORKER_STATE is not None
    _WORKER_STATE[1].trust.after_fork()


def _audit_chunk(positions: tuple[int, int]) -> list[_Line]:
    assert _WORKER_STATE is not None
    snapshot, engine, entries = _WORKER_STATE
    return [
        _serialized(engine.diagnose(snapshot.facts_of(e), include_tenant=False))
        for e in entries[positions[0] : positions[1]]
    ]


def _parallel_lines(snapshot: Any, engine: Any, workers: int) -> Iterator[_Line]:
    import multiprocessing

    global _WORKER_STATE
    entries = list(snapshot.entries.values())
    chunks = ((i, min(i + _CHUNK, len(entries))) for i in range(0, len(entries), _CHUNK))
    _WORKER_STATE = (snapshot, engine, entries)
    progress = None
    if sys.stderr.isatty():
        from rich.progress import Progress

        progress = Progress(console=Console(file=sys.stderr), transient=True)
        progress.start()
        task = progress.add_task("auditing", total=len(entries))
    try:
        with multiprocessing.get_context("fork").Pool(
            workers, initializer=_worker_init, maxtasksperchild=_CHUNKS_PER_WORKER
        ) as pool:
            for lines in pool.imap(_audit_chunk, chunks):
                yield from lines
                if progress is not None:
                    progress.advance(task, len(lines))
    finally:
        _WORKER_STATE = None
        if progress is not None:
            progress.stop()


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


_Summary = AuditSummary  # the name the audit writers use


def _audit_json(
    out: IO[bytes],
    lines: Iterator[_Line],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
) -> None:
    """One JSON object with a `reports` array, written incrementally so memory stays flat."""
    head = {
        "schema": 1,
        "kind": "audit",
        "evaluated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tenant": {"findings": tenant},
    }
    out.write(_json_bytes(head)[:-1] + b', "reports": [\n')
    for i, (data, parts) in enumerate(lines):
        summary.add_parts(*parts)
        if i:
            out.write(b",\n")
        out.write(data)
    out.write(b'\n], "summary": ' + _json_bytes(summary.to_json()) + b"}\n")


def _audit_jsonl(
    out: IO[bytes],
    lines: Iterator[_Line],
    tenant: list[dict[str, Any]],
    summary: _Summary,
    at: datetime,
) -> None:
    head = {
        "schema": 1,
        "kind": "tenant",
        "evaluated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "findings": tenant,
    }
    out.write(_json_bytes(head) + b"\n")
    for data, parts in lines:
        summary.add_parts(*parts)
        out.write(data)
        out.write(b"\n")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


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
    from bot.render.html import write_audit_html  # summary first, then the rows (docs/cli.md)

    write_audit_html(out, reports, tenant, summary, at, args.lang)


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
