"""From a chat message to an answer: intent → who asks → may they → resolve names → queue.

`Dispatcher.handle` returns at once (it does no diagnosis), so transports can acknowledge
within milliseconds; the work runs on a JobQueue — RQ on Redis, or in-process when no Redis
is configured — and its answer comes back through the outbox.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from handlers import help as helptext
from handlers.identity import IdentityError, IdentityResolver, Person
from handlers.intents import MAX_MESSAGE_CHARS, Intent, parse
from handlers.policy import Policy
from handlers.types import ChatRequest, Reply
from workers.answers import TextAnswer, to_json
from workers.config import Settings
from workers.errors import AmbiguousUserError, ServiceUnavailable, UnknownUserError
from workers.jobs import (
    BULK,
    INTERACTIVE,
    answer_key,
    answer_or_error,
    on_job_failure,
    outbox_message,
    targets_key,
)
from workers.jobspec import JobKind, JobSpec
from workers.keys import Keys
from workers.outbox import RedisOutbox
from workers.remediation.states import undo_plan

if TYPE_CHECKING:
    from workers.sources.directory import Directory

WORKING = {
    "en": "Checking {what} … one moment.",
    "de": "Ich prüfe {what} … einen Moment.",
}
UNAVAILABLE = {
    "en": "The service is unavailable right now; please try again in a minute.",
    "de": "Der Dienst ist gerade nicht erreichbar; bitte in einer Minute erneut versuchen.",
}
TOO_LONG = {
    "en": f"That message is too long for me (over {MAX_MESSAGE_CHARS:,} characters); "
    "please ask in one short sentence, e.g. 'check alice'.",
    "de": f"Diese Nachricht ist mir zu lang (über {MAX_MESSAGE_CHARS:,} Zeichen); ".replace(",", ".")
    + "bitte fragen Sie in einem kurzen Satz, z. B. „prüfe alice“.",
}

log = logging.getLogger("smime_doctor.dispatch")


def _outage_errors() -> tuple[type[Exception], ...]:
    try:
        from redis.exceptions import (
            ConnectionError as RedisConnectionError,  # deferred: Redis is optional (the embedded mode runs without it)
        )
        from redis.exceptions import (
            TimeoutError as RedisTimeoutError,  # deferred: Redis is optional (the embedded mode runs without it)
        )
    except ImportError:  # embedded mode needs no redis package
        return (ServiceUnavailable,)
    return (ServiceUnavailable, RedisConnectionError, RedisTimeoutError)


# Redis (approvals, audit trail, job queue) cannot be reached: the asker gets UNAVAILABLE.
# Caught where a chat command or a button click enters (Dispatcher.handle, the transports'
# approval clicks), never per command.
OUTAGE: tuple[type[Exception], ...] = _outage_errors()


def log_outage(where: str, exc: BaseException) -> None:
    """One line naming only the exception's type (its text names hosts; a URL could carry a password)."""
    log.warning("%s: Redis or the job queue is unreachable (%s); told the user", where, type(exc).__name__)


class JobQueue(Protocol):
    def submit(self, job: JobSpec, target: dict[str, Any]) -> None: ...


