"""The audit trail: every approval event as an append-only structured record.

Records go to a Redis stream (for "history of alice" and `smime-doctor audit-log`) and, when
configured, to a JSON-lines file a SIEM can tail. Records carry ids and digests, never secrets
and never certificate values: the full before-state of a change (what undo needs) is a backup,
kept in Redis and in an owner-only folder apart from the trail (`write_backup`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workers.keys import Keys
from workers.plan_types import Plan, values_json

STREAM = "audit"


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class AuditTrail:
    def __init__(self, redis: Any = None, prefix: str = "smime", file: str | None = None) -> None:
        self.redis = redis
        self.stream = Keys(prefix).audit
        self.file = Path(file) if file else None
        self._memory: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, event: str, request: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one event; ``extra`` adds fields (ids and digests only, never values)."""
        plan: Plan | None = getattr(request, "plan", None)
        entry = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "event": event,
            "request": request.id,
            "action": request.action,
            "requester": request.requester,
            "target": request.target,
            "platform": request.platform,
            "state": request.state,
            "actors": [d["actor"] for d in request.decisions],
            # who, as directory identity (workers/people.py) and as the platform account that acted
            "requester_id": (getattr(request, "requester_ids", None) or [None])[0],
            "requester_via": list(getattr(request, "requester_via", None) or []),
            "deciders": [
                {k: d.get(k) for k in ("person", "platform", "platform_user", "approve")}
                for d in request.decisions
            ],
            "plan_digest": plan.digest if plan is not None else None,
            "before_digest": digest(values_json(plan.before)) if plan is not None and plan.before else None,
            "after_digest": digest(request.result.get("after"))
            if request.result and request.result.get("after")
            else None,
            **(extra or {}),
        }
        line = json.dumps(entry, ensure_ascii=False)
        if self.redis is not None:
            self.redis.xadd(self.stream, {"e": line})
        else:
            with self._lock:
                self._memory.append(entry)
        if self.file is not None:
            with self._lock, self.file.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        return entry

    def entries(self, target: str | None = None, since: str | None = None) -> Iterator[dict[str, Any]]:
        """Records about `target` (as target or requester), at or after `since` (ISO 8601 UTC), oldest first.
        Read from Redis, or — when only the file sink is configured — from the JSON-lines file."""
        for entry in self._all():
            if target is not None and target not in (entry.get("target"), entry.get("requester")):
                continue
            if since is not None and str(entry.get("at", "")) < since:
                continue
            yield entry

    def _all(self) -> Iterator[dict[str, Any]]:
        if self.redis is not None:
            for _, fields in self.redis.xrange(self.stream):
                raw = fields.get(b"e") or fields.get("e")
                if raw:
                    yield json.loads(raw)
        elif self.file is not None and self.file.exists():
            with self.file.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)
        else:
            yield from list(self._memory)


# -- backups: the full before-state, apart from the trail ------------------------------------

DIR_MODE, FILE_MODE = 0o700, 0o600


def backup_dir(audit_log_file: str | None, configured: str | None) -> Path | None:
    """Where backups go: the configured folder, else ``<audit file name>-backups`` next to the
    audit file, else nowhere (Redis only)."""
    if configured:
        return Path(configured)
    if audit_log_file:
        audit = Path(audit_log_file)
        return audit.with_name(f"{audit.stem}-backups")
    return None


def _private_dir(directory: Path) -> None:
    """Create ``directory`` owner-only (mode set explicitly: the umask does not matter), or
    tighten it; a symlink or non-directory in its place is refused."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory, DIR_MODE)
    st = os.lstat(directory)
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(f"{directory} is not a directory")
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(directory, DIR_MODE)


def write_backup(directory: Path, request_id: str, record: dict[str, Any]) -> Path:
    """Write one request's backup as ``<directory>/<request id>.json``, mode 0600 in a 0700 folder.

    Written to a fresh temporary file (O_EXCL, no symlink followed) and renamed into place, so a
    reader never sees half a backup and nobody else ever can read it.
    """
    if not request_id or "/" in request_id or request_id.startswith("."):
        raise ValueError(f"not a request id: {request_id!r}")
    _private_dir(directory)
    final = directory / f"{request_id}.json"
    temporary = directory / f".{request_id}.{os.getpid()}.{threading.get_ident()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temporary, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # the umask may have taken bits away; never added any
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            json.dump(record, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, final)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return final


def values_digest(values: dict[str, list[str]]) -> dict[str, list[str]]:
    """sha256 of each base64 value, per attribute: what the trail may say about a backup."""
    return {
        a: sorted(hashlib.sha256(base64.b64decode(v)).hexdigest() for v in vs) for a, vs in values.items()
    }
