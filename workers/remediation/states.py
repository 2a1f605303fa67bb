"""What an approved plan means, without touching anything: the before-state it was approved
against, the values it writes and the after-state (`expected_states`), and the plan that undoes
a done request (`undo_plan`). Pure functions over the Plan (workers/plan_types.py), shared by the
executor (workers/remediation/execute.py) and the chat side that opens undo requests
(handlers/chat.py).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from workers.approvals_store import ApprovalRequest
from workers.errors import SmimeDoctorError
from workers.plan_types import Change, Plan

CERT_ATTRIBUTES = ("userCertificate", "userSMIMECertificate")
EXO_ATTRIBUTES = ("UserCertificate", "UserSMimeCertificate")  # cloud-only: Set-Mailbox / Set-MailUser
REMOVALS = {"prune_certificates", "reset_published", "clear_smime_attribute"}
TEXT_ACTIONS = {"set_mail_nickname", "lowercase_addresses"}  # plans with scope "attributes"
TENANT_ACTIONS = {"upload_issuing_ca"}  # plans with scope "smime_config" (Set-SmimeConfig)
UNDOABLE = REMOVALS | TEXT_ACTIONS | TENANT_ACTIONS
SST_KEY = "exo.SMIMECertificateIssuingCA"

FRESH = {
    "en": "Please ask again for a fresh request.",
    "de": "Bitte stellen Sie einen neuen Antrag.",
}


class Refused(SmimeDoctorError):
    """Re-validation failed: nothing was written; the en/de sentence says why."""

    def __init__(self, message: dict[str, str], **detail: Any) -> None:
        super().__init__(message["en"])
        self.message = message
        self.detail = detail


def _sha(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()


def _digest(state: dict[str, list[bytes]]) -> dict[str, list[str]]:
    return {a: sorted(_sha(v) for v in vs) for a, vs in state.items()}


def _decode(values: Mapping[str, Sequence[str]], attr: str, where: str = "ad") -> list[bytes]:
    return [base64.b64decode(v) for v in values.get(f"{where}.{attr}", ())]


def _where(request: ApprovalRequest) -> str:
    return "exo" if request.plan.where == "exo" else "ad"


# -- what a plan means for AD (or, cloud-only, Exchange Online) -------------------------------


def expected_states(
    request: ApprovalRequest,
) -> tuple[dict[str, list[bytes]], dict[str, list[bytes]], dict[str, list[bytes]]]:
    """(before, values to write, after) per certificate attribute, from the approved plan alone
    (AD attributes, or Exchange Online properties for a cloud-only recipient)."""
    plan = request.plan
    where = _where(request)
    names = EXO_ATTRIBUTES if where == "exo" else CERT_ATTRIBUTES
    before = {a: _decode(plan.before, a, where) for a in names}
    if request.action == "undo":
        values = {a: _decode(plan.restore or {}, a, where) for a in names}
        after = {a: before[a] + values[a] for a in names}
        return before, values, after
    values = {a: [] for a in names}
    after = {a: list(before[a]) for a in names}
    for change in plan.changes:
        attr = change.attribute.removeprefix(f"{where}.")
        if attr not in names:
            place = (
                "an Exchange Online certificate property" if where == "exo" else "an AD certificate attribute"
            )
            ort = (
                "keine Exchange-Online-Zertifikatseigenschaft"
                if where == "exo"
                else "kein AD-Zertifikatsattribut"
            )
            raise Refused(
                {
                    "en": f"Nothing was changed: the plan names {change.attribute}, which is not {place}.",
                    "de": f"Nichts wurde geändert: der Plan nennt {change.attribute}, {ort}.",
                }
            )
        match = next((v for v in after[attr] if _sha(v) == change.sha256), None)
        if match is None:
            raise Refused(
                {
                    "en": "Nothing was changed: the plan removes a value its own before-state does not hold. "
                    + FRESH["en"],
                    "de": "Nichts wurde geändert: der Plan entfernt einen Wert, den sein Vorher-Zustand nicht enthält. "
                    + FRESH["de"],
                }
            )
        after[attr].remove(match)
        values[attr].append(match)
    return before, values, after


def _undo_digest(done: ApprovalRequest, changes: Sequence[Change]) -> str:
    basis = "undo|" + done.target + "|" + "|".join(sorted(f"{c.attribute}:{c.sha256}" for c in changes))
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def _b64(state: dict[str, list[bytes]], where: str) -> dict[str, tuple[str, ...]]:
    return {f"{where}.{a}": tuple(base64.b64encode(v).decode() for v in vs) for a, vs in state.items() if vs}


def undo_plan(done: ApprovalRequest) -> Plan:
    """The plan that puts back exactly what `done` removed (target and DN unchanged)."""
    if done.state != "done" or done.action not in UNDOABLE:
        raise ValueError(f"{done.id} is {done.state} ({done.action}); only a done clean-up can be undone")
    if done.plan.scope == "attributes":
        return _undo_text_plan(done)
    if done.plan.scope == "smime_config":
        return _undo_sst_plan(done)
    _, removed, after = expected_states(done)
    where = _where(done)
    changes = tuple(
        Change(
            attribute=c.attribute,
            sha256=c.sha256,
            subject=c.subject,
            emails=c.emails,
            not_after=c.not_after,
            reason=f"restore (undo of {done.id})",
        )
        for c in done.plan.changes
    )
    return Plan(
        **_undo_of(done, changes),
        before=_b64(after, where),
        restore=_b64(removed, where),
    )


def _undo_sst_plan(done: ApprovalRequest) -> Plan:
    """Undo of upload_issuing_ca: the approved SST must still be there; the previous SST comes back."""
    changes = tuple(replace(c, reason=f"restore (undo of {done.id})") for c in done.plan.changes)
    return Plan(
        **_undo_of(done, changes),
        scope=done.plan.scope,
        undo_of_action=done.action,
        before=done.plan.after if done.plan.after is not None else {},
        after=done.plan.before,
    )


def _undo_text_plan(done: ApprovalRequest) -> Plan:
    """Undo of set_mail_nickname / lowercase_addresses: the approved after-state must still be there,
    and the exact previous values come back."""
    changes = tuple(
        replace(
            c,
            from_=c.to,
            to=c.from_,
            subject=f"{c.to or '(empty)'} → {c.from_ or '(empty)'}",
            reason=f"restore (undo of {done.id})",
        )
        for c in done.plan.changes
    )
    return Plan(
        **_undo_of(done, changes),
        scope="attributes",
        undo_of_action=done.action,
        before=done.plan.after if done.plan.after is not None else {},
        after=done.plan.before,
    )


def _undo_of(done: ApprovalRequest, changes: tuple[Change, ...]) -> dict[str, Any]:
    """What every undo plan carries: whose objects, which request it undoes, and its changes."""
    return {
        "action": "undo",
        "undo_of": done.id,
        "undoes_action": done.action,  # an undo is approved like what it undoes
        "target": done.plan.target,
        "target_display": done.plan.target_display,
        "primary_smtp": done.plan.primary_smtp,
        "dn": done.plan.dn,
        "where": done.plan.where,
        "changes": changes,
        "keep": (),
        "digest": _undo_digest(done, changes),
        "usable_after": True,
    }
