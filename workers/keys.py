"""Every Redis key the product uses, spelled in one place.

All keys live under the installation's ``key_prefix`` (default ``smime``), so two installations
can share one Redis. The outbox streams are named by ``outbox_stream`` and carry their own
``:failures`` and ``:dead`` companions (workers/outbox.py).

| key | type | what |
| --- | --- | --- |
| ``<p>:approval:<request id>`` | string (JSON) | an approval request (workers/approvals_store.py) |
| ``<p>:approvals:pending`` | sorted set | pending request ids, scored by expiry |
| ``<p>:approvals:digest:<action>:<plan digest>`` | string | the one pending request of a plan |
| ``<p>:backup:<request id>`` | string (JSON) | the before-state an execution saved |
| ``<p>:execlock:<request id>`` | string | the execution lease (holder, renewed) |
| ``<p>:job:<job id>`` | string | a queued chat job (deduplication) |
| ``<p>:answer:<job id>`` | string (JSON) | a finished job's answer, for duplicates |
| ``<p>:targets:<job id>`` | list | conversations waiting for a job's answer |
| ``<p>:delivered:<delivery id>`` | string | an answer already delivered (redelivery is a no-op) |
| ``<p>:planreq:<delivery id>`` | string | the approval request a plan answer opened |
| ``<p>:conversation:<platform>:<user>:<thread>`` | string (JSON) | a conversation's last intent and open question (handlers/conversation.py) |
| ``<p>:audit`` | stream | the audit trail (workers/audit.py) |
| ``<p>:slack:…`` | strings | Slack event ids, App Home state, approval message refs |
| ``<p>:teams:card:<request id>:<conversation>`` | string | a posted approval card, to refresh it |
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "smime"

    def approval(self, request_id: str) -> str:
        return f"{self.prefix}:approval:{request_id}"

    @property
    def pending_approvals(self) -> str:
        return f"{self.prefix}:approvals:pending"

    def approval_digest(self, action: str, digest: str) -> str:
        return f"{self.prefix}:approvals:digest:{action}:{digest}"

    def backup(self, request_id: str) -> str:
        return f"{self.prefix}:backup:{request_id}"

    def execution_lease(self, request_id: str) -> str:
        return f"{self.prefix}:execlock:{request_id}"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def answer(self, job_id: str) -> str:
        return f"{self.prefix}:answer:{job_id}"

    def targets(self, job_id: str) -> str:
        return f"{self.prefix}:targets:{job_id}"

    def conversation(self, key: str) -> str:
        return f"{self.prefix}:conversation:{key}"

    def delivered(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivered:{delivery_id}"

    def plan_request(self, delivery_id: str) -> str:
        return f"{self.prefix}:planreq:{delivery_id}"

    @property
    def audit(self) -> str:
        return f"{self.prefix}:audit"

    @property
    def slack(self) -> str:
        """The namespace of the Slack transport's own keys (bot/slack/store.py)."""
        return f"{self.prefix}:slack"

    def teams_card(self, request_id: str, conversation_id: str) -> str:
        return f"{self.prefix}:teams:card:{request_id}:{conversation_id}"
