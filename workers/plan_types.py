"""A remediation plan as a type: `Plan` and the `Change`s it makes, and their JSON.

workers/remediation/plan.py and workers/remediation/states.py (undo) build plans; the executor,
the approval store, the audit trail and the bot read them by attribute. A plan crosses Redis as
JSON twice — inside a PlanAnswer on the outbox, and inside the ApprovalRequest that stores what
was approved — and that JSON does not change with this module: `Plan.to_json` writes exactly the
dict the producers built before the type existed (the same keys in the same order per kind of
plan, keys only some plans carry left out when unset), and `Plan.from_json` reads every plan an
earlier version wrote, so requests already stored keep working. Keys this version does not know
are kept in `extra` and written back, so a bot and a worker of different versions never lose
what the other wrote. Malformed JSON raises MalformedPlan, naming the key.

It lives beside workers/answers.py rather than in workers/remediation/ because the approval store
and the answers need it, and workers/remediation imports both: inside remediation it would make
an import cycle between siblings (.importlinter, no-cycles).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, get_args

JSONDict: TypeAlias = dict[str, Any]

Where: TypeAlias = Literal["ad", "exo", "exo-tenant"]  # on-premises AD, a cloud-only recipient, the tenant
Scope: TypeAlias = Literal["attributes", "smime_config"]  # AD text attributes, Set-SmimeConfig
# attribute (e.g. "ad.userCertificate") -> its values: base64 for certificates and SSTs, text for AD text
Values: TypeAlias = Mapping[str, tuple[str, ...]]

WHERE: tuple[str, ...] = get_args(Where)
SCOPES: tuple[str, ...] = get_args(Scope)


class MalformedPlan(ValueError):
    """A plan's JSON is not what workers/remediation/plan.py writes: the message names the key."""


@dataclass(frozen=True, kw_only=True)
class Change:
    """One value a plan removes, adds back or rewrites; also a value it keeps (`keep`, no reason)
    and the CA an upload_issuing_ca plan adds (`ca`).

    A certificate value is named by the sha256 of its stored bytes; a text attribute change
    (set_mail_nickname, lowercase_addresses) by the sha256 of "attr|from|to", with `from_`/`to`
    its exact old and new value ("" for empty)."""

    attribute: str  # "ad.userCertificate", "exo.UserSMimeCertificate", "ad.mailNickname", ...
    sha256: str
    subject: str | None = None  # the certificate's subject, or "old → new" for a text change
    emails: tuple[str, ...] = ()
    not_after: str | None = None  # YYYY-MM-DD
    reason: str | None = None  # why it goes (changes); None for a kept value
    from_: str | None = None  # JSON "from": a text change's current value
    to: str | None = None  # JSON "to": a text change's new value
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this version does not know

    def to_json(self) -> JSONDict:
        out: JSONDict = {"attribute": self.attribute, "sha256": self.sha256}
        if self.from_ is not None:
            out["from"] = self.from_
        if self.to is not None:
            out["to"] = self.to
        out["subject"] = self.subject
        out["emails"] = list(self.emails)
        out["not_after"] = self.not_after
        if self.reason is not None:
            out["reason"] = self.reason
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_json(cls, data: object, where: str = "change") -> Change:
        """`where` names the change in an error ("changes[2]")."""
        if not isinstance(data, Mapping):
            raise MalformedPlan(f"plan: {where} must be an object, not {type(data).__name__}")
        emails = data.get("emails")
        if emails is not None and not (
            isinstance(emails, list | tuple) and all(isinstance(e, str) for e in emails)
        ):
            raise MalformedPlan(f"plan: {where}: 'emails' must be a list of strings")
        return cls(
            attribute=_required_str(data, "attribute", where),
            sha256=_required_str(data, "sha256", where),
            subject=_optional_str(data, "subject", where),
            emails=tuple(emails or ()),
            not_after=_optional_str(data, "not_after", where),
            reason=_optional_str(data, "reason", where),
            from_=_optional_str(data, "from", where),
            to=_optional_str(data, "to", where),
            extra={k: v for k, v in data.items() if k not in _CHANGE_KEYS},
        )


