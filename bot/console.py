"""The console transport: `smime-doctor chat --as USER` — the same handlers, queue and
delivery as Slack and Teams, with a terminal instead of a chat window.

`--as` is the console's platform id: whoever can start the console on the bot's machine is
trusted to say who they are, like a local login. Chat platforms never get that trust.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console

from bot.app import App, build_app
from bot.render.escape import for_terminal
from bot.render.text import render_audit_summary, render_report
from handlers.outage import UNAVAILABLE
from handlers.types import ChatRequest, Reply
from workers.answers import (
    Answer,
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
    AuditAnswer,
    PlanAnswer,
    ReportAnswer,
    TextAnswer,
    answer_from_json,
)
from workers.config import Settings
from workers.errors import ServiceUnavailable
from workers.i18n.actions import action_name, target_of
from workers.i18n.states import state_name
from workers.plan_types import Change, changes_of
from workers.targets import ConsoleTarget

ANSWER_TIMEOUT_S = 120


def render_answer(answer: Answer, lang: str, width: int | None = None) -> str:
    """An answer as terminal text (the same renderer as the command line), wrapped at word
    boundaries at `width` (default: the terminal's width; unwrapped when not a terminal)."""
    buffer = io.StringIO()
    # a terminal: wrapped at its width; piped or scripted (chat --format jsonl): not wrapped,
    # so whoever reads it wraps it their way
    columns = width or (shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 10_000)
    console = Console(
        file=buffer, width=columns, highlight=False, soft_wrap=False, force_terminal=False, color_system=None
    )
    match answer:
        case ReportAnswer(report=report):
            render_report(report, console, lang)
        case AuditAnswer(summary=summary, tenant=tenant):
            render_audit_summary(summary, list(tenant), console, lang)
        # What follows is plain text holding directory values: printed as text, never as markup.
        case PlanAnswer():
            _plain(console, plan_text(answer, lang))
        case ApprovalRequestAnswer(request=request):
            _plain(
                console,
                f"Approval needed: {request['id']} — {action_name(str(request['action']), lang)} for {target_of(request)} (asked by {request['requester']})",
            )
            _plain(console, changes_text(changes_of(request.get("plan"))))
            _plain(console, f"Answer 'approve {request['id']}' or 'deny {request['id']}'.")
        case ApprovalUpdateAnswer(request=request):
            who = ", ".join(d.get("display") or d["actor"] for d in request.get("decisions", [])) or "—"
            reasons = [str(d["reason"]) for d in request.get("decisions", []) if d.get("reason")]
            state = state_name(str(request.get("state")), lang)
            line = (
                f"Antrag {request['id']} ist jetzt {state} ({who})."
                if lang == "de"
                else f"Request {request['id']} is now {state} ({who})."
            )
            if reasons:
                line += (" Grund: " if lang == "de" else " Reason: ") + reasons[-1]
            _plain(console, line)
        case TextAnswer(text=text):
            _plain(console, text)
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").split("\n"))


def _plain(console: Console, text: str) -> None:
    """Plain text, line by line: no markup, no emoji codes, control characters written out."""
    for line in str(text).split("\n"):
        console.print(for_terminal(line), emoji=False)


def changes_text(changes: Sequence[Change]) -> str:
    """One line per change: a certificate (subject, expiry) or a text value (from → to)."""
    lines = []
    for c in changes:
        what = c.subject or "?"
        if c.not_after:
            what += f" (until {c.not_after})"
        lines.append(f"  - {c.attribute}: {what} — {c.reason or ''}")
    return "\n".join(lines)


def plan_text(answer: PlanAnswer, lang: str) -> str:
    lines = [answer.summaries.get(lang) or answer.summary]
    if answer.plan.changes:
        lines.append(changes_text(answer.plan.changes))
    request = answer.request
    if request:
        lines.append(
            {
                "en": f"Request {request['id']} waits for an approver; nothing changes until then.",
                "de": f"Antrag {request['id']} wartet auf Freigabe; bis dahin ändert sich nichts.",
            }[lang]
        )
    return "\n".join(lines)


class ConsoleTransport:
    platform = "console"

    def __init__(self, out: TextIO, session: str, echo: bool = True) -> None:
        """`echo` False keeps answers for the caller (chat --format jsonl) instead of printing them."""
        self.out = out
        self.session = session
        self.echo = echo
        self.lock = threading.Lock()
        self.answered: dict[str, threading.Event] = {}
        self.texts: dict[str, str] = {}

    def deliver(self, target: dict[str, Any], answer: dict[str, Any]) -> None:
        """`answer` is the outbox JSON, read into its type here (bot.delivery.Transport)."""
        to = ConsoleTarget.from_json(target)
        if to.session != self.session:
            raise RuntimeError("answer for another console session")  # stays pending for its owner
        text = render_answer(answer_from_json(answer), to.lang or "en")
        with self.lock:
            self.texts[to.target_id] = text
            if self.echo:
                self.out.write(f"bot> {text}\n\n")
                self.out.flush()
        self.answered.setdefault(to.target_id, threading.Event()).set()

    def expect(self, target_id: str) -> threading.Event:
        return self.answered.setdefault(target_id, threading.Event())


@dataclass(frozen=True)
class Turn:
    """One line from the person and what came of it: the immediate reply, and the answer's text
    when a job ran (None while it is still running)."""

    reply: Reply
    answer: str | None = None

    @property
    def text(self) -> str:
        return self.answer if self.answer is not None else self.reply.text

    def to_json(self, line: str) -> dict[str, Any]:
        """The chat contract (docs/chat.md): what was understood and answered, per input line."""
        intent = self.reply.intent
        return {
            "input": line,
            "intent": intent.kind if intent else "unknown",
            "subject": intent.subject if intent else None,
            "sender": intent.sender if intent else None,
            "request_id": intent.request_id if intent else None,
            "focus": intent.focus if intent else None,
            "lang": self.reply.lang,
            "reply": self.reply.kind,
            "text": self.text,
        }


class ConsoleChat:
    def __init__(
        self,
        settings: Settings,
        as_user: str,
        lang: str | None = None,
        out: TextIO = sys.stdout,
        echo: bool = True,
    ) -> None:
        self.session = uuid.uuid4().hex[:12]
        self.echo = echo
        self.transport = ConsoleTransport(out, self.session, echo)
        stream = f"{settings.outbox_stream}:console:{self.session}" if settings.redis_url else None
        self.app: App = build_app(
            settings, {"console": self.transport}, stream=stream, consumer=f"console-{self.session}"
        )
        self.stream = stream
        self.as_user = as_user
        self.lang = lang
        self.out = out
        self.app.delivery.start()

    def say(self, text: str, wait: bool = True) -> Turn:
        """One line from the person; prints the immediate reply, and (if wait) the answer."""
        request_id = uuid.uuid4().hex
        req = ChatRequest(
            "console", self.as_user, text, {"session": self.session}, self._locale(), request_id
        )
        reply = self.app.dispatcher.handle(req)
        self._write(f"bot> {reply.text}\n")
        if reply.job is None:
            self._write("\n")
            return Turn(reply)
        target = ConsoleTarget(request_id, reply.lang, self.stream, session=self.session).to_json()
        done = self.transport.expect(request_id)
        try:
            self.app.dispatcher.submit(reply.job, target)
        except ServiceUnavailable:
            self._write(f"bot> {UNAVAILABLE[reply.lang]}\n\n")
            return Turn(replace(reply, kind="unavailable", job=None), UNAVAILABLE[reply.lang])
        if wait and not done.wait(ANSWER_TIMEOUT_S):
            self._write("bot> (still working — the answer will appear here)\n")
        return Turn(reply, self.transport.texts.get(request_id))

    def _write(self, text: str) -> None:
        if self.echo:
            self.out.write(text)
            self.out.flush()

    def _locale(self) -> str | None:
        return {"de": "de-DE", "en": "en-US"}.get(self.lang or "")

    def close(self) -> None:
        self.app.close()


def run_chat(
    settings: Settings, as_user: str, lang: str | None, script: str | None, output: str = "text"
) -> int:
    """`output` "jsonl" (with a script): one JSON object per input line, in order (Turn.to_json)."""
    jsonl = output == "jsonl"
    chat = ConsoleChat(settings, as_user, lang, echo=not jsonl)
    try:
        if script:
            lines = sys.stdin.read().splitlines() if script == "-" else Path(script).read_text().splitlines()
            for line in lines:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                if not jsonl:
                    print(f"{as_user}> {line}")
                turn = chat.say(line)
                if jsonl:
                    sys.stdout.write(json.dumps(turn.to_json(line), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
            return 0
        return _interactive(chat, as_user)
    finally:
        chat.close()


def _interactive(chat: ConsoleChat, as_user: str) -> int:
    from prompt_toolkit import PromptSession  # deferred: only the interactive console needs it
    from prompt_toolkit.history import FileHistory  # deferred: only the interactive console needs it

    history = Path.home() / ".smime_doctor_history"
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history)))
    print("smime-doctor chat — type 'help', Ctrl-D to leave.")
    while True:
        try:
            line = session.prompt(f"{as_user}> ")
        except (EOFError, KeyboardInterrupt):
            return 0
        if line.strip():
            chat.say(line)
