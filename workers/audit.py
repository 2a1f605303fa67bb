"""The audit trail: every approval event as an append-only structured record.

Records go to a Redis stream (for "history of alice" and `smime-doctor audit-log`) and, when
configured, to a JSON-lines file a SIEM can tail. Records carry ids and digests, never secrets.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STREAM = "audit"


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class AuditTrail:
    def __init__(self, redis: Any = None, prefix: str = "smime", file: str | None = None) -> None:
        self.redis = redis
        self.stream = f"{prefix}:{STREAM}"
        self.file = Path(file) if file else None
        self._memory: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, event: str, request: Any) -> dict[str, Any]:
        plan = getattr(request, "plan", {}) or {}
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
            "plan_digest": plan.get("digest"),
            "before_digest": digest(plan.get("before")) if plan.get("before") else None,
            "after_digest": digest(request.result.get("after"))
            if request.result and request.result.get("after")
            else None,
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
