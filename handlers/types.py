"""Platform-neutral messages between the transports (bot/) and the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers.understanding.recognise import Intent
from workers.jobspec import JobSpec


@dataclass(frozen=True)
class ChatRequest:
    """One inbound message, after the transport verified it came from the platform."""

    platform: str  # "console", "slack", "teams"
    user_id: str  # the platform's immutable id (Slack U…, Teams AAD object id, console --as)
    text: str
    conversation: dict[str, Any] = field(default_factory=dict)  # enough to answer in the same place
    locale: str | None = None  # the platform's locale for the user, e.g. "de-DE"
    request_id: str = ""  # the platform's event id, for deduplicating retries


@dataclass(frozen=True)
class Reply:
    """The immediate answer to a message; `job` is work still to do (its answer follows)."""

    text: str
    kind: str  # "answer", "ack", "refusal", "question", "error", "help", "unavailable"
    lang: str
    job: JobSpec | None = None
    choices: tuple[str, ...] = ()  # for "question": the candidates to pick from
    intent: Intent | None = None  # what the message was understood as (chat --format jsonl)