def locale_lang(locale: str | None) -> str | None:
    if not locale:
        return None
    return "de" if locale.lower().startswith("de") else "en"


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        identity: IdentityResolver,
        policy: Policy,
        queue: JobQueue,
        approvals: Any = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.identity = identity
        self.policy = policy
        self.queue = queue
        self.approvals = approvals
        self.audit: Any = None  # the audit trail (workers.audit.AuditTrail), set by the app

    # -- the immediate part ---------------------------------------------------------------
    def handle(self, req: ChatRequest) -> Reply:
        if len(req.text) > MAX_MESSAGE_CHARS:  # before any parsing: a pasted log is not a question
            lang = locale_lang(req.locale) or self.settings.lang
            return Reply(TOO_LONG[lang], "refusal", lang)
        intent = parse(req.text)
        lang = intent.lang or locale_lang(req.locale) or self.settings.lang
        try:
            asker = self.identity.resolve(req.platform, req.user_id)
        except IdentityError as exc:
            return Reply(str(exc), "error", lang)
        if intent.kind == "help":
            return Reply(helptext.help_text(self.policy.roles_of(asker), lang), "help", lang)
        if intent.kind == "unknown":
            return Reply(helptext.not_understood(intent.suggestions, lang), "help", lang)
        if intent.kind == "explain":
            return Reply(helptext.explain(intent.check_id, lang), "answer", lang)
        try:
            return self._plan(intent, asker, req, lang)
        except AmbiguousUserError as exc:
            text = {
                "en": f"'{exc.query}' matches several people — which one do you mean?",
                "de": f"„{exc.query}“ passt auf mehrere Personen — wen meinen Sie?",
            }[lang]
            return Reply(
                text + "\n" + "\n".join(f"  • {c}" for c in exc.candidates),
                "question",
                lang,
                choices=tuple(exc.candidates),
            )
        except UnknownUserError as exc:
            near = f" ({', '.join(exc.candidates)}?)" if exc.candidates else ""
            text = {
                "en": f"I found nobody called '{exc.query}' in the directory{near}. Try their mail address.",
                "de": f"Ich finde niemanden namens „{exc.query}“ im Verzeichnis{near}. Versuchen Sie die Mailadresse.",
            }[lang]
            return Reply(text, "error", lang, choices=tuple(exc.candidates))
        except OUTAGE as exc:  # approve/deny/pending/undo/history read and write Redis here
            log_outage(f"chat command {intent.kind}", exc)
            return Reply(UNAVAILABLE[lang], "unavailable", lang)

    def _plan(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        me = asker.primary_smtp or asker.key
        if intent.kind == "self_check":
            return self._job("diagnose", asker, lang, subject=me, what=me)
        if intent.kind == "why_to_me":
            if not intent.sender:
                return self._job("diagnose", asker, lang, subject=me, what=me)
            sender = self._sender_name(intent.sender)
            return self._job("encrypt_to", asker, lang, sender=sender, recipient=me, what=f"{sender} → {me}")
        if intent.kind == "reset":
            # A worker computes the exact plan; when it comes back the bot opens the approval request
            # (bot.app.App.open_plan) and shows the plan to the asker and to the approvers.
            what = {"en": "what a reset would change", "de": "was ein Zurücksetzen ändern würde"}[lang]
            return self._job("plan_reset", asker, lang, subject=me, what=what)
        if intent.kind == "request":
            return self._request(intent, asker, req, lang)
        if intent.kind == "check":
            subject = self._resolve(intent.subject or "")
            if refusal := self._refuse(asker, "check", subject, lang):
                return refusal
            return self._job("diagnose", asker, lang, subject=subject, what=subject)
        if intent.kind == "why":
            sender = self._sender_name(intent.sender or "")
            recipient = self._resolve(intent.recipient or "")
            if refusal := self._refuse(asker, "why", recipient, lang):
                return refusal
            return self._job(
                "encrypt_to", asker, lang, sender=sender, recipient=recipient, what=f"{sender} → {recipient}"
            )
        if intent.kind == "audit":
            if refusal := self._refuse(asker, "audit", None, lang):
                return refusal
            what = {"en": "the whole tenant", "de": "den ganzen Mandanten"}[lang]
            return self._job("audit", asker, lang, what=what, queue=BULK)
        if intent.kind in ("approve", "deny"):
            outcome = self.approvals.decide(intent.request_id or "", asker, intent.kind == "approve")
            return Reply(outcome.message[lang], "answer" if outcome.ok else "refusal", lang)
        if intent.kind == "undo":
            return self._undo(intent.request_id or "", asker, req, lang)
        if intent.kind == "pending":
            roles = self.policy.roles_of(asker)
            if not roles & {"approver", "admin"}:
                return Reply(
                    {
                        "en": "Only approvers have pending approvals.",
                        "de": "Nur freigebende Personen haben offene Freigaben.",
                    }[lang],
                    "refusal",
                    lang,
                )
            waiting = [r for r in self.approvals.pending() if not asker.is_same(r.requester_identity)]
            if not waiting:
                return Reply(
                    {"en": "Nothing waits for your approval.", "de": "Nichts wartet auf Ihre Freigabe."}[
                        lang
                    ],
                    "answer",
                    lang,
                )
            lines = [
                f"  • {r.id}: {r.action} for {r.target} ({len(r.plan.get('changes', []))} change(s)), asked by {r.requester}"
                for r in waiting
            ]
            head = {
                "en": "Waiting for approval (answer 'approve <id>' or 'deny <id>'):",
                "de": "Warten auf Freigabe (antworten Sie 'freigeben <id>' oder 'ablehnen <id>'):",
            }[lang]
            return Reply("\n".join([head, *lines]), "answer", lang)
        if intent.kind == "history":
            subject = self._resolve(intent.subject or "")
            if refusal := self._refuse(asker, "history", subject, lang):
                return refusal
            return Reply(self._history(intent.subject or "", subject, lang), "answer", lang)
        return Reply(helptext.not_understood(intent.suggestions, lang), "help", lang)

    def _request(self, intent: Intent, asker: Person, req: ChatRequest, lang: str) -> Reply:
        """'request <action> for <user>' (helpdesk, admin): a worker plans the named remediation; its
        plan answer opens the approval request (bot.app.App.open_plan) unless nothing would change."""
        if not self.policy.roles_of(asker) & {"helpdesk", "admin"}:
            return Reply(
                {
                    "en": "Only helpdesk staff may request a remediation for a user; ask the helpdesk.",
                    "de": "Nur das Helpdesk darf eine Korrektur für einen Benutzer beantragen; bitte wenden Sie sich an das Helpdesk.",
                }[lang],
                "refusal",
                lang,
            )
        if not intent.action:
            return Reply(
                {
                    "en": "Which change? request set_mail_nickname | lowercase_addresses | clear_smime_attribute for <user>.",
                    "de": "Welche Änderung? beantrage set_mail_nickname | lowercase_addresses | clear_smime_attribute für <Benutzer>.",
                }[lang],
                "question",
                lang,
            )
        # upload_issuing_ca names a CA (sha256 prefix or subject CN), not a user: the worker finds it
        subject = (
            (intent.subject or "").strip()
            if intent.action == "upload_issuing_ca"
            else self._resolve(intent.subject or "")
        )
        # Deduplicate by the platform's event id (a re-delivered message plans once), not by time
        # window: asking again must plan from the directory as it is now, not reuse an old plan.
        event = req.request_id or secrets.token_hex(8)
        basis = json.dumps([asker.key, "plan_action", intent.action, subject, lang, req.platform, event])
        job_id = "q-" + hashlib.sha256(basis.encode()).hexdigest()[:24]
        job = JobSpec(job_id, "plan_action", INTERACTIVE, lang, asker.key, subject, action=intent.action)
        what = {
            "en": f"what {intent.action} would change for {subject}",
            "de": f"was {intent.action} für {subject} ändern würde",
        }[lang]
        return Reply(WORKING[lang].format(what=what), "ack", lang, job=job)

    def _undo(self, request_id: str, asker: Person, req: ChatRequest, lang: str) -> Reply:
        """'undo R-…': a NEW approval request whose plan adds back exactly what a done clean-up removed."""
        if not self.policy.roles_of(asker) & {"helpdesk", "approver", "admin"}:
            return Reply(
                {
                    "en": "Only helpdesk staff and approvers may undo a clean-up; ask the helpdesk.",
                    "de": "Nur das Helpdesk und freigebende Personen können eine Bereinigung rückgängig machen.",
                }[lang],
                "refusal",
                lang,
            )
        done = self.approvals.get(request_id) if self.approvals is not None else None
        if done is None:
            return Reply(
                {
                    "en": f"There is no request {request_id or '(no id given)'}.",
                    "de": f"Einen Antrag {request_id or '(keine Id angegeben)'} gibt es nicht.",
                }[lang],
                "refusal",
                lang,
            )
        try:
            plan = undo_plan(done)
        except ValueError:
            return Reply(
                {
                    "en": f"{done.id} is {done.state} ({done.action}); only a completed clean-up can be undone.",
                    "de": f"{done.id} ist {done.state} ({done.action}); nur eine abgeschlossene Bereinigung kann rückgängig gemacht werden.",
                }[lang],
                "refusal",
                lang,
            )
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
        n = len(plan["changes"])
        return Reply(
            {
                "en": f"Undo of {done.id}: put back {n} value(s) for {plan.get('primary_smtp') or done.target}. "
                f"Request {request.id} waits for an approver; nothing changes until then.",
                "de": f"Rücknahme von {done.id}: {n} Wert(e) für {plan.get('primary_smtp') or done.target} wiederherstellen. "
                f"Antrag {request.id} wartet auf Freigabe; bis dahin ändert sich nichts.",
            }[lang],
            "answer",
            lang,
        )

    def _history(self, name: str, subject: str, lang: str) -> str:
        """Every recorded approval event that concerns the user (as target or requester), newest last."""
        key = self.directory.user(self.directory.resolve(name)).key
        entries = list(self.audit.entries(key)) if self.audit is not None else []
        if not entries:
            return {
                "en": f"No recorded requests or changes for {subject}.",
                "de": f"Für {subject} sind keine Anträge oder Änderungen erfasst.",
            }[lang]
        head = {"en": f"History of {subject}:", "de": f"Verlauf von {subject}:"}[lang]
        lines = [
            f"  • {e['at']} {e['event']} {e['action']} {e['request']} ({e['state']}"
            + (f", by {', '.join(e['actors'])}" if e["actors"] else "")
            + ")"
            for e in entries[-20:]
        ]
        return "\n".join([head, *lines])

    def _resolve(self, name: str) -> str:
        """A name typed in chat → the directory's primary address (raises Unknown/Ambiguous)."""
        facts = self.directory.user(self.directory.resolve(name))
        return str(facts.primary_smtp or facts.key)

    def _sender_name(self, name: str) -> str:
        facts = self.directory.sender(name)
        return str(facts.external_address if facts.external else (facts.primary_smtp or facts.key))

    def _refuse(self, asker: Person, kind: str, subject: str | None, lang: str) -> Reply | None:
        about_self = subject is not None and subject.lower() in asker.names
        decision = self.policy.decide(asker, kind, about_self)
        if decision.allowed:
            return None
        assert decision.reason is not None
        return Reply(decision.reason[lang], "refusal", lang)

    def _job(
        self,
        kind: JobKind,
        asker: Person,
        lang: str,
        *,
        what: str,
        queue: str = INTERACTIVE,
        subject: str | None = None,
        sender: str | None = None,
        recipient: str | None = None,
    ) -> Reply:
        window = self.settings.dedup_window_s
        slot = int(time.time() // window) if window else secrets.token_hex(8)  # 0 turns deduplication off
        basis = json.dumps([asker.key, kind, subject, sender, recipient, lang, slot])
        job_id = "q-" + hashlib.sha256(basis.encode()).hexdigest()[:24]
        job = JobSpec(job_id, kind, queue, lang, asker.key, subject, sender, recipient)
        return Reply(WORKING[lang].format(what=what), "ack", lang, job=job)

    # -- the queued part ------------------------------------------------------------------
    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:
        """Queue the job for this conversation. Raises ServiceUnavailable with a sentence for the user."""
        self.queue.submit(job, target)


class InProcessQueue:
    """The embedded default: jobs run on a small thread pool in this process."""

    def __init__(self, directory: Directory, outbox: Any, workers: int = 2) -> None:
        self.directory = directory
        self.outbox = outbox
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smime-job")
        self._jobs: dict[str, tuple[Future[dict[str, Any]], list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:
        with self._lock:
            running = self._jobs.get(job.job_id)
            if running is not None:
                future, targets = running
                if not future.done():
                    targets.append(target)  # the same question again: one run, two answers
                    return
                self.outbox.publish(outbox_message(job.job_id, target, future.result()))
                return
            targets = [target]
            future = self.pool.submit(answer_or_error, job.to_dict(), self.directory)
            self._jobs[job.job_id] = (future, targets)
        future.add_done_callback(lambda f: self._done(job.job_id, f))

    def _done(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        try:
            answer = future.result()
        except Exception as exc:  # a bug must still produce an answer for the asker
            answer = to_json(TextAnswer(f"Sorry — this could not be checked ({type(exc).__name__})."))
        with self._lock:
            targets = list(self._jobs[job_id][1])
        for target in targets:
            self.outbox.publish(outbox_message(job_id, target, answer))

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class RQQueue:
    """RQ on Redis: `interactive` before `bulk`, job timeouts, retries for transient errors, dedup by job id."""

    def __init__(self, redis: Any, settings: Settings) -> None:
        from rq import Queue  # deferred: RQ is optional (the embedded mode runs without Redis)

        self.redis = redis
        self.settings = settings
        self.queues = {name: Queue(name, connection=redis) for name in (INTERACTIVE, BULK)}

    def submit(self, job: JobSpec, target: dict[str, Any]) -> None:
        from redis.exceptions import (
            RedisError,  # deferred: Redis is optional (the embedded mode runs without it)
        )
        from rq import Callback, Retry  # deferred: RQ is optional (the embedded mode runs without Redis)

        s = self.settings
        ttl = max(s.dedup_window_s, 60) * 2
        try:
            pipe = self.redis.pipeline()
            pipe.rpush(targets_key(s, job.job_id), json.dumps(target))
            pipe.expire(targets_key(s, job.job_id), ttl + s.job_timeout_s)
            pipe.set(Keys(s.key_prefix).job(job.job_id), "1", nx=True, ex=ttl)
            _, _, first = pipe.execute()
            if not first:
                # Asked again within the window: the running job answers every target it finds;
                # if it already finished, answer this conversation from the stored answer.
                stored = self.redis.get(answer_key(s, job.job_id))
                if stored is not None:
                    outbox = RedisOutbox(self.redis, s.outbox_stream)
                    outbox.publish(
                        outbox_message(job.job_id, target, json.loads(stored)), stream=target.get("stream")
                    )
                return
            timeout = s.job_timeout_s * (10 if job.queue == BULK else 1)
            self.queues[job.queue].enqueue(
                "workers.jobs.run_chat_job",
                job.to_dict(),
                job_id=job.job_id,
                job_timeout=timeout,
                # Lost workers: RQ re-runs the job at once (no interval, so no scheduler lock to wait for).
                # Transient source errors are retried with backoff inside the job (workers.jobs).
                retry=Retry(max=s.job_retries) if s.job_retries else None,
                result_ttl=ttl,
                failure_ttl=86_400,
                on_failure=Callback(on_job_failure),
            )
        except RedisError:
            raise ServiceUnavailable("the job queue (Redis) cannot be reached") from None
