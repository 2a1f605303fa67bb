"""Job entry points: plain ids and options in, an answer on the outbox out.

The same `compute_answer` runs in an RQ worker process (`run_chat_job`) and in-process (the
embedded default). It never imports `bot/` or `handlers/` and holds no chat credentials: the
answer is pure data (the Report contract), rendered per platform by the bot.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from workers.answers import Answer, AuditAnswer, PlanAnswer, ReportAnswer, TextAnswer, to_json
from workers.config import Settings, load_settings
from workers.diagnosis import Engine
from workers.errors import Retryable, SmimeDoctorError, UserLookupError, admin_text, user_sentence
from workers.focus import focused, for_whom
from workers.jobspec import BULK, INTERACTIVE, JOB_KINDS  # noqa: F401  (re-exported)
from workers.keys import Keys
from workers.outbox import RedisOutbox
from workers.plan_types import Plan
from workers.remediation.plan import (
    action_summary,
    find_ca,
    plan_action,
    plan_reset,
    plan_summary,
    plan_upload_issuing_ca,
)
from workers.report import AuditSummary
from workers.sources.directory import _directory, directory_for  # noqa: F401  (re-exported)
from workers.timestamps import parse_time

if TYPE_CHECKING:
    from workers.sources.directory import Directory

log = logging.getLogger("smime_doctor.jobs")


def evaluation_time(spec: dict[str, Any], directory: Directory) -> datetime:
    if spec.get("at"):
        at = parse_time(spec["at"])
        if at is not None:
            return at
    if directory.is_demo and directory.tenant.collected_at:
        return directory.tenant.collected_at  # the demo tenant is a fixed moment in time
    return datetime.now(UTC)


def compute_answer(spec: dict[str, Any], directory: Directory) -> Answer:
    """Run one job. Returns a report, audit, plan or text answer (workers/answers.py); bad names
    become a sentence."""

    kind = spec["kind"]
    lang = spec.get("lang") or "en"
    at = evaluation_time(spec, directory)
    engine = Engine(directory.tenant, at, lang=lang)
    try:
        if kind == "diagnose":
            user = directory.find(spec["subject"])
            diagnosis = engine.diagnose(user, spec["subject"]).to_json()
            return ReportAnswer(for_whom(focused(diagnosis, spec.get("focus"), lang), user, spec))
        if kind == "encrypt_to":
            recipient = directory.find(spec["recipient"])
            sender = directory.sender(spec["sender"])
            report = engine.encrypt_to(recipient, sender, spec["recipient"], spec["sender"])
            return ReportAnswer(for_whom(report.to_json(), recipient, spec))
        if kind == "plan_reset":
            user = directory.find(spec["subject"])
            plan = plan_reset(user, at)
            texts = {lg: plan_summary(plan, lg) for lg in ("en", "de")}
            return PlanAnswer(plan=plan, summary=texts[lang], summaries=texts, asker=spec["asker"])
        if kind == "plan_action":
            # "request <action> for <user>" (helpdesk): the plan of one named remediation; like
            # plan_reset's answer, the bot opens the approval request when it has changes.

            if spec["action"] == "upload_issuing_ca":
                plan = _plan_issuing_ca(directory, spec["subject"], at)
            else:
                user = directory.find(spec["subject"])
                plan = plan_action(spec["action"], user, at)
            texts = {lg: action_summary(plan, lg) for lg in ("en", "de")}
            return PlanAnswer(plan=plan, summary=texts[lang], summaries=texts, asker=spec["asker"])
        if kind == "audit":
            summary = AuditSummary()
            for report in engine.audit(directory.iter_users()):
                summary.add(report.to_json())
            return AuditAnswer(summary.to_json(), tuple(f.to_json() for f in engine.tenant_findings()))
        raise ValueError(f"unknown job kind {kind!r}")
    except UserLookupError as exc:
        return TextAnswer(str(exc), candidates=tuple(exc.candidates))
    finally:
        engine.close()


def _plan_issuing_ca(directory: Directory, wanted: str, at: datetime) -> Plan:
    """upload_issuing_ca: the CA from the tenant facts, the current SST from Get-SmimeConfig."""

    ca = find_ca(directory, wanted)
    exchange = directory.exchange
    current = exchange.get_smime_issuing_ca() if exchange is not None and ca is not None else None
    return plan_upload_issuing_ca(ca, current, wanted, at)


TRANSIENT_ATTEMPTS = 3


def answer_or_error(spec: dict[str, Any], directory: Directory) -> Answer:
    """compute_answer, with transient source errors retried (exponential backoff with jitter)
    and our other errors turned into a sentence for the asker. The answer is typed; whoever puts
    it on the outbox writes its JSON (workers/answers.py to_json)."""

    attempt = retry(
        retry=retry_if_exception_type(Retryable),
        stop=stop_after_attempt(TRANSIENT_ATTEMPTS),
        wait=wait_random_exponential(multiplier=1, max=8),
        reraise=True,
    )(compute_answer)
    lang = spec.get("lang") or "en"
    try:
        return attempt(spec, directory)
    except Retryable as exc:
        _log_failure(spec, exc)
        text = user_sentence(exc, lang)
        return TextAnswer(f"{text} — tried {TRANSIENT_ATTEMPTS} times; please try again later.")
    except SmimeDoctorError as exc:
        # the asker gets the sentence only (never a host, port or setting); the log gets the detail
        _log_failure(spec, exc)
        return TextAnswer(user_sentence(exc, lang))


def _log_failure(spec: dict[str, Any], exc: SmimeDoctorError) -> None:
    detail = admin_text(exc)
    log.warning(
        "job.failed: %s: %s",
        spec.get("kind"),
        detail,
        extra={"kind": spec.get("kind"), "error": type(exc).__name__, "detail": detail},
    )


# -- RQ ------------------------------------------------------------------------------------


def run_chat_job(spec: dict[str, Any]) -> str:
    """RQ entry point: compute, remember the answer for duplicates, publish to every waiting conversation."""
    from redis import Redis  # deferred: Redis is optional (the embedded mode runs without it)

    settings = load_settings()
    assert settings.redis_url, "an RQ worker needs SMIME_DOCTOR_REDIS_URL"
    redis = Redis.from_url(settings.redis_url)
    answer = answer_or_error(spec, directory_for(settings))
    publish_answer(
        redis, RedisOutbox(redis, settings.outbox_stream), settings, spec["job_id"], to_json(answer)
    )
    return answer.kind


def answer_key(settings: Settings, job_id: str) -> str:
    return Keys(settings.key_prefix).answer(job_id)


def targets_key(settings: Settings, job_id: str) -> str:
    return Keys(settings.key_prefix).targets(job_id)


def publish_answer(redis: Any, outbox: Any, settings: Settings, job_id: str, answer: dict[str, Any]) -> None:
    """Store the answer (a duplicate question arriving later reuses it), then publish it for every
    conversation waiting on this job. Delivery deduplicates per (job, target), so publishing the
    same target twice after a retry is harmless. `answer` is its JSON (workers/answers.py
    to_json), the form stored and carried on the outbox."""
    ttl = max(settings.dedup_window_s, 60) * 2
    redis.set(answer_key(settings, job_id), json.dumps(answer, ensure_ascii=False), ex=ttl)
    for raw in redis.lrange(targets_key(settings, job_id), 0, -1):
        target = json.loads(raw)
        outbox.publish(outbox_message(job_id, target, answer), stream=target.get("stream"))


def on_job_failure(
    job: Any, connection: Any, exc_type: Any = None, exc_value: Any = None, tb: Any = None
) -> None:
    """RQ failure callback (retries exhausted, timeout, lost worker): tell the asker instead of leaving
    them waiting. Only a short reason reaches the chat; the traceback stays in the worker log."""

    settings = load_settings()
    spec = job.args[0] if job.args else {}
    if getattr(job, "retries_left", 0):
        return  # RQ will run it again; the asker keeps waiting for the real answer
    reason = exc_type.__name__ if isinstance(exc_type, type) else "error"
    text = {
        "en": f"Sorry — this could not be checked right now ({reason}). Please try again in a few minutes.",
        "de": f"Das konnte gerade nicht geprüft werden ({reason}). Bitte in ein paar Minuten erneut versuchen.",
    }["de" if spec.get("lang") == "de" else "en"]
    publish_answer(
        connection,
        RedisOutbox(connection, settings.outbox_stream),
        settings,
        job.id,
        to_json(TextAnswer(text)),
    )


def outbox_message(job_id: str, target: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": f"{job_id}:{target['target_id']}",
        "job_id": job_id,
        "target": target,
        "answer": answer,
    }
