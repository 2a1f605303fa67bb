"""Telling people about an approval request: the audit record, the approval_update answer for
the requester and every approvers' target, and a plain sentence when it is over.

The same code runs in the bot (App.notify, for decisions made in chat) and in the worker (for
execution events), so both sides tell people the same way; it lives apart from the executor so
the chat process never needs the executor to speak.
"""

from __future__ import annotations

import time
from typing import Any

from workers.answers import Answer, ApprovalUpdateAnswer, TextAnswer, to_json
from workers.approvals_store import ApprovalRequest
from workers.audit import AuditTrail
from workers.config import Settings


class Notifier:
    """What App.notify does, from a worker: the audit record and the approval_update answers
    (requester + approvers), plus a plain sentence for the requester when it is over."""

    def __init__(self, settings: Settings, outbox: Any, audit: AuditTrail | None) -> None:
        self.settings = settings
        self.outbox = outbox
        self.audit = audit

    def __call__(self, request: ApprovalRequest, event: str) -> None:
        if self.audit is not None:
            self.audit.record(event, request)
        stamp = int(time.time() * 1000)
        update = ApprovalUpdateAnswer(request.to_json(), event)
        if event not in ("executing", "approval_recorded"):
            self._publish(
                f"{request.id}:{event}:requester:{stamp}",
                {**request.notify, "target_id": f"{request.id}:{event}:requester"},
                update,
            )
        for i, target in enumerate(self.settings.approvers_targets):
            self._publish(
                f"{request.id}:{event}:approvers:{i}:{stamp}",
                {**target, "target_id": f"{request.id}:approvers:{i}"},
                update,
            )

    def tell_requester(self, request: ApprovalRequest, event: str, message: dict[str, str]) -> None:
        if not request.notify:
            return
        lang = "de" if request.notify.get("lang") == "de" else "en"
        self._publish(
            f"{request.id}:{event}:message:{int(time.time() * 1000)}",
            {**request.notify, "target_id": f"{request.id}:{event}:message"},
            TextAnswer(message[lang], request_id=request.id),
        )

    def _publish(self, delivery_id: str, target: dict[str, Any], answer: Answer) -> None:
        message = {"delivery_id": delivery_id, "job_id": None, "target": target, "answer": to_json(answer)}
        self.outbox.publish(message, stream=target.get("stream") or self.settings.outbox_stream)
