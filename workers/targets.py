"""Where an answer goes: one typed target per chat platform, the other half of an outbox message.

A target travels as JSON (the outbox is a Redis stream, and approvers' targets come from the
configuration), so each type reads and writes exactly the keys listed here; a new transport
adds a dataclass and its `platform` name. Keys a type does not know are kept in `extra` and
written back, so a bot and a worker of different versions never lose what the other wrote.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class _Target:
    platform: ClassVar[str]
    target_id: str = ""  # unique per conversation and answer: delivery deduplicates on it
    lang: str | None = None  # "en" or "de"; None = the transport's default
    stream: str | None = None  # an outbox stream of its own (a console session), else the shared one
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"platform": self.platform, **self.extra}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "extra" and value not in (None, False, ""):
                out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in data.items() if k in names}
        extra = {k: v for k, v in data.items() if k not in names and k != "platform"}
        return cls(**known, extra=extra)


@dataclass(frozen=True)
class SlackTarget(_Target):
    """A DM or channel; `ts` is the "one moment…" message the answer replaces."""

    platform: ClassVar[str] = "slack"
    user: str | None = None  # Slack user id: a DM (opened on demand) and App Home
    channel: str | None = None  # a channel or DM id; for approvers, their channel
    ts: str | None = None
    text: str | None = None  # what was asked: the answer's "ask again" button repeats it
    ephemeral: bool = False  # visible only to `user` in `channel`
    home: bool = False  # refresh App Home instead of posting
    home_cache: bool = False  # also keep a report for App Home
    viewer: str | None = None  # the asker's primary address: buttons on someone else's report act on them


@dataclass(frozen=True)
class TeamsTarget(_Target):
    """A Teams conversation, by the Bot Framework conversation reference stored when it began."""

    platform: ClassVar[str] = "teams"
    conversation_reference: dict[str, Any] = field(default_factory=dict)
    activity_id: str | None = None  # the message the answer replaces


@dataclass(frozen=True)
class ConsoleTarget(_Target):
    """One interactive console session (it reads its own outbox stream)."""

    platform: ClassVar[str] = "console"
    session: str | None = None


ChatTarget = SlackTarget | TeamsTarget | ConsoleTarget
TARGET_TYPES: dict[str, type[_Target]] = {t.platform: t for t in (SlackTarget, TeamsTarget, ConsoleTarget)}


class UnknownTarget(ValueError):
    """The target names no platform this process knows."""


def target_from_json(data: dict[str, Any]) -> ChatTarget:
    kind = TARGET_TYPES.get(str(data.get("platform", "")))
    if kind is None:
        raise UnknownTarget(f"no chat platform {data.get('platform')!r}")
    return kind.from_json(data)  # type: ignore[no-any-return]
