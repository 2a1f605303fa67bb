"""Executing an approved plan against live AD — exactly once, only as approved — and undoing it.

`run_execute(request_id)` is the RQ job (queue `interactive`, job id `exec-<request id>`) that
the bot enqueues when a request becomes approved. It:

1. moves approved → executing with a compare-and-set (a retried job that finds `executing`
   continues idempotently; `done`/`failed` means nothing to do);
2. re-validates: every approver still holds the role in *this worker's* configuration, and
   the target's certificate attributes in AD hold exactly the plan's before-state (sha256 of
   every value) — otherwise it fails with a sentence asking for a fresh request, writing nothing;
3. saves the before-state (`{prefix}:backup:<request id>` in Redis, the audit file) and
   records an audit event;
4. applies the minimal LDAP modify: delete exactly the planned values, or (undo) add exactly
   the removed ones back;
5. verifies by re-reading AD and re-diagnosing the user, storing after-state digests;
6. finishes done | failed and tells the requester and the approvers.

AD unreachable (after a few quick retries inside the job) puts the request back to approved,
tells the requester, and raises so RQ retries the job later with backoff.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from workers.approvals_store import FINAL, ApprovalRequest, ApprovalStore, decision_identity
from workers.audit import AuditTrail, backup_dir, values_digest, write_backup
from workers.certs.encoding import decode_byte_list
from workers.certs.sst import read_sst
from workers.config import Settings, load_settings
from workers.diagnosis import Engine
from workers.errors import AdWriteConflict, Retryable, SmimeDoctorError, UserLookupError
from workers.jobspec import RQ_RETRY_INTERVALS_S, enqueue_execution  # noqa: F401  (re-exported)
from workers.keys import Keys
from workers.notify import Notifier
from workers.outbox import RedisOutbox
from workers.people import person_ids
from workers.remediation.states import (  # noqa: F401  (re-exported: undo_plan, expected_states)
    CERT_ATTRIBUTES,
    EXO_ATTRIBUTES,
    FRESH,
    REMOVALS,
    SST_KEY,
    TENANT_ACTIONS,
    TEXT_ACTIONS,
    UNDOABLE,
    Refused,
    _decode,
    _digest,
    _sha,
    _where,
    expected_states,
    undo_plan,
)
from workers.roles import RoleBook, group_ids_of, names_of
from workers.sources.directory import directory_for

if TYPE_CHECKING:
    from rq import Retry  # deferred: RQ is optional (the embedded mode runs without Redis)

    from workers.sources.directory import Directory

log = logging.getLogger("smime_doctor.execute")

ATTEMPTS = 3  # quick retries inside the job when AD is unreachable
BUSY_RETRY_S = 5  # a job that finds the request's execution lock held runs again this much later

# Told to the requester, so no setting names: an administrator finds those in docs/ad.md and docs/m365.md.
SNAPSHOT_ONLY = {
    "en": "Nothing was changed: this installation reads an offline snapshot; clean-ups need live AD, "
    "which an administrator can connect.",
    "de": "Nichts wurde geändert: diese Installation liest einen Offline-Schnappschuss; Bereinigungen "
    "brauchen das Live-AD, das ein Administrator anbinden kann.",
}
EXO_ONLY = {
    "en": "Nothing was changed: this recipient is cloud-only; changing it needs a connection to Exchange Online, "
    "which this installation does not have.",
    "de": "Nichts wurde geändert: dieser Empfänger ist nur in der Cloud; Änderungen brauchen eine Verbindung zu "
    "Exchange Online, die diese Installation nicht hat.",
}
TENANT_EXO_ONLY = {
    "en": "Nothing was changed: SMIMECertificateIssuingCA lives in Exchange Online, and this installation has "
    "no connection to it.",
    "de": "Nichts wurde geändert: SMIMECertificateIssuingCA liegt in Exchange Online, und diese Installation "
    "hat keine Verbindung dorthin.",
}
FOLLOWS = {
    "en": " Exchange Online follows with the next directory sync (about 30 minutes).",
    "de": " Exchange Online folgt mit der nächsten Verzeichnissynchronisierung (etwa 30 Minuten).",
}


class ExecutionDeferred(Retryable):
    """AD could not be reached: the request is back in approved and RQ runs the job again later."""


# -- the job ----------------------------------------------------------------------------------


class ExecutionLease:
    """The execution lock of one request, ``{prefix}:execlock:<id>``, as a lease.

    The value names the holder (``<RQ worker>|<job id>|<host>:<pid>|<nonce>``); a heartbeat thread
    renews the lease every third of ``lease_s`` while the holder runs and releases it (only if still
    its own) at the end. A holder that dies — SIGKILL, a lost host — stops renewing, so its lock
    lapses by itself at most ``lease_s`` later: no liveness lookup is needed, and none would work,
    as a SimpleWorker does not refresh its RQ worker record while a job runs. Inside an RQ job the
    same beat pulls this job's entry in RQ's StartedJobRegistry to the same horizon (RQ itself
    keeps it for job_timeout + 60 s), so RQ's own abandoned-job cleanup re-queues the job of a dead
    holder about ``lease_s`` after its death — right when its lock has lapsed."""

    def __init__(self, redis: Any, key: str, lease_s: int) -> None:
        from redis.lock import Lock  # deferred: Redis is optional (the embedded mode runs without it)
        from rq import get_current_job  # deferred: RQ is optional (the embedded mode runs without Redis)

        self.redis = redis
        self.key = key
        self.lease_s = lease_s
        self.job = get_current_job()
        self.lock = Lock(redis, key, timeout=lease_s, thread_local=False, raise_on_release_error=False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def holder(self) -> str:
        """Who holds the lock now (empty when nobody does)."""
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else str(value or "")

    def acquire(self) -> bool:
        worker = (self.job.worker_name if self.job is not None else None) or "-"
        job_id = self.job.id if self.job is not None else "-"
        token = f"{worker}|{job_id}|{socket.gethostname()}:{os.getpid()}|{uuid.uuid4().hex[:12]}"
        if not self.lock.acquire(blocking=False, token=token):
            return False
        self._beat_rq()
        self._thread = threading.Thread(target=self._run, name=f"lease-{self.key}", daemon=True)
        self._thread.start()
        return True

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.lock.release()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                self.lock.reacquire()
                self._beat_rq()
            except Exception as exc:  # Redis away for a moment: the next beat tries again
                log.warning("execute.lease_renewal_failed", extra={"lock": self.key, "error": repr(exc)})

    def _beat_rq(self) -> None:
        """Pull this job's execution in RQ's StartedJobRegistry to one lease from now (found through
        the worker's own execution index: other, dead executions of the job may linger there)."""
        job = self.job
        if job is None or not job.worker_name:
            return
        from rq.executions import (  # deferred: RQ is optional (the embedded mode runs without Redis)
            WORKER_EXECUTIONS_KEY_TEMPLATE,
            Execution,
        )

        try:
            index = self.redis.smembers(WORKER_EXECUTIONS_KEY_TEMPLATE.format(job.worker_name))
            mine = [k.decode() if isinstance(k, bytes) else str(k) for k in index]
            ttl = self.lease_s + 1  # the lock lapses first: RQ re-runs the job only once it is free
            with self.redis.pipeline() as pipeline:
                for composite in mine:
                    if composite.startswith(f"{job.id}:"):
                        execution = Execution.from_composite_key(composite, self.redis)
                        execution.heartbeat(job.started_job_registry, ttl, pipeline=pipeline)
                pipeline.execute()
        except Exception as exc:  # never fail the execution for its bookkeeping; the next beat retries
            log.warning("execute.rq_heartbeat_failed", extra={"job": job.id, "error": repr(exc)})


def run_execute(request_id: str) -> str | Retry:
    """RQ entry point: execute one approved request with this worker's settings and directory.
    When another run holds the request's execution lock, it returns RQ's ``Retry``: RQ records a
    retry (not a success) and the worker's scheduler runs the job again ``BUSY_RETRY_S`` later, for
    as long as a live holder may take (the job timeout); a dead holder's lease lapses sooner."""
    from redis import Redis  # deferred: Redis is optional (the embedded mode runs without it)
    from rq import Retry  # deferred: RQ is optional (the embedded mode runs without Redis)

    settings = load_settings()
    assert settings.redis_url, "an RQ worker needs SMIME_DOCTOR_REDIS_URL"
    redis = Redis.from_url(settings.redis_url)
    audit = AuditTrail(redis, settings.key_prefix, settings.audit_log_file)
    notifier = Notifier(settings, RedisOutbox(redis, settings.outbox_stream), audit)
    store = ApprovalStore(redis, settings.key_prefix, on_change=notifier)
    outcome = execute(request_id, store, settings, directory_for(settings), notifier, redis=redis)
    if outcome == "busy":
        return Retry(max=max(settings.job_timeout_s, 300) // BUSY_RETRY_S + 2, interval=BUSY_RETRY_S)
    return outcome


def execute(
    request_id: str,
    store: ApprovalStore,
    settings: Settings,
    directory: Directory,
    notifier: Notifier,
    *,
    redis: Any = None,
    attempts: int | None = None,
) -> str:
    """Run one approved request; returns its state afterwards, or "busy" when another run holds its
    execution lease (see ExecutionLease; run_execute then has RQ retry the job). Raises
    ExecutionDeferred when AD is unreachable (the request is then back in approved)."""
    request = store.get(request_id)
    if request is None:
        return "missing"
    if request.state in FINAL or request.state not in ("approved", "executing"):
        return request.state  # done/failed: nothing to do; pending: not approved (yet)
    lease = None
    if redis is not None:
        lease = ExecutionLease(
            redis, Keys(settings.key_prefix).execution_lease(request_id), settings.execution_lease_s
        )
        if not lease.acquire():
            log.info("execute.busy", extra={"request": request_id, "holder": lease.holder()})
            return "busy"  # another run holds it right now (or held it until less than a lease ago)
    try:
        if request.state == "approved":
            started = store.start_execution(request_id)
            if started is None:
                request = store.get(request_id)
                if request is None or request.state != "executing":
                    return request.state if request else "missing"
            else:
                request = started
        return _execute(request, store, settings, directory, notifier, redis, attempts or ATTEMPTS)
    finally:
        if lease is not None:
            lease.release()


def _execute(
    request: ApprovalRequest,
    store: ApprovalStore,
    settings: Settings,
    directory: Directory,
    notifier: Notifier,
    redis: Any,
    attempts: int,
) -> str:

    # Unreachable or throttling sources: the request goes back to approved and is retried later.
    run = retry(
        retry=retry_if_exception_type(Retryable),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.5, max=4),
        reraise=True,
    )(_apply)

    def end(ok: bool, result: dict[str, Any], event: str, back: bool = False) -> str:
        final = store.finish(request.id, ok, result, back_to_approved=back)
        if final is not None:
            notifier.tell_requester(final, event, result["message"])
        return final.state if final else (store.get(request.id) or request).state

    try:
        result = run(request, settings, directory, notifier, redis)
    except Retryable as exc:
        place = "Exchange Online" if request.plan.where == "exo" else "Active Directory"
        message = {
            "en": f"{place} cannot be reached right now ({exc}); nothing was changed. The request "
            "stays approved and is retried automatically.",
            "de": f"{place} ist gerade nicht erreichbar ({exc}); nichts wurde geändert. Der Antrag "
            "bleibt freigegeben und wird automatisch erneut versucht.",
        }
        end(False, {"message": message, "error": str(exc)}, "retry_later", back=True)
        raise ExecutionDeferred(message["en"]) from None
    except Refused as exc:
        log.warning("execute.refused", extra={"request": request.id, "reason": exc.message["en"]})
        return end(False, {"message": exc.message, **exc.detail}, "failed")
    except AdWriteConflict as exc:
        message = {"en": f"{exc} {FRESH['en']}", "de": f"{exc} {FRESH['de']}"}
        return end(False, {"message": message, "error": str(exc)}, "failed")
    except SmimeDoctorError as exc:  # permissions, schema, a user that is gone
        return end(False, {"message": {"en": str(exc), "de": str(exc)}, "error": str(exc)}, "failed")
    return end(bool(result.pop("ok")), result, "done" if result.get("verified") else "failed")


def _apply(
    request: ApprovalRequest, settings: Settings, directory: Directory, notifier: Notifier, redis: Any
) -> dict[str, Any]:
    plan = request.plan
    if request.action not in UNDOABLE and request.action != "undo":
        raise Refused(
            {
                "en": f"Nothing was changed: executing {request.action} is not supported.",
                "de": f"Nichts wurde geändert: {request.action} kann nicht ausgeführt werden.",
            }
        )
    if plan.scope == "smime_config":
        exchange = directory.exchange
        if exchange is None:
            raise Refused(TENANT_EXO_ONLY)
        return _apply_sst(request, settings, directory, notifier, redis, exchange)
    if plan.where == "exo" and plan.scope != "attributes":
        exchange = directory.exchange
        if exchange is None:
            raise Refused(EXO_ONLY)
        return _apply_exo(request, settings, directory, notifier, redis, exchange)
    ad = directory.ad
    if ad is None:
        raise Refused(SNAPSHOT_ONLY)
    if plan.where != "ad" or not plan.dn:
        raise Refused(
            {
                "en": "Nothing was changed: this recipient is cloud-only and has no AD object to change.",
                "de": "Nichts wurde geändert: dieser Empfänger ist nur in der Cloud und hat kein AD-Objekt.",
            }
        )
    dn = str(plan.dn)
    if plan.scope == "attributes":
        return _apply_text(request, settings, directory, notifier, redis, ad, dn)
    before, values, after = expected_states(request)

    # (b) re-validate: the target, then the approvers (both before any write)
    current = _read(ad, dn)
    who = plan.primary_smtp or request.target
    already = _already_applied(
        request,
        redis,
        settings,
        _digest(current),
        _digest(before),
        _digest(after),
        {
            "en": f"{who}'s certificates in Active Directory",
            "de": f"die Zertifikate von {who} im Active Directory haben sich",
        },
        "digest",
    )
    _check_approvers(request, settings, directory)

    # (c) save the before-state, then (d) write
    if not already:
        _save_backup(redis, settings, notifier, request, dn, current)
        ad_values = {a: vs for a, vs in values.items() if vs}
        if request.action == "undo":
            ad.restore_certificate_values(dn, ad_values)
        else:
            ad.remove_certificate_values(dn, ad_values)

    # (e) verify: re-read, and re-diagnose the user
    return _certificate_outcome(
        request, settings, directory, _IN_AD, who, values, after, _read(ad, dn), current, before, already
    )


def _read_exo(exchange: Any, identity: str) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """The recipient as Exchange Online has it now, and its certificate values (bytes)."""

    record = exchange.get_mailbox(identity) or exchange.get_recipient(identity)
    if record is None:
        raise Refused(
            {
                "en": f"Nothing was changed: Exchange Online no longer has a recipient {identity}. "
                + FRESH["en"],
                "de": f"Nichts wurde geändert: Exchange Online kennt keinen Empfänger {identity} mehr. "
                + FRESH["de"],
            }
        )
    return record, {a: decode_byte_list(record.get(a)) if record.get(a) else [] for a in EXO_ATTRIBUTES}


def _apply_exo(
    request: ApprovalRequest,
    settings: Settings,
    directory: Directory,
    notifier: Notifier,
    redis: Any,
    exchange: Any,
) -> dict[str, Any]:
    """A cloud-only recipient: the same steps as in AD, with Set-Mailbox (Set-MailUser for a mail user) in Exchange Online
    (each changed property set to exactly its approved after-state, or $null when it becomes empty)."""
    plan = request.plan
    who = str(plan.primary_smtp or request.target)
    before, values, after = expected_states(request)
    record, current = _read_exo(exchange, who)
    if str(record.get("IsDirSynced")).lower() == "true":
        raise Refused(
            {
                "en": f"Nothing was changed: {who} is synchronised from on-premises Active Directory now; its "
                "certificates must be changed there. " + FRESH["en"],
                "de": f"Nichts wurde geändert: {who} wird jetzt aus dem lokalen Active Directory synchronisiert; "
                "die Zertifikate müssen dort geändert werden. " + FRESH["de"],
            }
        )
    already = _already_applied(
        request,
        redis,
        settings,
        _digest(current),
        _digest(before),
        _digest(after),
        {
            "en": f"{who}'s certificates in Exchange Online",
            "de": f"die Zertifikate von {who} in Exchange Online haben sich",
        },
        "digest",
    )
    _check_approvers(request, settings, directory)

    if not already:
        _save_backup(redis, settings, notifier, request, None, current, "exo")
        exchange.set_certificates(
            who,
            {a: after[a] for a in EXO_ATTRIBUTES if values[a]},
            recipient_type=str(record.get("RecipientTypeDetails") or ""),
        )

    _, now = _read_exo(exchange, who)
    outcome = _certificate_outcome(
        request, settings, directory, _IN_EXO, who, values, after, now, current, before, already
    )
    return {**outcome, "where": "exo"}


@dataclass(frozen=True)
class _Place:
    """Where certificate values were changed, as the outcome sentences name it."""

    name: str  # "Active Directory"
    de_in: str  # "im Active Directory"
    kind: dict[str, str]  # what the target is called: user / recipient
    follows: bool  # the change still has to sync: add the propagation sentence


_IN_AD = _Place("Active Directory", "im Active Directory", {"en": "user", "de": "Benutzer"}, True)
_IN_EXO = _Place("Exchange Online", "in Exchange Online", {"en": "recipient", "de": "Empfänger"}, False)


def _certificate_outcome(
    request: ApprovalRequest,
    settings: Settings,
    directory: Directory,
    place: _Place,
    who: str,
    values: dict[str, list[bytes]],
    after: dict[str, list[bytes]],
    now: dict[str, list[bytes]],
    current: dict[str, list[bytes]],
    before: dict[str, list[bytes]],
    already: bool,
) -> dict[str, Any]:
    """Step (e) of a certificate clean-up or its undo, in AD or Exchange Online: compare the
    re-read values with the approved after-state, re-diagnose, and say what happened."""
    plan = request.plan
    verified = _digest(now) == _digest(after)
    checks = _rediagnose(directory, who)
    n = sum(len(v) for v in values.values())
    kept = sum(len(v) for v in after.values())
    follows = FOLLOWS if place.follows else {"en": "", "de": ""}
    if not verified:
        message = {
            "en": f"The change to {who} was sent to {place.name}, but re-reading it does not show the approved "
            f"after-state; someone else may be changing it. Please check the {place.kind['en']} before anything else.",
            "de": f"Die Änderung an {who} wurde an {place.name} gesendet, aber das erneute Lesen zeigt nicht den "
            f"freigegebenen Zustand; vielleicht ändert jemand anderes gerade. Bitte den {place.kind['de']} prüfen.",
        }
    elif request.action == "undo":
        message = {
            "en": f"Done: restored {n} value(s) to {who} in {place.name} (undo of {plan.undo_of})."
            + follows["en"],
            "de": f"Erledigt: {n} Wert(e) für {who} {place.de_in} wiederhergestellt (Rücknahme von {plan.undo_of})."
            + follows["de"],
        }
    else:
        message = {
            "en": f"Done: removed {n} value(s) from {who} in {place.name}, {kept} kept; the removed values are "
            f"saved (say 'undo {request.id}' to put them back)." + follows["en"],
            "de": f"Erledigt: {n} Wert(e) für {who} {place.de_in} entfernt, {kept} behalten; die entfernten Werte "
            f"sind gesichert ('rückgängig {request.id}' stellt sie wieder her)." + follows["de"],
        }
    return {
        "ok": verified,
        "verified": verified,
        "message": message,
        "changed": n,
        "already_applied": already,
        "after": _digest(now),
        "before_sha": _digest(current if not already else before),
        "checks": checks,
        "backup": Keys(settings.key_prefix).backup(request.id),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _sst_ders(sst: bytes) -> list[str]:

    return [_sha(d) for d in read_sst(sst)] if sst else []


def _apply_sst(
    request: ApprovalRequest,
    settings: Settings,
    directory: Directory,
    notifier: Notifier,
    redis: Any,
    exchange: Any,
) -> dict[str, Any]:
    """upload_issuing_ca and its undo: re-read Get-SmimeConfig and compare the SST bytes (sha256) with
    the plan's before-state, check the approvers, back up, Set-SmimeConfig the approved SST, re-read."""
    plan = request.plan
    before = b"".join(base64.b64decode(v) for v in plan.before.get(SST_KEY, ()))
    after = b"".join(base64.b64decode(v) for v in (plan.after or {}).get(SST_KEY, ()))
    current = exchange.get_smime_issuing_ca()
    already = _already_applied(
        request,
        redis,
        settings,
        _sha(current),
        _sha(before),
        _sha(after),
        {
            "en": "SMIMECertificateIssuingCA in Exchange Online",
            "de": "SMIMECertificateIssuingCA in Exchange Online hat sich",
        },
        "sha",
    )
    _check_approvers(request, settings, directory)
    if not already:
        _save_backup(
            redis, settings, notifier, request, None, {"SMIMECertificateIssuingCA": [current]}, "exo"
        )
        exchange.set_smime_issuing_ca(after)
    now = exchange.get_smime_issuing_ca()
    verified = _sha(now) == _sha(after) or _sst_ders(now) == _sst_ders(after)
    subjects = ", ".join(str(c.subject) for c in plan.changes)
    if not verified:
        message = {
            "en": "The new SMIMECertificateIssuingCA was sent to Exchange Online, but re-reading it does not show "
            "the approved store; someone else may be changing it. Please check Get-SmimeConfig.",
            "de": "Das neue SMIMECertificateIssuingCA wurde an Exchange Online gesendet, aber das erneute Lesen zeigt "
            "nicht den freigegebenen Speicher; bitte Get-SmimeConfig prüfen.",
        }
    elif request.action == "undo":
        message = {
            "en": f"Done: restored the previous SMIMECertificateIssuingCA in Exchange Online (undo of {plan.undo_of}).",
            "de": f"Erledigt: das vorherige SMIMECertificateIssuingCA in Exchange Online wiederhergestellt (Rücknahme von {plan.undo_of}).",
        }
    else:
        message = {
            "en": f"Done: added {subjects} to SMIMECertificateIssuingCA in Exchange Online; the previous store is "
            f"saved (say 'undo {request.id}' to put it back).",
            "de": f"Erledigt: {subjects} zu SMIMECertificateIssuingCA in Exchange Online hinzugefügt; der vorherige "
            f"Speicher ist gesichert ('rückgängig {request.id}' stellt ihn wieder her).",
        }
    return {
        "ok": verified,
        "verified": verified,
        "message": message,
        "changed": len(plan.changes),
        "already_applied": already,
        "where": "exo-tenant",
        "after_sha": _sha(now),
        "before_sha": _sha(before if already else current),
        "backup": Keys(settings.key_prefix).backup(request.id),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _text_state(values: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    return {str(a).removeprefix("ad."): sorted(vs) for a, vs in values.items()}


def _read_text(ad: Any, dn: str, attrs: list[str]) -> dict[str, list[str]]:
    _, found = ad.read(dn, attrs)
    return {a: sorted(v.decode("utf-8", "replace") for v in found.get(a.lower(), [])) for a in attrs}


def _apply_text(
    request: ApprovalRequest,
    settings: Settings,
    directory: Directory,
    notifier: Notifier,
    redis: Any,
    ad: Any,
    dn: str,
) -> dict[str, Any]:
    """set_mail_nickname / lowercase_addresses and their undo: the same steps as the certificate
    clean-ups (re-validate target and approvers, back up, write compare-before-write, verify)."""
    plan = request.plan
    before = _text_state(plan.before)
    after = _text_state(plan.after or {})
    attrs = sorted(before)
    who = plan.primary_smtp or request.target
    current = _read_text(ad, dn, attrs)
    already = _already_applied(
        request,
        redis,
        settings,
        current,
        before,
        after,
        {
            "en": f"{who}'s {', '.join(attrs)} in Active Directory",
            "de": f"{', '.join(attrs)} von {who} im Active Directory hat sich",
        },
        "values",
    )
    _check_approvers(request, settings, directory)

    if not already:
        _save_backup(
            redis, settings, notifier, request, dn, {a: [v.encode() for v in vs] for a, vs in current.items()}
        )
        exact = {a: list(vs) for a, vs in plan.before.items()}
        if request.action == "undo":
            ad.set_text_values(dn, after, expected=current)
        elif request.action == "set_mail_nickname":
            old = exact.get("ad.mailNickname") or []
            ad.set_mail_nickname(dn, after["mailNickname"][0], old[0] if old else None)
        elif request.action == "lowercase_addresses":
            mail = exact.get("ad.mail") or []
            ad.lowercase_addresses(dn, mail[0] if mail else None, exact.get("ad.proxyAddresses") or [])

    now = _read_text(ad, dn, attrs)
    verified = now == after
    checks = _rediagnose(directory, plan.primary_smtp or request.target)
    n = len(plan.changes)
    what = ", ".join(f"{c.attribute.removeprefix('ad.')}: {c.subject}" for c in plan.changes)
    if not verified:
        message = {
            "en": f"The change to {who} was sent to Active Directory, but re-reading it does not show the approved "
            "after-state; someone else may be changing it. Please check the user before anything else.",
            "de": f"Die Änderung an {who} wurde an Active Directory gesendet, aber das erneute Lesen zeigt nicht den "
            "freigegebenen Zustand; vielleicht ändert jemand anderes gerade. Bitte den Benutzer prüfen.",
        }
    elif request.action == "undo":
        message = {
            "en": f"Done: restored the previous value(s) of {who} in Active Directory ({what}; undo of "
            f"{plan.undo_of})." + FOLLOWS["en"],
            "de": f"Erledigt: die vorherigen Werte von {who} im Active Directory wiederhergestellt ({what}; "
            f"Rücknahme von {plan.undo_of})." + FOLLOWS["de"],
        }
    else:
        message = {
            "en": f"Done: {request.action} for {who} in Active Directory ({what}); the previous values are saved "
            f"(say 'undo {request.id}' to put them back)." + FOLLOWS["en"],
            "de": f"Erledigt: {request.action} für {who} im Active Directory ({what}); die vorherigen Werte sind "
            f"gesichert ('rückgängig {request.id}' stellt sie wieder her)." + FOLLOWS["de"],
        }
    return {
        "ok": verified,
        "verified": verified,
        "message": message,
        "changed": n,
        "already_applied": already,
        "after_values": now,
        "before_values": before if already else current,
        "checks": checks,
        "backup": Keys(settings.key_prefix).backup(request.id),
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _read(ad: Any, dn: str) -> dict[str, list[bytes]]:
    _, found = ad.read(dn, list(CERT_ATTRIBUTES))
    return {a: list(found.get(a.lower(), [])) for a in CERT_ATTRIBUTES}


def _already_applied(
    request: ApprovalRequest,
    redis: Any,
    settings: Settings,
    current: Any,
    before: Any,
    after: Any,
    what: dict[str, str],
    kind: str,
) -> bool:
    """Compare-before-write, shared by every execution path. False: the target still holds the
    approved before-state (write now). True: a previous run of this job already wrote the approved
    after-state and stopped before finishing (resume without writing). Anything else: Refused,
    with ``before_<kind>`` and ``found_<kind>`` as evidence."""
    if current == before:
        return False
    if current == after and request.state == "executing" and _backup_exists(redis, settings, request):
        return True
    raise Refused(
        {
            "en": f"Nothing was changed: {what['en']} changed after the plan was made. " + FRESH["en"],
            "de": f"Nichts wurde geändert: {what['de']} seit dem Plan geändert. " + FRESH["de"],
        },
        **{f"before_{kind}": before, f"found_{kind}": current},
    )


def _check_approvers(request: ApprovalRequest, settings: Settings, directory: Directory) -> None:
    """Right before any write, with this worker's own configuration and directory: every approval
    comes from someone who still holds the role, who is not the requester, and who is another
    person than every other approver. People are compared by directory identity (canonical id
    and the other strong ids, workers/people.py), never by how they reached the bot."""
    book = RoleBook(settings.roles, directory)
    requester = set(request.requester_identity) | _ids_now(directory, request.requester)
    counted: list[set[str]] = []
    for decision in request.decisions:
        if not decision.get("approve"):
            continue
        actor, shown = decision["actor"], decision.get("display") or decision["actor"]
        try:
            facts = directory.find(actor)
        except UserLookupError:
            raise Refused(
                _refusal(
                    f"{shown} can no longer be found in the directory",
                    f"{shown} ist im Verzeichnis nicht mehr zu finden",
                ),
                revoked=actor,
            ) from None
        recorded, now = set(decision_identity(decision)), set(person_ids(facts))
        if decision.get("ids") and recorded.isdisjoint(now):
            raise Refused(
                _refusal(
                    f"{shown} is no longer the person who approved",
                    f"{shown} ist nicht mehr die Person, die freigegeben hat",
                ),
                revoked=actor,
            )
        ids = recorded | now
        if not ids.isdisjoint(requester):
            raise Refused(
                _refusal(
                    f"{shown} asked for this change and cannot also approve it",
                    f"{shown} hat diese Änderung beantragt und kann sie nicht selbst freigeben",
                ),
                self_approval=actor,
            )
        if any(not ids.isdisjoint(other) for other in counted):
            raise Refused(
                _refusal(
                    f"{shown} approved more than once; it needs distinct people",
                    f"{shown} hat mehrfach freigegeben; nötig sind verschiedene Personen",
                ),
                repeated=actor,
            )
        held = book.roles_of(names_of(facts), group_ids_of(facts, directory))
        if request.approver_role not in held and "admin" not in held:
            raise Refused(
                _refusal(
                    f"{shown} no longer holds the {request.approver_role} role",
                    f"{shown} hat die Rolle {request.approver_role} nicht mehr",
                ),
                revoked=actor,
            )
        counted.append(ids)
    if len(counted) < request.required:
        raise Refused(
            {
                "en": f"Nothing was changed: the request has {len(counted)} valid approval(s), {request.required} needed. "
                + FRESH["en"],
                "de": f"Nichts wurde geändert: der Antrag hat {len(counted)} gültige Freigabe(n), {request.required} nötig. "
                + FRESH["de"],
            }
        )


def _ids_now(directory: Directory, key: str) -> set[str]:
    """The person's strong ids as the directory has them now (none if they cannot be found)."""
    try:
        return set(person_ids(directory.find(key)))
    except SmimeDoctorError:
        return set()


def _refusal(en: str, de: str) -> dict[str, str]:
    return {
        "en": f"Nothing was changed: {en}. " + FRESH["en"],
        "de": f"Nichts wurde geändert: {de}. " + FRESH["de"],
    }


def _backup_exists(redis: Any, settings: Settings, request: ApprovalRequest) -> bool:
    return redis is None or bool(redis.exists(Keys(settings.key_prefix).backup(request.id)))


def _save_backup(
    redis: Any,
    settings: Settings,
    notifier: Notifier,
    request: ApprovalRequest,
    dn: str | None,
    current: dict[str, list[bytes]],
    where: str = "ad",
) -> None:
    """The full values as they are right before the write: in Redis, and as an owner-only file in
    the backup folder (settings.backup_dir, default next to the audit file). The audit trail
    itself gets only their sha256 digests."""
    values = {f"{where}.{a}": [base64.b64encode(v).decode() for v in vs] for a, vs in current.items()}
    record = {
        "request": request.id,
        "action": request.action,
        "target": request.target,
        "dn": dn,
        "where": where,
        "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "values": values,
    }
    if redis is not None:
        redis.set(Keys(settings.key_prefix).backup(request.id), json.dumps(record))
    folder = backup_dir(settings.audit_log_file, settings.backup_dir)
    saved = None
    if folder is not None:
        try:
            saved = str(write_backup(folder, request.id, record))
        except (OSError, ValueError) as exc:
            log.error(
                "backup.write_failed", extra={"request": request.id, "dir": str(folder), "error": str(exc)}
            )
    if notifier.audit is not None:
        notifier.audit.record(
            "backup_saved", request, {"backup_file": saved, "values_sha256": values_digest(values)}
        )


REDIAGNOSED = ("publish.", "sync.mailnickname", "addr.")


def _rediagnose(directory: Directory, who: str) -> dict[str, str]:
    """The publish.*, sync.mailnickname and addr.* verdicts of a fresh diagnosis (worst status per check)."""

    rank = {"fail": 4, "error": 3, "warn": 2, "info": 1, "pass": 0}
    try:
        user = directory.find(who)
    except SmimeDoctorError as exc:
        return {"error": str(exc)}
    engine = Engine(directory.tenant, datetime.now(UTC))
    try:
        report = engine.diagnose(user, who, include_tenant=False)
    finally:
        engine.close()
    worst: dict[str, str] = {}
    for f in report.findings:
        if f.check.startswith(REDIAGNOSED) and rank.get(f.status, 0) >= rank.get(
            worst.get(f.check, "pass"), 0
        ):
            worst[f.check] = f.status
    return worst
