"""The Report: the pure-data result of a diagnosis (docs/snapshot.md §2 is its contract)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

STATUSES = ("pass", "info", "warn", "fail", "skip", "error")
_RANK = {"pass": 0, "info": 1, "warn": 2, "fail": 3}


@dataclass(frozen=True)
class Finding:
    # Field order is the contract's key order: orjson writes a Finding as these fields.
    check: str
    status: str
    certificate: str | None
    title: str
    detail: str
    remedy: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "certificate": self.certificate,
            "title": self.title,
            "detail": self.detail,
            "remedy": self.remedy,
            "evidence": self.evidence,
        }


def verdict_of(findings: list[Finding]) -> str:
    """Worst status among findings: fail > warn > info > pass; skip/error do not count."""
    worst = "pass"
    for f in findings:
        if f.status in _RANK and _RANK[f.status] > _RANK[worst]:
            worst = f.status
    return worst


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Report:
    kind: str  # "diagnosis" or "encrypt_to"
    evaluated_at: datetime
    subject: dict[str, Any]
    findings: list[Finding]
    certificates: list[dict[str, Any]]
    outlook_choice: dict[str, Any]
    sender: dict[str, Any] | None = None
    headline: str = ""  # one sentence in the requested language; an extension of the contract
    schema: int = 1
    causes: list[dict[str, Any]] = field(default_factory=list)  # root causes first (workers/causes.py)
    answer: str = ""  # "yes", "yes_but" (works, with problems beside it) or "no": what senders' clients do

    @property
    def verdict(self) -> str:
        return verdict_of(self.findings)

    def to_json(self) -> dict[str, Any]:
        return self._shape([f.to_json() for f in self.findings])

    def to_json_bytes(self) -> bytes:
        """``json.dumps(self.to_json())`` as compact UTF-8, several times faster (an audit
        writes a report per user): orjson writes the Finding dataclasses directly."""
        try:
            return orjson.dumps(self._shape(self.findings))
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits in some evidence
            return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()

    def _shape(self, findings: list[Any]) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "kind": self.kind,
            "evaluated_at": iso(self.evaluated_at),
            "subject": self.subject,
            "sender": self.sender,
            "verdict": self.verdict,
            "headline": self.headline,
            "answer": self.answer,
            "causes": self.causes,
            "findings": findings,
            "certificates": self.certificates,
            "outlook_choice": self.outlook_choice,
        }


class AuditSummary:
    """Counts over audit reports (JSON contract dicts): verdicts, the commonest problems, who fails."""

    def __init__(self) -> None:
        self.users = 0
        self.verdicts: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()
        self.worst: list[dict[str, str]] = []

    def add(self, report: dict[str, Any]) -> dict[str, Any]:
        self.add_parts(*self.parts(report))
        return report

    @staticmethod
    def parts(report: dict[str, Any] | Report) -> tuple[str, list[str], dict[str, str] | None]:
        """What the summary takes from one report (small, so worker processes can send it)."""
        if isinstance(report, Report):
            report = report._shape([{"check": f.check, "status": f.status} for f in report.findings])
        checks = list({f["check"] for f in report["findings"] if f["status"] in ("fail", "warn")})
        worst = None
        if report["verdict"] == "fail":
            s = report["subject"]
            worst = {
                "user": str(s.get("primary_smtp") or s.get("query")),
                "headline": report.get("headline", ""),
            }
        return report["verdict"], checks, worst

    def add_parts(self, verdict: str, checks: list[str], worst: dict[str, str] | None) -> None:
        self.users += 1
        self.verdicts[verdict] += 1
        for check_id in checks:
            self.checks[check_id] += 1
        if worst is not None:
            self.worst.append(worst)

    def to_json(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "verdicts": dict(self.verdicts),
            "checks": self.checks.most_common(),
            "worst_users": self.worst,
        }
