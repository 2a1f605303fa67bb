"""Approval requests in Redis (or memory): the record, and its compare-and-set transitions.

The bot (handlers/approvals.py) opens and decides requests; the workers
(workers/remediation/execute.py) move approved → executing → done | failed. Both use this
storage, so every transition is one compare-and-set (Redis WATCH/MULTI, or a lock in memory)
wherever it happens: a double click, two approvers racing, or a retried execution job yield
exactly one decision and one execution.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from workers.keys import Keys
from workers.plan_types import Plan

STATES = ("pending", "approved", "denied", "expired", "executing", "done", "failed")
FINAL = {"denied", "expired", "done", "failed"}

# Which role may approve an action, and how many distinct approvals it needs.
APPROVER_ROLE = {"upload_issuing_ca": "admin"}
REQUIRED_APPROVALS = {"upload_issuing_ca": 2}


@dataclass
class ApprovalRequest:
    id: str
    action: str  # prune_certificates, clear_smime_attribute, reset_published, undo, ...
    requester: str  # directory key of who asked
    target: str  # directory key of whose objects change (or "(tenant)")
    plan: Plan  # what will change, with the before-state (workers/plan_types.py, workers/remediation)
    notify: dict[str, Any]  # where the requester is told of each state change (an outbox target)
    platform: str
    created: float
    expires: float
    state: str = "pending"
    # {actor (lookup key), person (canonical id), ids, platform, platform_user, display, approve, at}
    decisions: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    requester_ids: list[str] = field(default_factory=list)  # canonical id first (workers/people.py)
    requester_via: list[str] = field(default_factory=list)  # [platform, platform user id] that asked

    @property
    def requester_identity(self) -> list[str]:
        """Who asked, as comparable ids (records from before canonical ids carry only the key)."""
        return self.requester_ids or [f"key:{self.requester.lower()}"]

    @property
    def approver_role(self) -> str:
        return APPROVER_ROLE.get(self._rule_action, "approver")

    @property
    def required(self) -> int:
        return REQUIRED_APPROVALS.get(self._rule_action, 1)

    @property
    def _rule_action(self) -> str:
        """Undoing a tenant-wide change needs the same approvals as making it."""
        if self.action == "undo":
            return self.plan.undoes_action or self.action
        return self.action

    def to_json(self) -> dict[str, Any]:
        """The record as it is stored (Redis, memory) and sent to the approvers: every field in
        order, the plan as its JSON (workers/plan_types.py Plan.to_json)."""
        return {
            f.name: self.plan.to_json() if f.name == "plan" else copy.deepcopy(getattr(self, f.name))
            for f in fields(self)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApprovalRequest:
        """A stored record (any version's): MalformedPlan when its plan cannot be read."""
        return cls(**{**data, "plan": Plan.from_json(data.get("plan"))})


def decision_identity(decision: dict[str, Any]) -> list[str]:
    """Who decided, as comparable ids (see ApprovalRequest.requester_identity)."""
    return list(decision.get("ids") or [f"key:{str(decision.get('actor', '')).lower()}"])


def valid_request_id(request_id: Any) -> bool:
    return isinstance(request_id, str) and request_id.startswith("R-") and len(request_id) <= 64


class ApprovalStore:
    """Storage and the transitions a worker makes. `on_change(request, event)` is called after
    every committed transition (notifications and the audit trail)."""

    def __init__(
        self,
        redis: Any = None,
        prefix: str = "smime",
        on_change: Callable[[ApprovalRequest, str], None] | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.on_change = on_change
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- storage --------------------------------------------------------------------------
    def _key(self, request_id: str) -> str:
        return self.keys.approval(request_id)

    def get(self, request_id: str) -> ApprovalRequest | None:
        if not valid_request_id(request_id):
            return None
        raw = (
            self.redis.get(self._key(request_id)) if self.redis is not None else self._memory.get(request_id)
        )
        return ApprovalRequest.from_json(json.loads(raw)) if raw else None

    def _cas(
        self, request_id: str, change: Callable[[ApprovalRequest], ApprovalRequest | None]
    ) -> ApprovalRequest | None:
        """Apply `change` atomically; it returns the new record, or None to leave it as it is."""
        if self.redis is None:
            with self._lock:
                current = self.get(request_id)
                if current is None:
                    return None
                new = change(current)
                if new is not None:
                    self._memory[request_id] = json.dumps(new.to_json())
                return new
        from redis.exceptions import (
            WatchError,  # deferred: Redis is optional (the embedded mode runs without it)
        )

        key = self._key(request_id)
        for _ in range(20):
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    new = change(ApprovalRequest.from_json(json.loads(raw)))
                    if new is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, json.dumps(new.to_json()))
                    if new.state in FINAL:
                        pipe.zrem(self.keys.pending_approvals, request_id)
                    pipe.execute()
                    return new
                except WatchError:
                    continue  # someone else changed it first: re-read and decide again
        raise RuntimeError("approval record is too contended")

    # -- execution ------------------------------------------------------------------------
    def start_execution(self, request_id: str) -> ApprovalRequest | None:
        """approved → executing (exactly once); None if it is not approved any more."""

        def go(r: ApprovalRequest) -> ApprovalRequest | None:
            if r.state != "approved":
                return None
            r.state = "executing"
            return r

        r = self._cas(request_id, go)
        if r is not None:
            self._changed(r, "executing")
        return r

    def finish(
        self, request_id: str, ok: bool, result: dict[str, Any], back_to_approved: bool = False
    ) -> ApprovalRequest | None:
        """executing → done | failed, or back to approved when a source was unreachable (retry later)."""

        def end(r: ApprovalRequest) -> ApprovalRequest | None:
            if r.state != "executing":
                return None
            r.state = "approved" if back_to_approved else ("done" if ok else "failed")
            r.result = result
            return r

        r = self._cas(request_id, end)
        if r is not None:
            self._changed(r, "retry_later" if back_to_approved else r.state)
        return r

    def _changed(self, request: ApprovalRequest, event: str) -> None:
        if self.on_change is not None:
            self.on_change(request, event)
