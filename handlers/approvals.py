"""Approval requests: nothing destructive happens without a second person's decision.

A request moves pending → approved | denied | expired → executing → done | failed. Every
transition is a compare-and-set (Redis WATCH/MULTI, or a lock in memory), so a double click
or two approvers racing yield exactly one decision and one execution. The id on buttons is
an opaque random token; who clicked always comes from the platform payload, never the button.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers.identity import Person
from handlers.policy import Policy
from workers.approvals_store import (  # noqa: F401  (re-exported: the public API stays here)
    APPROVER_ROLE,
    FINAL,
    REQUIRED_APPROVALS,
    STATES,
    ApprovalRequest,
    ApprovalStore,
    decision_identity,
)
from workers.i18n.states import state_name
from workers.jobspec import enqueue_execution
from workers.plan_types import Plan

DEFAULT_TTL_S = 24 * 3600
log = logging.getLogger("smime_doctor.approvals")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    state: str | None
    message: dict[str, str]  # en/de sentence for the clicker
    request: ApprovalRequest | None = None


def _msg(en: str, de: str) -> dict[str, str]:
    return {"en": en, "de": de}


class Approvals(ApprovalStore):
    """The state machine: open, decide, expire (storage and the execution transitions live in
    workers.approvals_store). `on_change(request, event)` is called after every committed
    transition (to notify the requester and approvers and to write the audit trail)."""

    def __init__(
        self,
        policy: Policy,
        redis: Any = None,
        prefix: str = "smime",
        ttl_s: int = DEFAULT_TTL_S,
        on_change: Callable[[ApprovalRequest, str], None] | None = None,
    ) -> None:
        super().__init__(redis, prefix, on_change)
        self.policy = policy
        self._digests: dict[str, str] = {}  # in memory: plan digest -> the request that holds it
        self.ttl_s = ttl_s
        # What happens once a request is approved, however it was decided (button or chat command):
        # with Redis, an execution job for a worker (workers/remediation/execute.py). Without Redis
        # the bot sets an in-process runner (bot.app.build_app); None turns execution off.
        self.on_approved: Callable[[ApprovalRequest], None] | None = (
            self._enqueue_execution if redis is not None else None
        )

    # -- operations -----------------------------------------------------------------------
    def open(
        self,
        action: str,
        requester: Person,
        target: str,
        plan: Plan,
        notify: dict[str, Any],
        platform: str,
    ) -> ApprovalRequest:
        """A new pending request — or, when the same plan (its digest) already waits for a decision,
        that one: asking twice must not put two requests for one change before the approvers."""
        now = time.time()
        request = ApprovalRequest(
            id="R-" + secrets.token_hex(12),  # hex: no markdown or mrkdwn character to escape
            action=action,
            requester=requester.key,
            target=target,
            plan=plan,
            notify=notify,
            platform=platform,
            created=now,
            expires=now + self.ttl_s,
            requester_ids=list(requester.ids or (requester.id,)),
            requester_via=list(requester.via or ()),
        )
        if (open_one := self._claim_digest(request)) is not None:
            return open_one
        body = json.dumps(request.to_json())
        if self.redis is not None:
            pipe = self.redis.pipeline()
            pipe.set(self._key(request.id), body)
            pipe.zadd(self.keys.pending_approvals, {request.id: request.expires})
            pipe.execute()
        else:
            with self._lock:
                self._memory[request.id] = body
        self._changed(request, "requested")
        return request

    def _claim_digest(self, request: ApprovalRequest) -> ApprovalRequest | None:
        """Reserve the plan's digest for `request`; the pending request that holds it, if any."""
        digest = request.plan.digest
        if not digest:
            return None
        key = self.keys.approval_digest(request.action, digest)
        for _ in range(3):
            if self.redis is not None:
                if self.redis.set(key, request.id, nx=True, exat=int(request.expires) + 1):
                    return None
                holder = self.redis.get(key)
                holder = holder.decode() if isinstance(holder, bytes) else holder
            else:
                with self._lock:
                    holder = self._digests.setdefault(key, request.id)
                if holder == request.id:
                    return None
            current = self.get(holder) if holder else None
            if current is not None and current.state == "pending" and current.expires > time.time():
                return current
            # the holder was decided or expired: free the digest for a new request and try again
            if self.redis is not None:
                self.redis.delete(key)
            else:
                with self._lock:
                    if self._digests.get(key) == holder:
                        del self._digests[key]
        return None

    def pending(self) -> list[ApprovalRequest]:
        self.expire_due()
        if self.redis is not None:
            ids = [
                i.decode() if isinstance(i, bytes) else i
                for i in self.redis.zrange(self.keys.pending_approvals, 0, -1)
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
                for i in self.redis.zrangebyscore(self.keys.pending_approvals, 0, now)
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

    def _enqueue_execution(self, request: ApprovalRequest) -> None:
        try:
            enqueue_execution(self.redis, request.id)
        except Exception:  # the decision stands; the request waits in approved (visible, auditable)
            log.exception("execute.enqueue_failed", extra={"request": request.id})

    def decide(self, request_id: str, actor: Person, approve: bool, reason: str | None = None) -> Outcome:
        """One approver's decision; `reason` (a denial's why, as typed) is kept and told to the requester."""
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
                    f"This request is already {state_name(request.state, 'en')} ({who}).",
                    f"Dieser Antrag ist bereits {state_name(request.state, 'de')} ({who}).",
                ),
                request,
            )
        if actor.is_same(request.requester_identity):
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
        if any(actor.is_same(decision_identity(d)) for d in request.decisions):
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
                or any(actor.is_same(decision_identity(d)) for d in r.decisions)
                or r.expires <= decided_at
            ):
                return None  # lost a race: someone else decided first
            platform, platform_user = actor.via or ("", "")
            r.decisions.append(
                {
                    "actor": actor.key,
                    "person": actor.id,
                    "ids": list(actor.ids or (actor.id,)),
                    "platform": platform,
                    "platform_user": platform_user,
                    "display": actor.display,
                    "approve": approve,
                    "at": decided_at,
                    **({"reason": reason[:300]} if reason else {}),
                }
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
        if updated.state == "approved" and self.on_approved is not None:
            self.on_approved(updated)
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
