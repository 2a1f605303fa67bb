"""`smime-doctor check-config`: is the configuration usable, and is every configured service reachable?"""

from __future__ import annotations

import os
from collections.abc import Iterator

from workers.config import Settings
from workers.errors import SmimeDoctorError, admin_text
from workers.roles import RoleBook
from workers.sources.ad import AdSettings, AdSource
from workers.sources.directory import directory_for
from workers.sources.live import M365Settings
from workers.sources.snapshot import Snapshot
from workers.worker import _redact


def check_all(settings: Settings) -> Iterator[tuple[str, str]]:
    """(status, sentence) pairs; status is ok, warn or fail."""
    yield "ok", f"configuration read (language {settings.lang}, job timeout {settings.job_timeout_s} s)"
    if settings.snapshot and not settings.demo:
        try:
            snap = Snapshot(settings.snapshot)
            yield (
                "ok",
                f"snapshot {settings.snapshot}: {len(snap)} recipients, files: {', '.join(sorted(snap.available))}",
            )
        except SmimeDoctorError as exc:
            yield "fail", f"snapshot: {exc}"
    else:
        yield "ok", "source: the bundled demo tenant (set SMIME_DOCTOR_SNAPSHOT for your own snapshot)"
    if settings.redis_url:
        try:
            from redis import Redis  # deferred: Redis is optional (the embedded mode runs without it)

            r = Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=3)
            r.ping()
            aof = r.config_get("appendonly").get("appendonly")
            yield "ok", f"Redis {_redact(settings.redis_url)} reachable"
            if aof != "yes":
                yield (
                    "warn",
                    "Redis runs without AOF (appendonly no): queued jobs, pending answers and approvals are lost on a restart",
                )
        except Exception as exc:
            yield (
                "fail",
                f"Redis {_redact(settings.redis_url)} cannot be reached ({type(exc).__name__}: {str(exc)[:120]})",
            )
    else:
        yield (
            "ok",
            "no Redis configured: jobs run in-process (fine for one bot, not for workers on other hosts)",
        )
    yield from _live_sources()
    roles = settings.roles
    counts = {
        r: len(getattr(roles, r).users) + len(getattr(roles, r).groups)
        for r in ("helpdesk", "approver", "admin")
    }
    if not counts["helpdesk"] and not counts["admin"]:
        yield (
            "warn",
            "no helpdesk or admin configured (roles.helpdesk / roles.admin): nobody can look at other users",
        )
    else:
        yield "ok", "roles: " + ", ".join(f"{r} {n}" for r, n in counts.items())
    if any(getattr(roles, r).groups for r in ("helpdesk", "approver", "admin")):
        yield from _role_groups(settings)


def _role_groups(settings: Settings) -> Iterator[tuple[str, str]]:
    """Every configured role group must name exactly one security group in the directory."""

    try:
        problems = RoleBook(settings.roles, directory_for(settings)).check()
    except SmimeDoctorError as exc:
        yield "warn", f"roles: the directory could not be asked about role groups ({admin_text(exc)})"
        return
    for problem in problems:
        yield "fail", problem
    if not problems:
        yield "ok", "roles: every configured group is exactly one security group"


def _live_sources() -> Iterator[tuple[str, str]]:
    """Sign in to each configured live source once (a bind, a token) and say what failed."""

    if os.environ.get("SMIME_DOCTOR_AD_SERVERS"):
        try:
            with AdSource(AdSettings.from_env()) as ad:
                config = ad.read_config()
            yield "ok", f"Active Directory reachable ({len(config.templates)} certificate templates readable)"
        except SmimeDoctorError as exc:
            yield "fail", f"Active Directory: {admin_text(exc)}"
    try:
        m365 = M365Settings.from_env()
    except SmimeDoctorError as exc:
        yield "fail", f"Microsoft 365 settings: {exc}"
        return
    if m365 is not None:
        try:
            exchange, graph = m365.sources()
            graph.get_organization()
            exchange.get_smime_config()
            yield (
                "ok",
                f"Microsoft 365 tenant {m365.tenant}: signed in as app {m365.client_id}, Graph and Exchange Online answer",
            )
        except (SmimeDoctorError, OSError) as exc:
            yield "fail", f"Microsoft 365: {admin_text(exc)}"