_CHANGE_KEYS = frozenset({"attribute", "sha256", "from", "to", "subject", "emails", "not_after", "reason"})


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What a remediation will change, with the exact before-state it was planned against.

    `changes` are the values it removes (certificate clean-ups), adds back (undo) or rewrites
    (text attributes); `before` is the current state it is compared with right before any
    write; `after` (text attributes, SMIMECertificateIssuingCA) and `restore` (a certificate
    undo) say what the write produces. `digest` identifies the plan in the audit trail."""

    action: str  # prune_certificates, reset_published, clear_smime_attribute, set_mail_nickname, ..., undo
    target: str  # the directory key whose objects change, or "(tenant)"
    digest: str
    changes: tuple[Change, ...] = ()
    keep: tuple[Change, ...] = ()
    target_display: str | None = None
    primary_smtp: str | None = None
    dn: str | None = None  # the AD object (None for a cloud-only recipient or the tenant)
    where: Where = "ad"
    scope: Scope | None = None  # None: certificate values of one recipient
    before: Values = field(default_factory=dict)
    after: Values | None = None
    restore: Values | None = None
    usable_after: bool = True  # Outlook still finds a usable encryption certificate afterwards
    undo_of: str | None = None  # undo: the request it undoes
    undoes_action: str | None = None  # undo: what that request did (an undo is approved like it)
    undo_of_action: str | None = None  # undo of a text or SST change: the same, as those plans name it
    requested: str | None = None  # upload_issuing_ca: the CA as asked for (sha256 prefix or CN)
    refusal: Mapping[str, str] | None = None  # upload_issuing_ca: why nothing can change (en/de)
    ca: Change | None = None  # upload_issuing_ca: the CA certificate
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys this version does not know

    @property
    def who(self) -> str:
        """How sentences name the target: the primary SMTP address, else the directory key."""
        return self.primary_smtp or self.target

    def to_json(self) -> JSONDict:
        """The plan as its producer always wrote it (see the module docstring)."""
        values: JSONDict = {
            "action": self.action,
            "scope": self.scope,
            "undo_of": self.undo_of,
            "undoes_action": self.undoes_action,
            "undo_of_action": self.undo_of_action,
            "target": self.target,
            "target_display": self.target_display,
            "primary_smtp": self.primary_smtp,
            "dn": self.dn,
            "where": self.where,
            "requested": self.requested,
            "changes": [c.to_json() for c in self.changes],
            "keep": [c.to_json() for c in self.keep],
            "before": values_json(self.before),
            "after": None if self.after is None else values_json(self.after),
            "restore": None if self.restore is None else values_json(self.restore),
            "refusal": None if self.refusal is None else dict(self.refusal),
            "usable_after": self.usable_after,
            "digest": self.digest,
            "ca": None if self.ca is None else self.ca.to_json(),
        }
        layout = self._layout()
        out: JSONDict = {}
        for key in layout:
            if values[key] is not None or key not in _ONLY_WHEN_SET:
                out[key] = values[key]
        for key in _PLAN_KEYS:  # a field the kind does not usually carry, when set: never lost
            if key not in out and values[key] is not None:
                out[key] = values[key]
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def _layout(self) -> tuple[str, ...]:
        if self.action == "undo":
            if self.scope == "smime_config":
                return _UNDO_SST
            return _UNDO_TEXT if self.scope == "attributes" else _UNDO_CERTIFICATES
        if self.scope == "smime_config":
            return _ISSUING_CA
        return _TEXT if self.scope == "attributes" else _CERTIFICATES

    @classmethod
    def from_json(cls, data: object) -> Plan:
        """A plan as to_json (or any earlier version) wrote it; MalformedPlan when it is not one."""
        if not isinstance(data, Mapping):
            raise MalformedPlan(f"plan must be an object, not {type(data).__name__}")
        where = data.get("where", "ad")
        if where not in WHERE:
            raise MalformedPlan(f"plan: 'where' must be one of {', '.join(WHERE)}, not {where!r}")
        scope = data.get("scope")
        if scope is not None and scope not in SCOPES:
            raise MalformedPlan(f"plan: 'scope' must be one of {', '.join(SCOPES)}, not {scope!r}")
        usable_after = data.get("usable_after", True)
        if not isinstance(usable_after, bool):
            raise MalformedPlan("plan: 'usable_after' must be true or false")
        refusal = data.get("refusal")
        if refusal is not None and not (
            isinstance(refusal, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in refusal.items())
        ):
            raise MalformedPlan("plan: 'refusal' must be an object of strings")
        ca = data.get("ca")
        before = _values(data, "before")
        return cls(
            action=_required_str(data, "action"),
            target=_required_str(data, "target"),
            digest=_required_str(data, "digest"),
            changes=_changes(data, "changes", required=True),
            keep=_changes(data, "keep"),
            target_display=_optional_str(data, "target_display"),
            primary_smtp=_optional_str(data, "primary_smtp"),
            dn=_optional_str(data, "dn"),
            where=where,
            scope=scope,
            before=before if before is not None else {},
            after=_values(data, "after"),
            restore=_values(data, "restore"),
            usable_after=usable_after,
            undo_of=_optional_str(data, "undo_of"),
            undoes_action=_optional_str(data, "undoes_action"),
            undo_of_action=_optional_str(data, "undo_of_action"),
            requested=_optional_str(data, "requested"),
            refusal=None if refusal is None else dict(refusal),
            ca=None if ca is None else Change.from_json(ca, "ca"),
            extra={k: v for k, v in data.items() if k not in _PLAN_KEYS},
        )


# The keys of each kind of plan, in the order its producer writes them (workers/remediation/plan.py,
# workers/remediation/states.py). A key in _ONLY_WHEN_SET is left out while it is None.
_CERTIFICATES = (  # prune_certificates, reset_published, clear_smime_attribute (build_plan)
    "action", "target", "target_display", "primary_smtp", "dn", "where",
    "changes", "keep", "before", "digest", "usable_after",
)  # fmt: skip
_TEXT = (  # set_mail_nickname, lowercase_addresses (build_text_plan)
    "action", "scope", "target", "target_display", "primary_smtp", "dn", "where",
    "changes", "keep", "before", "after", "digest", "usable_after",
)  # fmt: skip
_ISSUING_CA = (  # upload_issuing_ca (plan_upload_issuing_ca)
    "action", "scope", "target", "target_display", "primary_smtp", "dn", "where", "requested",
    "changes", "keep", "before", "after", "refusal", "usable_after", "digest", "ca",
)  # fmt: skip
_UNDO_CERTIFICATES = (  # undo of a certificate clean-up (undo_plan)
    "action", "undo_of", "undoes_action", "target", "target_display", "primary_smtp", "dn", "where",
    "changes", "keep", "before", "restore", "digest", "usable_after",
)  # fmt: skip
_UNDO_SST = (  # undo of upload_issuing_ca (_undo_sst_plan)
    "scope", "target", "target_display", "primary_smtp", "dn", "where",
    "action", "undo_of", "undoes_action", "undo_of_action",
    "changes", "keep", "before", "after", "digest", "usable_after",
)  # fmt: skip
_UNDO_TEXT = (  # undo of a text attribute change (_undo_text_plan)
    "action", "scope", "undo_of", "undoes_action", "undo_of_action",
    "target", "target_display", "primary_smtp", "dn", "where",
    "changes", "keep", "before", "after", "digest", "usable_after",
)  # fmt: skip
# undoes_action and undo_of_action are missing from undo plans of earlier versions, ca from
# upload_issuing_ca plans refused before the CA was found; scope and undo_of are always set where
# their layout names them. The rest of a layout is always written, null included.
_ONLY_WHEN_SET = frozenset({"scope", "undo_of", "undoes_action", "undo_of_action", "ca"})
_PLAN_KEYS = (
    "action", "scope", "undo_of", "undoes_action", "undo_of_action", "target", "target_display",
    "primary_smtp", "dn", "where", "requested", "changes", "keep", "before", "after", "restore",
    "refusal", "usable_after", "digest", "ca",
)  # fmt: skip


def values_json(values: Values) -> dict[str, list[str]]:
    """Values as JSON (the before/after/restore of a plan)."""
    return {attr: list(vs) for attr, vs in values.items()}


# -- readers: a wrong type raises MalformedPlan, naming the key --------------------------------


def _required_str(data: Mapping[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise MalformedPlan(f"plan: {where + ': ' if where else ''}{key!r} must be a string, not {found}")
    return value


def _optional_str(data: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedPlan(
        f"plan: {where + ': ' if where else ''}{key!r} must be a string, not a {type(value).__name__}"
    )


def _changes(data: Mapping[str, Any], key: str, *, required: bool = False) -> tuple[Change, ...]:
    value = data.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list | tuple):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise MalformedPlan(f"plan: {key!r} must be a list, not {found}")
    return tuple(Change.from_json(c, f"{key}[{i}]") for i, c in enumerate(value))


def _values(data: Mapping[str, Any], key: str) -> dict[str, tuple[str, ...]] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(attr, str) and isinstance(vs, list | tuple) and all(isinstance(v, str) for v in vs)
        for attr, vs in value.items()
    ):
        raise MalformedPlan(f"plan: {key!r} must map each attribute to a list of strings")
    return {attr: tuple(vs) for attr, vs in value.items()}


def changes_of(plan: object) -> tuple[Change, ...]:
    """Only the changes of a plan's JSON: what shows an approval request that travels as JSON
    (ApprovalRequestAnswer), where nothing else of the plan is needed. None reads as no changes;
    MalformedPlan when the changes do not read."""
    if plan is None:
        return ()
    if not isinstance(plan, Mapping):
        raise MalformedPlan(f"plan must be an object, not {type(plan).__name__}")
    return _changes(plan, "changes")
