"""Approval requests: nothing destructive happens without a second person's decision.

A request moves pending → approved | denied | expired → executing → done | failed. Every
transition is a compare-and-set (Redis WATCH/MULTI, or a lock in memory), so a double click
or two approvers racing yield exactly one decision and one execution. The id on buttons is
an opaque random token; who clicked always comes from the platform payload, never the button.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from handlers.identity import Person
from handlers.policy import Policy

STATES = ("pending", "approved", "denied", "expired", "executing", "done", "failed")
FINAL = {"denied", "expired", "done", "failed"}
DEFAULT_TTL_S = 24 * 3600

# Which role may approve an action, and how many distinct approvals it needs.
APPROVER_ROLE = {"upload_issuing_ca": "admin"}
REQUIRED_APPROVALS = {"upload_issuing_ca": 2}


@dataclass
class ApprovalRequest:
    id: str
    action: str  # prune_certificates, clear_smime_attribute, reset_published, ...
    requester: str  # directory key of who asked
    target: str  # directory key of whose objects change (or "(tenant)")
    plan: dict[str, Any]  # what will change, with the before-state (see workers/remediation)
    notify: dict[str, Any]  # where the requester is told of each state change (an outbox target)
    platform: str
    created: float
    expires: float
    state: str = "pending"
    decisions: list[dict[str, Any]] = field(default_factory=list)  # {actor, display, approve, at}
    result: dict[str, Any] | None = None

    @property
    def approver_role(self) -> str:
        return APPROVER_ROLE.get(self.action, "approver")

    @property
    def required(self) -> int:
        return REQUIRED_APPROVALS.get(self.action, 1)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    state: str | None
    message: dict[str, str]  # en/de sentence for the clicker
    request: ApprovalRequest | None = None


def _msg(en: str, de: str) -> dict[str, str]:
    return {"en": en, "de": de}


class Approvals:
    """The state machine. `on_change(request, event)` is called after every committed transition
    (to notify the requester and approvers and to write the audit trail)."""

    def __init__(
        self,
        policy: Policy,
        redis: Any = None,
        prefix: str = "smime",
        ttl_s: int = DEFAULT_TTL_S,
        on_change: Callable[[ApprovalRequest, str], None] | None = None,
    ) -> None:
        self.policy = policy
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.on_change = on_change
        self._memory: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- storage --------------------------------------------------------------------------
    def _key(self, request_id: str) -> str:
        return f"{self.prefix}:approval:{request_id}"

    def get(self, request_id: str) -> ApprovalRequest | None:
        if not isinstance(request_id, str) or not request_id.startswith("R-") or len(request_id) > 64:
            return None
        raw = (
            self.redis.get(self._key(request_id)) if self.redis is not None else self._memory.get(request_id)
        )
        return ApprovalRequest(**json.loads(raw)) if raw else None

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
        from redis.exceptions import WatchError

        key = self._key(request_id)
        for _ in range(20):
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    new = change(ApprovalRequest(**json.loads(raw)))
                    if new is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, json.dumps(new.to_json()))
                    if new.state in FINAL:
                        pipe.zrem(f"{self.prefix}:approvals:pending", request_id)
                    pipe.execute()
                    return new
                except WatchError:
                    continue  # someone else changed it first: re-read and decide again
        raise RuntimeError("approval record is too contended")

    # -- operations -----------------------------------------------------------------------
    def open(
        self,
        action: str,
        requester: Person,
        target: str,
        plan: dict[str, Any],
        notify: dict[str, Any],
        platform: str,
    ) -> ApprovalRequest:
        now = time.time()
        request = ApprovalRequest(
            id="R-" + secrets.token_urlsafe(12),
            action=action,
            requester=requester.key,
            target=target,
            plan=plan,
            notify=notify,
            platform=platform,
            created=now,
            expires=now + self.ttl_s,
        )
        body = json.dumps(request.to_json())
        if self.redis is not None:
            pipe = self.redis.pipeline()
            pipe.set(self._key(request.id), body)
            pipe.zadd(f"{self.prefix}:approvals:pending", {request.id: request.expires})
            pipe.execute()
        else:
            with self._lock:
                self._memory[request.id] = body
        self._changed(request, "requested")
        return request

    def pending(self) -> list[ApprovalRequest]:
        self.expire_due()
        if self.redis is not None:
            ids = [
                i.decode() if isinstance(i, bytes) else i
                for i in self.redis.zrange(f"{self.prefix}:approvals:pending", 0, -1)
            ]
        else:
            ids = list(self._memory)
        found = [self.get(i) for i in ids]
        return [r for r in found if r is not None and r.state == "pending"]

    def expire_due(self, now: float | None = None) -> list[ApprovalRequest]:
        """Move every pending request past its expiry to EXPIRED (and tell the requester)."""
        now = now or time.time()
        if self.redis is not None:
            due = [
                i.decode() if isinstance(i, bytes) else i
                for i in self.redis.zrangebyscore(f"{self.prefix}:approvals:pending", 0, now)
            ]
        else:
            due = [
                i for i in self._memory if (r := self.get(i)) and r.state == "pending" and r.expires <= now
            ]
        expired = []
        for request_id in due:

            def expire(r: ApprovalRequest) -> ApprovalRequest | None:
                if r.state != "pending" or r.expires > now:
                    return None
                r.state = "expired"
                return r

            if (r := self._cas(request_id, expire)) is not None:
                expired.append(r)
                self._changed(r, "expired")
        return expired

    def decide(self, request_id: str, actor: Person, approve: bool) -> Outcome:
        request = self.get(request_id)
        if request is None:
            return Outcome(
                False,
                None,
                _msg(
                    "This approval request does not exist (or the link is not valid).",
                    "Diesen Freigabeantrag gibt es nicht (oder der Link ist ungültig).",
                ),
            )
        if request.state == "pending" and request.expires <= time.time():
            self.expire_due()
            request = self.get(request_id) or request
        if request.state != "pending":
            who = ", ".join(d.get("display") or d["actor"] for d in request.decisions) or "—"
            return Outcome(
                False,
                request.state,
                _msg(
                    f"This request is already {request.state} ({who}).",
                    f"Dieser Antrag ist bereits {request.state} ({who}).",
                ),
                request,
            )
        if actor.key == request.requester:
            return Outcome(
                False,
                request.state,
                _msg(
                    "You cannot approve or deny your own request; another approver must decide.",
                    "Eigene Anträge können Sie nicht entscheiden; eine andere freigebende Person muss das tun.",
                ),
                request,
            )
        roles = self.policy.roles_of(actor)
        if request.approver_role not in roles and "admin" not in roles:
            return Outcome(
                False,
                request.state,
                _msg(
                    f"Only someone with the {request.approver_role} role may decide this request.",
                    f"Nur jemand mit der Rolle {request.approver_role} darf diesen Antrag entscheiden.",
                ),
                request,
            )
        if any(d["actor"] == actor.key for d in request.decisions):
            return Outcome(
                False,
                request.state,
                _msg(
                    "You have already approved this request; it needs another approver.",
                    "Sie haben diesen Antrag schon freigegeben; er braucht eine weitere Person.",
                ),
                request,
            )
        decided_at = time.time()

        def transition(r: ApprovalRequest) -> ApprovalRequest | None:
            if (
                r.state != "pending"
                or any(d["actor"] == actor.key for d in r.decisions)
                or r.expires <= decided_at
            ):
                return None  # lost a race: someone else decided first
            r.decisions.append(
                {"actor": actor.key, "display": actor.display, "approve": approve, "at": decided_at}
            )
            if not approve:
                r.state = "denied"
            elif sum(1 for d in r.decisions if d["approve"]) >= r.required:
                r.state = "approved"
            return r

        updated = self._cas(request_id, transition)
        if updated is None:
            current = self.get(request_id)
            return Outcome(
                False,
                current.state if current else None,
                _msg(
                    "Someone else decided this request a moment earlier.",
                    "Jemand anderes hat diesen Antrag gerade entschieden.",
                ),
                current,
            )
        event = {"denied": "denied", "approved": "approved"}.get(updated.state, "approval_recorded")
        self._changed(updated, event)
        if updated.state == "pending":
            return Outcome(
                True,
                "pending",
                _msg(
                    f"Approval recorded; {updated.required - len(updated.decisions)} more needed.",
                    f"Freigabe erfasst; {updated.required - len(updated.decisions)} weitere nötig.",
                ),
                updated,
            )
        verb = ("approved", "freigegeben") if approve else ("denied", "abgelehnt")
        return Outcome(True, updated.state, _msg(f"Request {verb[0]}.", f"Antrag {verb[1]}."), updated)

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
