"""Wiring shared by every transport: directory, identity, policy, queue, outbox, delivery, approvals.

With `redis_url` configured, jobs go to RQ workers and answers come back on a Redis stream;
without it everything runs in this process (the embedded default).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from bot.delivery import Delivery, Transport
from handlers.approvals import ApprovalRequest, Approvals, Outcome
from handlers.dispatch import Dispatcher, InProcessQueue, RQQueue
from handlers.identity import IdentityError, IdentityResolver
from handlers.policy import Policy
from workers.audit import AuditTrail
from workers.config import Settings
from workers.jobs import directory_for
from workers.outbox import MemoryOutbox, RedisOutbox


@dataclass
class App:
    settings: Settings
    directory: Any
    dispatcher: Dispatcher
    delivery: Delivery
    outbox: Any
    identity: IdentityResolver
    policy: Policy
    approvals: Approvals
    audit: AuditTrail
    redis: Any = None
    _opened: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        self.delivery.stop()
        queue = self.dispatcher.queue
        if isinstance(queue, InProcessQueue):
            queue.close()

    # -- approvals --------------------------------------------------------------------------
    def decide(self, platform: str, user_id: str, request_id: str, approve: bool) -> Outcome:
        """A click on Approve/Deny. Who clicked comes from the platform payload (user_id), never the button."""
        try:
            actor = self.identity.resolve(platform, user_id)
        except IdentityError as exc:
            return Outcome(False, None, {"en": str(exc), "de": str(exc)})
        return self.approvals.decide(request_id, actor, approve)

    def execute_in_process(self, request: ApprovalRequest) -> None:
        """Embedded mode (no Redis): run an approved request's execution here, off the caller's thread.
        With Redis, Approvals queues it for a worker instead (workers/remediation/execute.py)."""
        from workers.remediation.execute import Notifier, execute

        notifier = Notifier(self.settings, self.outbox, None)
        args = (request.id, self.approvals, self.settings, self.directory, notifier)
        threading.Thread(target=execute, args=args, daemon=True).start()

    def open_plan(self, message: dict[str, Any]) -> dict[str, Any]:
        """Delivery hook: a plan answer opens an approval request (once per delivery) before the
        asker sees it, so the plan they see carries the id the approvers decide on."""
        answer = dict(message.get("answer") or {})
        if answer.get("type") != "plan" or not answer.get("plan", {}).get("changes"):
            return answer
        key = str(message.get("delivery_id"))
        request_id = self._opened_request(key)
        request = self.approvals.get(request_id) if request_id else None
        if request is None:
            requester = self.identity.resolve("directory", answer["asker"])
            request = self.approvals.open(
                answer["plan"]["action"],
                requester,
                answer["plan"]["target"],
                answer["plan"],
                dict(message.get("target") or {}),
                str((message.get("target") or {}).get("platform")),
            )
            self._remember_opened(key, request.id)
        answer["request"] = request.to_json()
        return answer

    def _opened_request(self, key: str) -> str | None:
        if self.redis is not None:
            raw = self.redis.get(f"{self.settings.key_prefix}:planreq:{key}")
            return raw.decode() if isinstance(raw, bytes) else raw
        return self._opened.get(key)

    def _remember_opened(self, key: str, request_id: str) -> None:
        if self.redis is not None:
            self.redis.set(f"{self.settings.key_prefix}:planreq:{key}", request_id, ex=30 * 86_400)
        else:
            self._opened[key] = request_id

    def notify(self, request: ApprovalRequest, event: str) -> None:
        """Approvals.on_change: tell the approvers and the requester, and write the audit trail."""
        self.audit.record(event, request)
        if event == "requested":
            body = request.to_json()
            for i, target in enumerate(self.settings.approvers_targets):
                self._publish(
                    f"{request.id}:requested:{i}",
                    {**target, "target_id": f"{request.id}:approvers:{i}"},
                    {"type": "approval_request", "request": body},
                )
            return
        # Every later event is told the same way a worker tells it (workers/remediation/execute.py).
        from workers.remediation.execute import Notifier

        Notifier(self.settings, self.outbox, None)(request, event)

    def _publish(self, delivery_id: str, target: dict[str, Any], answer: dict[str, Any]) -> None:
        message = {"delivery_id": delivery_id, "job_id": None, "target": target, "answer": answer}
        if isinstance(self.outbox, RedisOutbox):
            self.outbox.publish(message, stream=target.get("stream") or self.settings.outbox_stream)
        else:
            self.outbox.publish(message)


def build_app(
    settings: Settings,
    transports: dict[str, Transport],
    *,
    stream: str | None = None,
    consumer: str = "bot-1",
) -> App:
    """`stream` overrides the outbox stream (a console reads its own); `consumer` names this bot instance."""
    directory = directory_for(settings)
    identity = IdentityResolver(directory, ttl=settings.identity_cache_ttl_s)
    identity.register("directory", lambda key: key)  # internal: an id that is already a directory key
    policy = Policy(settings.roles, directory)
    policy.book.validate()  # a role group that matches no (or several) security groups: refuse to start
    redis = None
    if settings.redis_url:
        from redis import Redis

        redis = Redis.from_url(
            settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
        outbox: Any = RedisOutbox(redis, stream or settings.outbox_stream, consumer=consumer)
        queue: Any = RQQueue(redis, settings)
    else:
        outbox = MemoryOutbox()
        queue = InProcessQueue(directory, outbox)
    audit = AuditTrail(redis, settings.key_prefix, settings.audit_log_file)
    approvals = Approvals(policy, redis, settings.key_prefix, settings.approval_ttl_s)
    dispatcher = Dispatcher(settings, directory, identity, policy, queue, approvals)
    delivery = Delivery(outbox, transports, redis, settings.key_prefix)
    app = App(settings, directory, dispatcher, delivery, outbox, identity, policy, approvals, audit, redis)
    approvals.on_change = app.notify
    dispatcher.audit = audit
    if redis is None:
        approvals.on_approved = app.execute_in_process  # chat command or button, the same path
    delivery.prepare = app.open_plan
    return app
