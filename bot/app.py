"""Wiring shared by every transport: directory, identity, policy, queue, outbox, delivery, approvals.

With `redis_url` configured, jobs go to RQ workers and answers come back on a Redis stream;
without it everything runs in this process (the embedded default).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.delivery import Delivery, Transport
from handlers.approvals import ApprovalRequest, Approvals, Outcome
from handlers.chat import Dispatcher
from handlers.conversation import MemoryConversations, RedisConversations
from handlers.dispatch import InProcessQueue, RQQueue
from handlers.identity import IdentityError, IdentityResolver
from handlers.policy import Policy
from workers.answers import Answer, ApprovalRequestAnswer, PlanAnswer, answer_from_json, to_json
from workers.audit import AuditTrail
from workers.config import Settings
from workers.keys import Keys
from workers.notify import Notifier
from workers.outbox import MemoryOutbox, RedisOutbox
from workers.sources.directory import directory_for

if TYPE_CHECKING:
    from workers.sources.directory import Directory


@dataclass
class App:
    settings: Settings
    directory: Directory
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
        from workers.remediation.execute import execute  # embedded mode only: with Redis a worker executes

        notifier = Notifier(self.settings, self.outbox, None)
        args = (request.id, self.approvals, self.settings, self.directory, notifier)
        threading.Thread(target=execute, args=args, daemon=True).start()

    def open_plan(self, message: dict[str, Any]) -> dict[str, Any]:
        """Delivery hook: a plan answer opens an approval request (once per delivery) before the
        asker sees it, so the plan they see carries the id the approvers decide on.
        Takes and returns the outbox JSON (bot.delivery.Delivery.prepare)."""
        raw = message.get("answer") or {}
        answer = answer_from_json(raw)
        if not isinstance(answer, PlanAnswer) or not answer.plan.changes:
            return dict(raw) if isinstance(raw, dict) else to_json(answer)
        key = str(message.get("delivery_id"))
        request_id = self._opened_request(key)
        request = self.approvals.get(request_id) if request_id else None
        if request is None:
            requester = self.identity.resolve("directory", answer.asker)
            request = self.approvals.open(
                answer.plan.action,
                requester,
                answer.plan.target,
                answer.plan,
                dict(message.get("target") or {}),
                str((message.get("target") or {}).get("platform")),
            )
            self._remember_opened(key, request.id)
        return to_json(replace(answer, request=request.to_json()))

    def _opened_request(self, key: str) -> str | None:
        if self.redis is not None:
            raw = self.redis.get(Keys(self.settings.key_prefix).plan_request(key))
            return raw.decode() if isinstance(raw, bytes) else raw
        return self._opened.get(key)

    def _remember_opened(self, key: str, request_id: str) -> None:
        if self.redis is not None:
            self.redis.set(Keys(self.settings.key_prefix).plan_request(key), request_id, ex=30 * 86_400)
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
                    ApprovalRequestAnswer(body),
                )
            return
        # Every later event is told the same way a worker tells it (workers/remediation/execute.py).
        Notifier(self.settings, self.outbox, None)(request, event)

    def _publish(self, delivery_id: str, target: dict[str, Any], answer: Answer) -> None:
        message = {"delivery_id": delivery_id, "job_id": None, "target": target, "answer": to_json(answer)}
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
        from redis import Redis  # deferred: Redis is optional (the embedded mode runs without it)

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
    conversations = (
        RedisConversations(redis, settings.key_prefix, settings.conversation_ttl_s)
        if redis is not None
        else MemoryConversations(settings.conversation_ttl_s)
    )
    dispatcher = Dispatcher(settings, directory, identity, policy, queue, approvals, conversations)
    delivery = Delivery(outbox, transports, redis, settings.key_prefix)
    app = App(settings, directory, dispatcher, delivery, outbox, identity, policy, approvals, audit, redis)
    approvals.on_change = app.notify
    dispatcher.audit = audit
    if redis is None:
        approvals.on_approved = app.execute_in_process  # chat command or button, the same path
    delivery.prepare = app.open_plan
    return app
