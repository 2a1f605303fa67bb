"""The chat core every transport shares: message → who asks → what they mean (with the
conversation so far) → may they → an immediate reply, and a job when there is work to do.

`Dispatcher.handle` returns at once (it does no diagnosis), so transports can acknowledge
within milliseconds; the work runs on a JobQueue (handlers/dispatch.py) and its answer comes
back through the outbox. What each intent does is one method named in handlers/intent_table.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from handlers import help as helptext
from handlers.conversation import Conversations, MemoryConversations, conversation_key, next_state
from handlers.identity import IdentityError, IdentityResolver, Person
from handlers.intent_table import INTENT_TABLE
from handlers.outage import OUTAGE, UNAVAILABLE, log_outage
from handlers.policy import Policy
from handlers.types import ChatRequest, Reply
from handlers.understanding.core import Understander
from handlers.understanding.recognise import Choice, Intent
from handlers.understanding.text import request_id as find_request_id
from workers.config import Settings
from workers.errors import AmbiguousUserError, SmimeDoctorError, UnknownUserError
from workers.i18n.actions import action_name
from workers.jobspec import BULK, INTERACTIVE, JobKind, JobSpec
from workers.remediation.states import undo_plan

if TYPE_CHECKING:
    from handlers.dispatch import JobQueue
    from workers.approvals_store import ApprovalRequest
    from workers.sources.directory import Directory

MAX_MESSAGE_CHARS = 4000  # a chat command is one sentence; a pasted log is refused unread
WORKING = {"en": "Checking {what} … one moment.", "de": "Ich prüfe {what} … einen Moment."}
TOO_LONG = {
    "en": f"That message is too long for me (over {MAX_MESSAGE_CHARS:,} characters); "
    "please ask in one short sentence, e.g. 'check alice'.",
    "de": f"Diese Nachricht ist mir zu lang (über {MAX_MESSAGE_CHARS:,} Zeichen); ".replace(",", ".")
    + "bitte fragen Sie in einem kurzen Satz, z. B. „prüfe alice“.",
}

log = logging.getLogger("smime_doctor.chat")


def locale_lang(locale: str | None) -> str | None:
    if not locale:
        return None
    return "de" if locale.lower().startswith("de") else "en"


def _t(lang: str, en: str, de: str) -> str:
    return de if lang == "de" else en


class Dispatcher:
    """The chat core. `approvals`/`audit` are the approval state machine and the audit trail."""

    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        identity: IdentityResolver,
        policy: Policy,
        queue: JobQueue,
        approvals: Any = None,
        conversations: Conversations | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.identity = identity
        self.policy = policy
        self.queue = queue
        self.approvals = approvals
        self.audit: Any = None  # the audit trail (workers.audit.AuditTrail), set by the app
        self.conversations = conversations or MemoryConversations(settings.conversation_ttl_s)
        self.understander = Understander(directory)

    # -- the immediate part ---------------------------------------------------------------
    def handle(self, req: ChatRequest) -> Reply:
        if len(req.text) > MAX_MESSAGE_CHARS:  # before any parsing: a pasted log is not a question
            lang = locale_lang(req.locale) or self.settings.lang
            return Reply(TOO_LONG[lang], "refusal", lang, intent=Intent("unknown", lang))
        key = conversation_key(req)
        try:
            asker = self.identity.resolve(req.platform, req.user_id)
        except IdentityError as exc:
            lang = locale_lang(req.locale) or self.settings.lang
            return Reply(str(exc), "error", lang, intent=Intent("unknown", lang))
        try:
            state = self.conversations.get(key)
            intent = self.understander.understand(req.text, state.view(asker.primary_smtp or asker.key))
            lang = intent.lang or state.lang or locale_lang(req.locale) or self.settings.lang
            intent = replace(intent, lang=lang)
            reply = self._answer(intent, asker, req, lang)
            self.conversations.put(key, next_state(state, reply.intent or intent, lang))
        except OUTAGE as exc:  # approve/deny/pending/undo/history and the conversation read Redis
            log_outage("chat message", exc)
            lang = locale_lang(req.locale) or self.settings.lang
            return Reply(UNAVAILABLE[lang], "unavailable", lang, intent=Intent("unknown", lang))
        return reply

    def _answer(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        spec = INTENT_TABLE[intent.kind]
        if spec.roles and not self.policy.roles_of(asker) & spec.roles:
            return self._refusal(intent, lang)
        try:
            reply: Reply = getattr(self, spec.handler)(intent, asker, req, lang)
        except AmbiguousUserError as exc:
            choices = tuple(exc.candidates)
            text = _t(
                lang,
                f"'{exc.query}' matches several people — which one do you mean?",
                f"„{exc.query}“ passt auf mehrere Personen — wen meinen Sie?",
            )
            return Reply(text + "\n" + _numbered(choices), "question", lang, choices=choices, intent=intent)
        except UnknownUserError as exc:
            return self._nobody(intent, exc.query, lang, tuple(exc.candidates))
        return reply if reply.intent is not None else replace(reply, intent=intent)

    def _refusal(self, intent: Intent, lang: str) -> Reply:
        what = {
            "audit": (
                "Only helpdesk staff may audit the whole tenant.",
                "Nur das Helpdesk darf den ganzen Mandanten prüfen.",
            ),
            "request_action": (
                "Only helpdesk staff may request a remediation for a user; ask the helpdesk.",
                "Nur das Helpdesk darf eine Korrektur für einen Benutzer beantragen; bitte wenden Sie sich an das Helpdesk.",
            ),
            "pending": (
                "Only approvers have pending approvals.",
                "Nur freigebende Personen haben offene Freigaben.",
            ),
            "approve": (
                "Only approvers may decide requests.",
                "Nur freigebende Personen dürfen Anträge entscheiden.",
            ),
            "deny": (
                "Only approvers may decide requests.",
                "Nur freigebende Personen dürfen Anträge entscheiden.",
            ),
            "undo": (
                "Only helpdesk staff and approvers may undo a clean-up; ask the helpdesk.",
                "Nur das Helpdesk und freigebende Personen können eine Bereinigung rückgängig machen.",
            ),
        }.get(intent.kind, ("You may not do that.", "Das dürfen Sie nicht."))
        return Reply(_t(lang, *what), "refusal", lang, intent=intent)

    def _refused_about_others(
        self, asker: Person, intent: Intent, lang: str, *people: str | None
    ) -> Reply | None:
        """Asking about someone else needs the intent's `others` roles; about yourself it never does."""
        spec = INTENT_TABLE[intent.kind]
        if not spec.others or any(p and p.lower() in asker.names for p in people):
            return None
        if self.policy.roles_of(asker) & spec.others:
            return None
        what = {
            "diagnose": ("look at other people's certificates", "die Zertifikate anderer Personen ansehen"),
            "why_cant_encrypt": ("ask about other people's mail", "nach der Mail anderer Personen fragen"),
            "history": ("see other people's change history", "den Änderungsverlauf anderer sehen"),
        }[intent.kind]
        return Reply(
            _t(
                lang,
                f'Only helpdesk staff may {what[0]}. You can ask about yourself ("is my cert published?"), or ask the helpdesk.',
                f"Nur das Helpdesk darf {what[1]}. Sie können nach sich selbst fragen („ist mein Zertifikat veröffentlicht?“) oder das Helpdesk bitten.",
            ),
            "refusal",
            lang,
            intent=intent,
        )

    def _nobody(self, intent: Intent, query: str, lang: str, near: tuple[str, ...] = ()) -> Reply:
        hint = f" ({', '.join(near)}?)" if near else ""
        text = _t(
            lang,
            f"I found nobody called '{query}' in the directory{hint}. Try their mail address.",
            f"Ich finde niemanden namens „{query}“ im Verzeichnis{hint}. Versuchen Sie die Mailadresse.",
        )
        return Reply(text, "error", lang, choices=near, intent=replace(intent, subject=None, sender=None))

    # -- one method per intent (handlers/intent_table.py) ----------------------------------
    def _diagnose(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        if intent.subject is None:
            return self._nobody(intent, intent.subject_query or "?", lang)
        if refusal := self._refused_about_others(asker, intent, lang, intent.subject):
            return refusal
        what = intent.subject
        if intent.focus == "expiry":
            what = _t(
                lang,
                f"when {intent.subject}'s certificate expires",
                f"wann das Zertifikat von {intent.subject} abläuft",
            )
        elif intent.focus == "propagation":
            what = _t(
                lang,
                f"how far {intent.subject}'s certificate has travelled",
                f"wie weit das Zertifikat von {intent.subject} ist",
            )
        return self._job(
            "diagnose",
            asker,
            lang,
            intent,
            subject=intent.subject,
            what=what,
            focus=intent.focus or ("detail" if intent.detail else None),
        )

    def _why(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        if intent.subject is None or intent.sender is None:
            return self._nobody(intent, intent.subject_query or "?", lang)
        if refusal := self._refused_about_others(asker, intent, lang, intent.subject, intent.sender):
            return refusal
        what = f"{intent.sender} → {intent.subject}"
        return self._job(
            "encrypt_to", asker, lang, intent, sender=intent.sender, recipient=intent.subject, what=what
        )

    def _reset(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        me = asker.primary_smtp or asker.key
        if intent.subject and intent.subject.lower() not in asker.names:
            text = _t(
                lang,
                f"A reset is for your own certificates. For {intent.subject}, helpdesk can request "
                f"'request clear_smime_attribute for {intent.subject}'.",
                f"Zurücksetzen gibt es nur für die eigenen Zertifikate. Für {intent.subject} kann das Helpdesk "
                f"„beantrage clear_smime_attribute für {intent.subject}“ stellen.",
            )
            return Reply(text, "refusal", lang, intent=intent)
        # A worker computes the exact plan; when it comes back the bot opens the approval request
        # (bot.app.App.open_plan) and shows the plan to the asker and to the approvers.
        what = _t(lang, "what a reset would change", "was ein Zurücksetzen ändern würde")
        return self._job("plan_reset", asker, lang, replace(intent, subject=me), subject=me, what=what)

    def _audit(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        what = _t(lang, "the whole tenant", "den ganzen Mandanten")
        return self._job("audit", asker, lang, intent, what=what, queue=BULK)

    def _request(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        """'request <action> for <user>' (helpdesk, admin): a worker plans the named remediation; its
        plan answer opens the approval request (bot.app.App.open_plan) unless nothing would change."""
        if not intent.action:
            text = _t(
                lang,
                "Which change? request set_mail_nickname | lowercase_addresses | clear_smime_attribute for <user>.",
                "Welche Änderung? beantrage set_mail_nickname | lowercase_addresses | clear_smime_attribute für <Benutzer>.",
            )
            return Reply(text, "question", lang, intent=intent)
        if intent.action == "upload_issuing_ca":
            # names a CA (sha256 prefix or subject CN), not a user: the worker finds it
            subject = _after_for(req.text) or intent.subject_query or ""
        elif intent.subject is None:
            return self._nobody(intent, intent.subject_query or "?", lang)
        else:
            subject = intent.subject
        # Deduplicate by the platform's event id (a re-delivered message plans once), not by time
        # window: asking again must plan from the directory as it is now, not reuse an old plan.
        event = req.request_id or secrets.token_hex(8)
        basis = json.dumps([asker.key, "plan_action", intent.action, subject, lang, req.platform, event])
        job_id = "q-" + hashlib.sha256(basis.encode()).hexdigest()[:24]
        job = JobSpec(job_id, "plan_action", INTERACTIVE, lang, asker.key, subject, action=intent.action)
        what = _t(
            lang,
            f"what {intent.action} would change for {subject}",
            f"was {intent.action} für {subject} ändern würde",
        )
        return Reply(
            WORKING[lang].format(what=what), "ack", lang, job=job, intent=replace(intent, subject=subject)
        )

    def _pending(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        waiting = [r for r in self.approvals.pending() if not asker.is_same(r.requester_identity)]
        if not waiting:
            return Reply(
                _t(lang, "Nothing waits for your approval.", "Nichts wartet auf Ihre Freigabe."),
                "answer",
                lang,
            )
        head = _t(
            lang,
            "Waiting for your approval (answer 'approve <id>' or 'deny <id> because …'):",
            "Wartet auf Ihre Freigabe (antworten Sie „genehmige <id>“ oder „lehne <id> ab, weil …“):",
        )
        return Reply("\n".join([head, *(f"  • {self._describe(r, lang)}" for r in waiting)]), "answer", lang)

    def _describe(self, request: ApprovalRequest, lang: str) -> str:
        what = action_name(request.action, lang)
        n = len(request.plan.changes)
        who = self._display(request.requester)
        target = request.plan.primary_smtp or request.target
        return _t(
            lang,
            f"{request.id}: {what} for {target} ({n} change(s)), asked by {who}",
            f"{request.id}: {what} für {target} ({n} Änderung(en)), beantragt von {who}",
        )

    def _display(self, key: str) -> str:
        try:
            facts = self.directory.user(key)
        except (SmimeDoctorError, KeyError):  # a requester who left the directory is shown by key
            return key
        return f"{facts.display} <{facts.primary_smtp or key}>"

    def _decide(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        approve = intent.kind == "approve"
        request_id = intent.request_id
        if request_id is None:
            candidates = self._pending_of(intent.subject, asker)
            if intent.subject is None and intent.subject_query:
                return self._nobody(intent, intent.subject_query, lang)
            if len(candidates) != 1:
                return self._which_request(intent, candidates, lang)
            request_id = candidates[0].id
        outcome = self.approvals.decide(
            request_id, asker, approve, reason=intent.reason if not approve else None
        )
        return Reply(
            outcome.message[lang],
            "answer" if outcome.ok else "refusal",
            lang,
            intent=replace(intent, request_id=request_id),
        )

    def _pending_of(self, requester: str | None, asker: Person) -> list[ApprovalRequest]:
        """Pending requests this approver may decide, of `requester` (an address) when named."""
        waiting = [r for r in self.approvals.pending() if not asker.is_same(r.requester_identity)]
        if requester is None:
            return waiting
        try:
            ids = self.identity.resolve("directory", self.directory.resolve(requester)).ids
        except (IdentityError, UnknownUserError, AmbiguousUserError):
            return []
        return [
            r
            for r in waiting
            if set(ids) & set(r.requester_identity) or r.target.lower() == requester.lower()
        ]

    def _which_request(self, intent: Intent, candidates: list[ApprovalRequest], lang: str) -> Reply:
        if not candidates:
            who = intent.subject
            text = (
                _t(
                    lang,
                    f"Nothing from {who} waits for your decision.",
                    f"Von {who} wartet nichts auf Ihre Entscheidung.",
                )
                if who
                else _t(lang, "Nothing waits for your decision.", "Nichts wartet auf Ihre Entscheidung.")
            )
            return Reply(text, "answer", lang, intent=intent)
        choices = tuple(Choice(r.id, self._describe(r, lang)) for r in candidates[:9])
        question = Intent("clarify", lang, choices=choices, question="request", resume=intent)
        head = _t(lang, "Which request do you mean?", "Welchen Antrag meinen Sie?")
        return Reply(
            head + "\n" + _numbered(tuple(c.label for c in choices)),
            "question",
            lang,
            choices=tuple(c.label for c in choices),
            intent=question,
        )

    def _undo(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        """'undo R-…': a NEW approval request whose plan adds back exactly what a done clean-up removed."""
        request_id = intent.request_id or self._last_done_for(intent.subject)
        done = self.approvals.get(request_id) if self.approvals is not None and request_id else None
        if done is None:
            text = _t(
                lang,
                f"There is no request {request_id or '(no id given)'}."
                if not intent.subject
                else f"I found no completed change for {intent.subject}.",
                f"Einen Antrag {request_id or '(keine Id angegeben)'} gibt es nicht."
                if not intent.subject
                else f"Für {intent.subject} finde ich keine abgeschlossene Änderung.",
            )
            return Reply(text, "refusal", lang, intent=intent)
        try:
            plan = undo_plan(done)
        except ValueError:
            text = _t(
                lang,
                f"{done.id} is {done.state} ({done.action}); only a completed clean-up can be undone.",
                f"{done.id} ist {done.state} ({done.action}); nur eine abgeschlossene Bereinigung kann rückgängig gemacht werden.",
            )
            return Reply(text, "refusal", lang, intent=intent)
        notify: dict[str, Any] = {
            "platform": req.platform,
            **req.conversation,
            "target_id": f"undo:{req.request_id or secrets.token_hex(6)}",
            "lang": lang,
        }
        if req.platform == "console" and self.settings.redis_url and "session" in req.conversation:
            # a console session reads its own outbox stream (bot/console.py)
            notify.setdefault(
                "stream", f"{self.settings.outbox_stream}:console:{req.conversation['session']}"
            )
        request = self.approvals.open("undo", asker, done.target, plan, notify, req.platform)
        n = len(plan.changes)
        who = plan.primary_smtp or done.target
        text = _t(
            lang,
            f"Undo of {done.id}: put back {n} value(s) for {who}. Request {request.id} waits for an approver; nothing changes until then.",
            f"Rücknahme von {done.id}: {n} Wert(e) für {who} wiederherstellen. Antrag {request.id} wartet auf Freigabe; bis dahin ändert sich nichts.",
        )
        return Reply(text, "answer", lang, intent=replace(intent, request_id=done.id))

    def _last_done_for(self, subject: str | None) -> str | None:
        """The newest completed request for a person ("undo what you did for stella")."""
        if subject is None or self.audit is None:
            return None
        key = self.directory.user(self.directory.resolve(subject)).key
        done = [e["request"] for e in self.audit.entries(key) if e.get("state") == "done"]
        return done[-1] if done else None

    def _history_of(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        if intent.subject is None:
            return self._nobody(intent, intent.subject_query or "?", lang)
        if refusal := self._refused_about_others(asker, intent, lang, intent.subject):
            return refusal
        return Reply(self._history(intent.subject, lang), "answer", lang, intent=intent)

    def _history(self, subject: str, lang: str) -> str:
        """Every recorded approval event that concerns the user (as target or requester), newest last."""
        key = self.directory.user(self.directory.resolve(subject)).key
        entries = list(self.audit.entries(key)) if self.audit is not None else []
        if not entries:
            return _t(
                lang,
                f"No recorded requests or changes for {subject}.",
                f"Für {subject} sind keine Anträge oder Änderungen erfasst.",
            )
        head = _t(lang, f"History of {subject}:", f"Verlauf von {subject}:")
        lines = [
            f"  • {e['at']} {e['event']} {e['action']} {e['request']} ({e['state']}"
            + (f", by {', '.join(e['actors'])}" if e["actors"] else "")
            + ")"
            for e in entries[-20:]
        ]
        return "\n".join([head, *lines])

    def _explain(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        return Reply(helptext.explain(intent.check_id, lang), "answer", lang)

    def _about(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        return Reply(helptext.about(lang), "answer", lang)

    def _help(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        return Reply(helptext.help_text(self.policy.roles_of(asker), lang), "help", lang)

    def _unknown(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        if intent.question == "declined":
            text = _t(
                lang,
                "All right — tell me the name or the mail address.",
                "In Ordnung — nennen Sie mir den Namen oder die Mailadresse.",
            )
            return Reply(text, "question", lang)
        return Reply(helptext.not_understood(req.text, self.policy.roles_of(asker), lang), "help", lang)

    def _clarify(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        labels = tuple(c.label for c in intent.choices)
        if intent.question == "decision":
            rid = intent.request_id or find_request_id(req.text) or "R-…"
            text = _t(
                lang,
                f"Approve or deny {rid}? Answer 'approve {rid}' or 'deny {rid} because …'.",
                f"{rid} genehmigen oder ablehnen? Antworten Sie „genehmige {rid}“ oder „lehne {rid} ab, weil …“.",
            )
            return Reply(text, "question", lang)
        if intent.question == "near" and len(labels) == 1:
            text = _t(
                lang,
                f"I found nobody called '{intent.subject_query}'. Did you mean {labels[0]}? (yes/no)",
                f"Ich finde niemanden namens „{intent.subject_query}“. Meinten Sie {labels[0]}? (ja/nein)",
            )
            return Reply(text, "question", lang, choices=labels)
        if intent.question == "near":
            head = _t(
                lang,
                f"I found nobody called '{intent.subject_query}'. Did you mean one of these?",
                f"Ich finde niemanden namens „{intent.subject_query}“. Meinten Sie eine dieser Personen?",
            )
        else:
            head = _t(
                lang,
                f"'{intent.subject_query}' matches several people — which one do you mean?",
                f"„{intent.subject_query}“ passt auf mehrere Personen — wen meinen Sie?",
            )
        tail = _t(lang, "Answer with the number or the name.", "Antworten Sie mit der Nummer oder dem Namen.")
        return Reply("\n".join([head, _numbered(labels), tail]), "question", lang, choices=labels)

    # -- jobs -------------------------------------------------------------------------------
    def _job(
        self,
        kind: JobKind,
        asker: Person,
        lang: str,
        intent: Intent,
        *,
        what: str,
        queue: str = INTERACTIVE,
        subject: str | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        focus: str | None = None,
    ) -> Reply:
        window = self.settings.dedup_window_s
        slot = int(time.time() // window) if window else secrets.token_hex(8)  # 0 turns deduplication off
        basis = json.dumps([asker.key, kind, subject, sender, recipient, lang, focus, slot])
        job_id = "q-" + hashlib.sha256(basis.encode()).hexdigest()[:24]
        job = JobSpec(job_id, kind, queue, lang, asker.key, subject, sender, recipient, focus=focus)
        return Reply(WORKING[lang].format(what=what), "ack", lang, job=job, intent=intent)

    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:
        """Queue the job for this conversation. Raises ServiceUnavailable with a sentence for the user."""
        self.queue.submit(job, target)


def _numbered(labels: tuple[str, ...]) -> str:
    return "\n".join(f"  {i}. {label}" for i, label in enumerate(labels, 1))


def _after_for(text: str) -> str | None:
    """upload_issuing_ca names a CA, not a person: the words after "for"/"für", as typed."""
    m = re.search(r"\b(?:for|für|fuer)\s+(.+)$", text.strip(), re.I)
    return m.group(1).strip(" ?.!\"'") if m else None
