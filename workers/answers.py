"""The answers jobs hand to the bot, as a union of frozen dataclasses.

A job (workers/jobs.py), an execution (workers/remediation/execute.py, Notifier) or the bot
itself (bot/app.py) builds one of these; `to_json` turns it into the dict that travels on the
outbox (a Redis stream, workers/outbox.py), and the bot's transports read it back with
`answer_from_json` before rendering it per platform (bot/render/, bot/console.py).

The JSON is the wire format and does not change with this module: `to_json` produces exactly
the dicts the producers built before the types existed — the same keys in the same order,
optional keys left out when unset — so a worker and a bot of different versions still
understand each other. The plan of a PlanAnswer is a Plan (workers/plan_types.py, whose
to_json/from_json keep its JSON as it was); the other inner documents stay JSON dicts on
purpose: the report is the documented JSON report contract (docs), the approval request is the
JSON of workers/approvals_store.ApprovalRequest (its plan inside as Plan.to_json wrote it).

`answer_from_json` never raises: an unknown type or malformed data (a plan answer whose plan
does not read as a Plan, too) becomes a TextAnswer — the unknown answer's own `text` if it has
one (what the renderers showed for it before), else a generic sentence — and a warning in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeAlias, assert_never

from workers.plan_types import MalformedPlan, Plan

log = logging.getLogger("smime_doctor.answers")

JSONDict: TypeAlias = dict[str, Any]

UNREADABLE = "Sorry — this answer could not be shown. Please ask again."


@dataclass(frozen=True)
class ReportAnswer:
    """A diagnosis (diagnose, encrypt_to): the JSON report (workers/report.py Report.to_json)."""

    kind: ClassVar[str] = "report"
    report: JSONDict


@dataclass(frozen=True)
class AuditAnswer:
    """A tenant audit: the AuditSummary JSON and the tenant-wide findings."""

    kind: ClassVar[str] = "audit"
    summary: JSONDict = field(default_factory=dict)
    tenant: tuple[JSONDict, ...] = ()


@dataclass(frozen=True)
class PlanAnswer:
    """A remediation plan for the asker (plan_reset, plan_action). `summaries` holds the summary
    per language; `request` is set by the bot once the plan opened an approval request."""

    kind: ClassVar[str] = "plan"
    plan: Plan
    summary: str = ""
    summaries: Mapping[str, str] = field(default_factory=dict)
    asker: str = ""
    request: JSONDict | None = None


@dataclass(frozen=True)
class TextAnswer:
    """A sentence: an error, a question back (`candidates`: the names that matched), or news
    about a request (`request_id`)."""

    kind: ClassVar[str] = "text"
    text: str
    candidates: tuple[str, ...] | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class ApprovalRequestAnswer:
    """To the approvers: a request (ApprovalRequest JSON) waiting for their decision."""

    kind: ClassVar[str] = "approval_request"
    request: JSONDict


@dataclass(frozen=True)
class ApprovalUpdateAnswer:
    """A request changed (`event`: approved, denied, done, failed, …)."""

    kind: ClassVar[str] = "approval_update"
    request: JSONDict
    event: str = ""


Answer: TypeAlias = (
    ReportAnswer | AuditAnswer | PlanAnswer | TextAnswer | ApprovalRequestAnswer | ApprovalUpdateAnswer
)
ANSWER_TYPES: tuple[type[Answer], ...] = (
    ReportAnswer,
    AuditAnswer,
    PlanAnswer,
    TextAnswer,
    ApprovalRequestAnswer,
    ApprovalUpdateAnswer,
)


def to_json(answer: Answer) -> JSONDict:
    """The answer as it travels on the outbox (keys and order as the producers always wrote them)."""
    match answer:
        case ReportAnswer():
            return {"type": answer.kind, "report": answer.report}
        case AuditAnswer():
            return {"type": answer.kind, "summary": answer.summary, "tenant": list(answer.tenant)}
        case PlanAnswer():
            out: JSONDict = {
                "type": answer.kind,
                "plan": answer.plan.to_json(),
                "summary": answer.summary,
                "summaries": dict(answer.summaries),
                "asker": answer.asker,
            }
            if answer.request is not None:
                out["request"] = answer.request
            return out
        case TextAnswer():
            out = {"type": answer.kind, "text": answer.text}
            if answer.candidates is not None:
                out["candidates"] = list(answer.candidates)
            if answer.request_id is not None:
                out["request_id"] = answer.request_id
            return out
        case ApprovalRequestAnswer():
            return {"type": answer.kind, "request": answer.request}
        case ApprovalUpdateAnswer():
            return {"type": answer.kind, "request": answer.request, "event": answer.event}
        case _:
            assert_never(answer)


class _Malformed(ValueError):
    """A field of a known answer type has the wrong shape (internal to answer_from_json)."""


def answer_from_json(data: object) -> Answer:
    """An answer read from the outbox (or any stored answer JSON). Never raises: unknown or
    malformed data becomes a TextAnswer (see the module docstring)."""
    if isinstance(data, ANSWER_TYPES):
        return data
    if not isinstance(data, Mapping):
        log.warning("answer.unreadable: not an object (%s)", type(data).__name__)
        return TextAnswer(UNREADABLE)
    kind = data.get("type")
    try:
        match kind:
            case "report":
                return ReportAnswer(_dict(data, "report", required=True))
            case "audit":
                return AuditAnswer(_dict(data, "summary"), tuple(_dicts(data, "tenant")))
            case "plan":
                return PlanAnswer(
                    plan=_plan(data, "plan"),
                    summary=_str(data, "summary"),
                    summaries=_str_map(data, "summaries"),
                    asker=_str(data, "asker"),
                    request=_optional_dict(data, "request"),
                )
            case "text":
                candidates = data.get("candidates")
                if candidates is not None and not (
                    isinstance(candidates, list | tuple) and all(isinstance(c, str) for c in candidates)
                ):
                    raise _Malformed("candidates")
                request_id = data.get("request_id")
                if request_id is not None and not isinstance(request_id, str):
                    raise _Malformed("request_id")
                return TextAnswer(
                    _str(data, "text", required=True),
                    None if candidates is None else tuple(candidates),
                    request_id,
                )
            case "approval_request":
                return ApprovalRequestAnswer(_dict(data, "request", required=True))
            case "approval_update":
                return ApprovalUpdateAnswer(_dict(data, "request", required=True), _str(data, "event"))
    except _Malformed as exc:
        log.warning("answer.malformed: %s answer with a bad %r", kind, str(exc))
        return TextAnswer(UNREADABLE)
    log.warning("answer.unknown: type %r", kind if isinstance(kind, str) else type(kind).__name__)
    text = data.get("text")
    return TextAnswer(text if isinstance(text, str) and text else UNREADABLE)


# -- field readers: a wrong type raises _Malformed, a missing optional field is its default ----


def _dict(data: Mapping[str, Any], key: str, *, required: bool = False) -> JSONDict:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(key)
    return value


def _plan(data: Mapping[str, Any], key: str) -> Plan:
    try:
        return Plan.from_json(data.get(key))
    except MalformedPlan as exc:
        raise _Malformed(str(exc)) from None  # names the key: "plan: 'changes' must be a list, …"


def _optional_dict(data: Mapping[str, Any], key: str) -> JSONDict | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed(key)
    return value


def _dicts(data: Mapping[str, Any], key: str) -> list[JSONDict]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, dict) for v in value):
        raise _Malformed(key)
    return list(value)


def _str(data: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _Malformed(key)
    return value


def _str_map(data: Mapping[str, Any], key: str) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _Malformed(key)
    return value
