"""Run a labelled chat corpus through the real chat core and score what it understood.

Each line of a corpus (tests/understanding/*.jsonl) is one turn: who types (`as`), what, and
what it means (`intent`, `subject`, `sender`, `request_id`, `lang`, `focus`). Lines of one
`session` are one conversation, so follow-ups and answers to the bot's questions are judged in
context. The chat core is the one every transport uses (handlers/chat.py) over the demo tenant,
with the demo roles (adele.vance helpdesk, alex.wilber approver); no job runs — understanding
is judged, not the diagnosis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handlers.approvals import Approvals
from handlers.chat import Dispatcher
from handlers.identity import IdentityResolver
from handlers.policy import Policy
from handlers.types import ChatRequest
from workers.config import load_settings
from workers.jobspec import JobSpec
from workers.sources.directory import directory_for

CORPORA = Path(__file__).resolve().parent.parent / "understanding"
DEMO_ROLES = {"helpdesk": {"users": ["adele.vance"]}, "approver": {"users": ["alex.wilber"]}}
FIELDS = ("intent", "subject", "sender", "request_id", "lang", "focus")


class _NoQueue:
    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:  # pragma: no cover - never called
        raise AssertionError("the corpus run queues no job")


@dataclass
class Turn:
    line: dict[str, Any]
    got: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(self.line.get(f) == self.got.get(f) for f in FIELDS)


@dataclass
class Score:
    turns: list[Turn] = field(default_factory=list)

    def accuracy(self, lang: str) -> float:
        mine = [t for t in self.turns if t.line["lang"] == lang]
        return sum(t.ok for t in mine) / len(mine) if mine else 1.0

    def p99_ms(self) -> float:
        times = sorted(t.seconds for t in self.turns)
        return 1000 * times[min(len(times) - 1, int(len(times) * 0.99))]

    def failures(self) -> list[Turn]:
        return [t for t in self.turns if not t.ok]


def chat_core() -> Dispatcher:
    settings = load_settings(demo=True, roles=DEMO_ROLES)
    directory = directory_for(settings)
    identity = IdentityResolver(directory)
    identity.register("directory", lambda key: key)
    policy = Policy(settings.roles, directory)
    return Dispatcher(settings, directory, identity, policy, _NoQueue(), Approvals(policy))


def lines(name: str) -> Iterator[dict[str, Any]]:
    for raw in (CORPORA / name).read_text(encoding="utf-8").splitlines():
        if raw.strip():
            yield json.loads(raw)


def run(name: str, core: Dispatcher | None = None) -> Score:
    """Every turn of corpus `name` through the chat core, one console session per corpus session."""
    core = core or chat_core()
    score = Score()
    for n, line in enumerate(lines(name)):
        req = ChatRequest(
            "console", line["as"], line["input"], {"session": f"{name}:{line['session']}"}, None, f"t{n}"
        )
        start = time.perf_counter()
        reply = core.handle(req)
        seconds = time.perf_counter() - start
        intent = reply.intent
        assert intent is not None
        got = {
            "intent": intent.kind,
            "subject": intent.subject,
            "sender": intent.sender,
            "request_id": intent.request_id,
            "lang": reply.lang,
            "focus": intent.focus if intent.kind == "diagnose" else None,
        }
        expected = {**line, "focus": line.get("focus") if line["intent"] == "diagnose" else None}
        score.turns.append(Turn(expected, got, seconds))
    return score
