"""How a check is written and registered.

A check is a small pure function ``(user, ctx) -> Iterable[Finding]`` registered with
:func:`check`. It never does I/O: trust paths and revocation answers are computed by the
diagnosis engine before the checks run and handed over in :class:`Context`.
User-facing words live next to the check in a ``TEXTS`` table, English and German side
by side, so a new check is one function plus its sentences.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workers.certs.x509 import CertInfo
from workers.facts import TenantFacts, UserFacts
from workers.report import Finding

LANGS = ("en", "de")

# TEXTS[check_id][key][lang] = (title, detail, remedy); str.format placeholders allowed.
Texts = Mapping[str, Mapping[str, Mapping[str, tuple[str, str, str]]]]


@dataclass
class Context:
    now: datetime
    lang: str
    tenant: TenantFacts
    paths: Mapping[str, Any] = field(default_factory=dict)  # cert sha256 -> trust.PathResult
    revocation: Mapping[str, list[Any]] = field(default_factory=dict)  # cert sha256 -> results
    online: bool = False
    sender: UserFacts | None = None  # for sender.* checks: the sender; the user is the recipient


CheckFn = Callable[[UserFacts, Context], Iterable[Finding]]


@dataclass(frozen=True)
class CheckSpec:
    id: str
    fn: CheckFn
    scope: str  # "user", "tenant" or "sender"
    summary: Mapping[str, str]  # one line per language, for help texts and docs/checks.md
    rule: str = ""  # one line, English: the precise condition tested (docs/checks.md, `explain`)

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


REGISTRY: dict[str, CheckSpec] = {}
SCOPES = ("user", "tenant", "sender")


def check(check_id: str, *, en: str, de: str, rule: str, scope: str = "user") -> Callable[[CheckFn], CheckFn]:
    """Register a check under its stable id (docs/checks.md, generated from these registrations).

    ``rule`` is one English line stating the precise condition the check tests; a check
    without one (or with a rule over several lines) is refused at import time.
    """
    if not rule or not rule.strip() or "\n" in rule:
        raise RuntimeError(f"check {check_id} needs rule=: one line stating what it tests")
    if scope not in SCOPES:
        raise RuntimeError(f"check {check_id}: scope must be one of {', '.join(SCOPES)}")

    def register(fn: CheckFn) -> CheckFn:
        if check_id in REGISTRY:
            raise RuntimeError(f"check id {check_id} registered twice")
        REGISTRY[check_id] = CheckSpec(check_id, fn, scope, {"en": en, "de": de}, rule.strip())
        return fn

    return register


# Worst first; skip (data missing) and error (a source failed) can come from any check.
OUTCOME_ORDER = ("fail", "warn", "info", "pass")
_OUTCOMES: dict[str, tuple[str, ...]] = {}


def outcomes(spec: CheckSpec) -> tuple[str, ...]:
    """The statuses a check can report besides skip/error, worst first: the status literals in
    its function's source. Its first entry is the check's severity in docs/checks.md."""
    known = _OUTCOMES.get(spec.id)
    if known is None:
        tree = ast.parse(textwrap.dedent(inspect.getsource(spec.fn)))
        found = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in OUTCOME_ORDER}
        known = _OUTCOMES[spec.id] = tuple(s for s in OUTCOME_ORDER if s in found)
    return known


class _Defaults(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# Sentences without placeholders come out the same every time (most "pass" findings), so
# they are returned as they are, without formatting. Keyed by the sentence tuple's id; the
# entry keeps the tuple itself, so the id cannot be reused while it is in the cache.
_PLAIN: dict[int, tuple[tuple[str, str, str], bool]] = {}


def say(texts: Texts, check_id: str, key: str, lang: str, /, **params: Any) -> tuple[str, str, str]:
    entry = texts[check_id][key]
    sentences = entry.get(lang) or entry["en"]
    known = _PLAIN.get(id(sentences))
    if known is None or known[0] is not sentences:
        known = (sentences, not any("{" in part or "}" in part for part in sentences))
        if len(_PLAIN) < 10_000:
            _PLAIN[id(sentences)] = known
    if known[1]:
        return sentences
    title, detail, remedy = sentences
    values = _Defaults(params)
    return title.format_map(values), detail.format_map(values), remedy.format_map(values)


def make_finder(texts: Texts) -> Callable[..., Finding]:
    """A finding constructor bound to one module's TEXTS."""

    def finding(
        ctx: Context,
        check_id: str,
        status: str,
        key: str,
        certificate: CertInfo | str | None = None,
        evidence: dict[str, Any] | None = None,
        /,
        **params: Any,
    ) -> Finding:
        title, detail, remedy = say(texts, check_id, key, ctx.lang, **params)
        sha = certificate.sha256 if isinstance(certificate, CertInfo) else certificate
        return Finding(check_id, status, sha, title, detail, remedy, evidence or {})

    return finding


# Texts shared by every family: data missing, source failed.
COMMON: dict[str, dict[str, tuple[str, str, str]]] = {
    "skip": {
        "en": (
            "Not checked",
            "This check needs {missing}, which is not available.",
            "Add {missing} to the snapshot, or run against live sources.",
        ),
        "de": (
            "Nicht geprüft",
            "Für diese Prüfung fehlt {missing}.",
            "Ergänzen Sie {missing} im Snapshot oder prüfen Sie gegen die Live-Quellen.",
        ),
    },
    "error": {
        "en": (
            "Could not check",
            "Reading {source} failed: {reason}",
            "Fix access to {source} and check again.",
        ),
        "de": (
            "Prüfung fehlgeschlagen",
            "{source} konnte nicht gelesen werden: {reason}",
            "Zugriff auf {source} beheben und erneut prüfen.",
        ),
    },
}


# Which live source each snapshot file stands for (a failed source turns skip into error).
SOURCE_OF_FILE = {
    "exo-recipients.json": "exo",
    "exo-smimeconfig.json": "smimeconfig",
    "entra-users.json": "entra",
    "entra-organization.json": "org",
    "ad-config.ldif": "adconfig",
    "ad.ldif": "ad",
}


def skip(ctx: Context, check_id: str, missing: str) -> Finding:
    for file, source in SOURCE_OF_FILE.items():
        if file in missing and source in ctx.tenant.source_errors:
            return error(ctx, check_id, source, ctx.tenant.source_errors[source])
    title, detail, remedy = say({check_id: COMMON}, check_id, "skip", ctx.lang, missing=missing)
    return Finding(check_id, "skip", None, title, detail, remedy, {"missing": missing})


def error(ctx: Context, check_id: str, source: str, reason: str) -> Finding:
    title, detail, remedy = say({check_id: COMMON}, check_id, "error", ctx.lang, source=source, reason=reason)
    return Finding(check_id, "error", None, title, detail, remedy, {"source": source})


def date(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d}" if dt else "?"


def lower_set(items: Iterable[str]) -> set[str]:
    return {i.lower() for i in items}
