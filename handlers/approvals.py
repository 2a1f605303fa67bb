"""Approval requests. For now a request is recorded and acknowledged; the state machine,
approvers' decisions and execution come with the approvals issue."""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any


class ApprovalLog:
    """Records "reset my published certs" requests (Redis hash when configured, else memory)."""

    def __init__(self, redis: Any = None, prefix: str = "smime") -> None:
        self.redis = redis
        self.prefix = prefix
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def open(self, action: str, requester: str, target: str, platform: str) -> str:
        request_id = "R-" + secrets.token_hex(4).upper()
        record = {
            "id": request_id,
            "action": action,
            "requester": requester,
            "target": target,
            "platform": platform,
            "state": "pending",
            "created": time.time(),
        }
        if self.redis is not None:
            self.redis.hset(f"{self.prefix}:approval:{request_id}", mapping={"record": json.dumps(record)})
            self.redis.zadd(f"{self.prefix}:approvals:pending", {request_id: record["created"]})
        else:
            with self._lock:
                self._memory[request_id] = record
        return request_id

    def get(self, request_id: str) -> dict[str, Any] | None:
        if self.redis is not None:
            raw = self.redis.hget(f"{self.prefix}:approval:{request_id}", "record")
            return json.loads(raw) if raw else None
        return self._memory.get(request_id)
