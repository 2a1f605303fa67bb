"""Plans: exactly which published values a remediation would remove, and why — before anyone approves.

A plan is pure data computed from the gathered facts. It names every value by the sha256 of
its stored bytes and keeps those bytes (base64) as the before-state, so an approver sees the
precise change, execution can refuse when the directory changed meanwhile, and undo can put
every value back.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workers.certs.sst import read_sst, write_sst
from workers.certs.x509 import parse_certificate
from workers.checks.publish import (
    COUNT_LIMIT,
    address_ok,
    attributes_for,
    outlook_choice,
    superseded,
    usable_for_encryption,
)
from workers.facts import PublishedValue, UserFacts
from workers.plan_types import Change, Plan

if TYPE_CHECKING:
    from workers.sources.directory import Directory

ATTRIBUTE_NAMES = {
    "ad.userCertificate": "userCertificate",
    "ad.userSMIMECertificate": "userSMIMECertificate",
    "exo.UserCertificate": "UserCertificate",
    "exo.UserSMimeCertificate": "UserSMimeCertificate",
}


def value_sha(value: PublishedValue) -> str:
    return hashlib.sha256(value.raw).hexdigest()


def _describe(value: PublishedValue) -> Change:
    cert = value.end_entities[0] if value.end_entities else None
    return Change(
        attribute=value.location,
        sha256=value_sha(value),
        subject=cert.subject if cert else None,
        emails=tuple(cert.emails) if cert else (),
        not_after=cert.not_after.strftime("%Y-%m-%d") if cert else None,
    )


def removal_reasons(user: UserFacts, now: datetime) -> dict[int, str]:
    """Why each removable value should go (keyed by position in user.values); values not listed stay."""
    locs = attributes_for(user)
    old = superseded(user, now)
    reasons: dict[int, str] = {}
    seen: set[tuple[str, str]] = set()
    for i, v in enumerate(user.values):
        if v.location not in locs:
            continue
        key = (v.location, value_sha(v))
        if key in seen:
            reasons[i] = "duplicate"
            continue
        seen.add(key)
        if v.kind == "invalid":
            reasons[i] = "unreadable value"
            continue
        certs = v.end_entities
        if all(now >= c.not_after for c in certs):
            reasons[i] = f"expired {certs[0].not_after:%Y-%m-%d}"
        elif all(c.is_ca for c in certs):
            reasons[i] = "a CA certificate, not the user's"
        elif all(c.emails and not address_ok(c, user) for c in certs):
            reasons[i] = "issued for another address"
        elif all(c.sha256 in old for c in certs):
            reasons[i] = "superseded by a newer certificate"
        elif v.location.endswith("SMIMECertificate") and not any(
            usable_for_encryption(c, now) for c in certs
        ):
            reasons[i] = "stale Outlook publication (nothing in it can be used to encrypt)"
    return reasons


def plan_reset(user: UserFacts, now: datetime) -> Plan:
    """ "Reset my published certs": the smallest change that fixes what can be fixed.

    Prune the broken values (expired, foreign, superseded, unreadable, duplicates, stale Outlook
    publications); clear everything only if more than 15 current values would still remain.
    `usable_after` says whether Outlook will then find a usable certificate, or the user must enroll.
    """
    smime_loc, user_loc = attributes_for(user)
    in_scope = [(i, v) for i, v in enumerate(user.values) if v.location in (smime_loc, user_loc)]
    reasons = removal_reasons(user, now)
    remaining = [v for i, v in in_scope if i not in reasons]
    choice = outlook_choice(remaining, smime_loc, user_loc, now)
    usable_after = (
        choice.certificate is not None
        and usable_for_encryption(choice.certificate, now)
        and address_ok(choice.certificate, user)
    )
    too_many = any(
        len([v for v in remaining if v.location == loc]) > COUNT_LIMIT for loc in (smime_loc, user_loc)
    )
    if not too_many:
        # Pruning the broken values is always the smaller change; clearing everything would also
        # remove good certificates (a valid signing certificate, say) without fixing anything more.
        action = "prune_certificates"
        changes = [replace(_describe(v), reason=reasons[i]) for i, v in in_scope if i in reasons]
        keep = [_describe(v) for i, v in in_scope if i not in reasons]
    else:
        action = "reset_published"
        changes = [
            replace(_describe(v), reason=reasons.get(i, "reset: more than 15 current values"))
            for i, v in in_scope
        ]
        keep = []
        usable_after = False
    return build_plan(user, action, changes, keep, in_scope, usable_after)


def build_plan(
    user: UserFacts,
    action: str,
    changes: Sequence[Change],
    keep: Sequence[Change],
    in_scope: list[tuple[int, PublishedValue]],
    usable_after: bool,
) -> Plan:
    before: dict[str, list[str]] = {}
    for _, v in in_scope:
        before.setdefault(v.location, []).append(base64.b64encode(v.raw).decode())
    return Plan(
        **_whose(user, action, changes),
        keep=tuple(keep),
        before={a: tuple(vs) for a, vs in before.items()},
        usable_after=usable_after,
    )


def _whose(user: UserFacts, action: str, changes: Sequence[Change]) -> dict[str, Any]:
    """What every plan for one user carries: the action, whose objects and where they are written."""
    return {
        "action": action,
        "target": user.key,
        "target_display": user.display,
        "primary_smtp": user.primary_smtp,
        "dn": user.ad.dn if user.ad else None,
        "where": "ad" if is_synced(user) else "exo",
        "changes": tuple(changes),
        "digest": plan_digest(action, user.key, changes),
    }


def is_synced(user: UserFacts) -> bool:
    """The recipient's certificates live in on-premises AD (an AD object, or Exchange Online / Entra
    say it is synchronised even when this installation reads no AD): never written in Exchange Online."""
    return (
        user.ad is not None
        or bool(user.exo and user.exo.is_dir_synced)
        or bool(user.entra and user.entra.sync_enabled)
    )


def plan_digest(action: str, target: str, changes: Sequence[Change]) -> str:
    """Identifies a plan in the audit trail (what was approved is what runs)."""
    basis = action + "|" + target + "|" + "|".join(sorted(f"{c.attribute}:{c.sha256}" for c in changes))
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def plan_summary(plan: Plan, lang: str) -> str:
    n = len(plan.changes)
    kept = len(plan.keep)
    who = plan.who
    enroll = {
        "en": " Afterwards no usable encryption certificate is published: enroll a new one.",
        "de": " Danach ist kein nutzbares Verschlüsselungszertifikat veröffentlicht: bitte ein neues beantragen.",
    }
    if n == 0:
        base = (
            f"Für {who} gibt es nichts zu bereinigen." if lang == "de" else f"Nothing to clean up for {who}."
        )
        none = {
            "en": " But no usable encryption certificate is published: enroll a new one.",
            "de": " Es ist aber kein nutzbares Verschlüsselungszertifikat veröffentlicht: bitte ein neues beantragen.",
        }
        return base + ("" if plan.usable_after else none[lang])
    follows = {
        "en": " Exchange Online follows with the next directory sync (about 30 minutes); cached Outlook clients within about 48 hours.",
        "de": " Exchange Online folgt mit der nächsten Verzeichnissynchronisierung (etwa 30 Minuten); Outlook im Cache-Modus innerhalb von etwa 48 Stunden.",
    }
    tail = (follows[lang] if plan.where == "ad" else "") + ("" if plan.usable_after else enroll[lang])
    if lang == "de":
        verb = (
            "alle veröffentlichten Zertifikate zurücksetzen"
            if plan.action == "reset_published"
            else "bereinigen"
        )
        return f"Plan für {who}: {verb} — {n} Wert(e) entfernen, {kept} behalten.{tail}"
    verb = "reset all published certificates" if plan.action == "reset_published" else "prune"
    return f"Plan for {who}: {verb} — remove {n} value(s), keep {kept}.{tail}"


# -- the requestable single-purpose actions ("request <action> for <user>") -------------------

TEXT_ACTIONS = ("set_mail_nickname", "lowercase_addresses")
REQUESTABLE = ("set_mail_nickname", "lowercase_addresses", "clear_smime_attribute", "upload_issuing_ca")


def plan_action(action: str, user: UserFacts, now: datetime) -> Plan:
    """The plan for one named remediation (helpdesk "request <action> for <user>")."""
    if action == "set_mail_nickname":
        return plan_set_mail_nickname(user)
    if action == "lowercase_addresses":
        return plan_lowercase_addresses(user)
    if action == "clear_smime_attribute":
        return plan_clear_smime_attribute(user, now)
    raise ValueError(f"unknown remediation {action!r}")


def plan_set_mail_nickname(user: UserFacts) -> Plan:
    """Empty AD mailNickname → the local part of `mail` (nothing to change when it is set)."""
    before: dict[str, list[str]] = {"mailNickname": []}
    after: dict[str, list[str]] = {"mailNickname": []}
    if user.ad is not None:
        current = user.ad.mail_nickname
        before["mailNickname"] = [current] if current is not None else []
        after["mailNickname"] = list(before["mailNickname"])
        local = (user.ad.mail or user.primary_smtp or "").split("@")[0]
        if not (current or "").strip() and local:
            after["mailNickname"] = [local]
    return build_text_plan(user, "set_mail_nickname", before, after, "mailNickname is empty")


def plan_lowercase_addresses(user: UserFacts) -> Plan:
    """mail and the address part of SMTP proxyAddresses lower-cased; the SMTP:/smtp: prefix is kept."""
    before: dict[str, list[str]] = {"mail": [], "proxyAddresses": []}
    if user.ad is not None:
        before = {
            "mail": [user.ad.mail] if user.ad.mail is not None else [],
            "proxyAddresses": list(user.ad.proxy_addresses),
        }
    after = {
        "mail": [m.lower() for m in before["mail"]],
        "proxyAddresses": [
            p[:5] + p[5:].lower() if p.lower().startswith("smtp:") else p for p in before["proxyAddresses"]
        ],
    }
    return build_text_plan(user, "lowercase_addresses", before, after, "address in mixed case")


def plan_clear_smime_attribute(user: UserFacts, now: datetime) -> Plan:
    """Every userSMIMECertificate value goes (a stale Outlook publication hides userCertificate)."""
    smime_loc, user_loc = attributes_for(user)
    in_scope = [(i, v) for i, v in enumerate(user.values) if v.location in (smime_loc, user_loc)]
    changes = []
    for _, v in in_scope:
        if v.location != smime_loc:
            continue
        stale = not any(usable_for_encryption(c, now) for c in v.end_entities)
        changes.append(
            replace(_describe(v), reason="stale Outlook publication" if stale else "clear requested")
        )
    remaining = [v for _, v in in_scope if v.location == user_loc]
    choice = outlook_choice(remaining, smime_loc, user_loc, now)
    usable_after = (
        choice.certificate is not None
        and usable_for_encryption(choice.certificate, now)
        and address_ok(choice.certificate, user)
    )
    keep = [_describe(v) for v in remaining]
    return build_plan(user, "clear_smime_attribute", changes, keep, in_scope, usable_after)


def build_text_plan(
    user: UserFacts,
    action: str,
    before: dict[str, list[str]],
    after: dict[str, list[str]],
    reason: str,
) -> Plan:
    """A plan over AD text attributes: `before` is the exact current state (compared before any
    write), `after` what it becomes; one change per value that differs."""
    changes: list[Change] = []
    synced = user.ad is not None
    if synced:
        for attr in before:
            old, new = before[attr], after[attr]
            if old == new:
                continue
            pairs = list(zip(old, new, strict=False)) if len(old) == len(new) else [("", n) for n in new]
            for a, b in pairs:
                if a == b:
                    continue
                changes.append(
                    Change(
                        attribute=f"ad.{attr}",
                        sha256=hashlib.sha256(f"{attr}|{a}|{b}".encode()).hexdigest(),
                        from_=a,
                        to=b,
                        subject=f"{a or '(empty)'} → {b or '(empty)'}",
                        emails=(),
                        not_after=None,
                        reason=reason,
                    )
                )
    return Plan(
        **{**_whose(user, action, changes), "where": "ad" if synced else "exo"},  # text attributes: AD only
        scope="attributes",
        keep=(),
        before={f"ad.{a}": tuple(v) for a, v in before.items()},
        after={f"ad.{a}": tuple(v) for a, v in after.items()},
        usable_after=True,
    )


NOTHING = {
    "set_mail_nickname": ("mailNickname is already set", "mailNickname ist bereits gesetzt"),
    "lowercase_addresses": (
        "mail and proxyAddresses are already lower-case",
        "mail und proxyAddresses sind bereits kleingeschrieben",
    ),
    "clear_smime_attribute": (
        "userSMIMECertificate is already empty",
        "userSMIMECertificate ist bereits leer",
    ),
}


def action_summary(plan: Plan, lang: str) -> str:
    """One sentence for a requested action's plan (en/de)."""
    de = lang == "de"
    who = plan.who
    action = plan.action
    changes = plan.changes
    if action == "upload_issuing_ca":
        return _issuing_ca_summary(plan, de)
    if plan.where == "exo" and action == "clear_smime_attribute":
        return _exo_clear_summary(plan, who, de)
    if plan.where != "ad":
        return (
            f"Nichts zu ändern für {who}: nur in der Cloud, es gibt kein AD-Objekt für {action}."
            if de
            else f"Nothing to change for {who}: cloud-only, there is no AD object for {action}."
        )
    if not changes:
        return (
            f"Nichts zu ändern für {who}: {NOTHING[action][1]}."
            if de
            else f"Nothing to change for {who}: {NOTHING[action][0]}."
        )
    follows = (
        " Exchange Online folgt mit der nächsten Verzeichnissynchronisierung (etwa 30 Minuten)."
        if de
        else " Exchange Online follows with the next directory sync (about 30 minutes)."
    )
    n = len(changes)
    if action == "set_mail_nickname":
        to = changes[0].to
        body = (
            f"Plan für {who}: mailNickname auf „{to}“ setzen (derzeit leer)."
            if de
            else f"Plan for {who}: set mailNickname to '{to}' (now empty)."
        )
    elif action == "lowercase_addresses":
        body = (
            f"Plan für {who}: {n} Adresswert(e) in mail und proxyAddresses kleinschreiben (Präfixe SMTP:/smtp: bleiben)."
            if de
            else f"Plan for {who}: lower-case {n} address value(s) in mail and proxyAddresses (SMTP:/smtp: prefixes kept)."
        )
    else:
        kept = len(plan.keep)
        body = (
            f"Plan für {who}: userSMIMECertificate leeren — {n} Wert(e) entfernen, {kept} in userCertificate behalten."
            if de
            else f"Plan for {who}: clear userSMIMECertificate — remove {n} value(s), keep {kept} in userCertificate."
        )
        if not plan.usable_after:
            body += (
                " Danach ist kein nutzbares Verschlüsselungszertifikat veröffentlicht: bitte ein neues beantragen."
                if de
                else " Afterwards no usable encryption certificate is published: enroll a new one."
            )
    return body + follows


def _exo_clear_summary(plan: Plan, who: str, de: bool) -> str:
    """clear_smime_attribute for a cloud-only recipient: UserSMimeCertificate in Exchange Online."""
    n, kept = len(plan.changes), len(plan.keep)
    if not n:
        return (
            f"Nichts zu ändern für {who}: UserSMimeCertificate ist bereits leer."
            if de
            else f"Nothing to change for {who}: UserSMimeCertificate is already empty."
        )
    body = (
        f"Plan für {who} (nur in der Cloud, Exchange Online): UserSMimeCertificate leeren — {n} Wert(e) "
        f"entfernen, {kept} in UserCertificate behalten."
        if de
        else f"Plan for {who} (cloud-only, Exchange Online): clear UserSMimeCertificate — remove {n} value(s), "
        f"keep {kept} in UserCertificate."
    )
    if not plan.usable_after:
        body += (
            " Danach ist kein nutzbares Verschlüsselungszertifikat veröffentlicht: bitte ein neues beantragen."
            if de
            else " Afterwards no usable encryption certificate is published: enroll a new one."
        )
    return body


# -- upload_issuing_ca: a tenant-wide change of Set-SmimeConfig -SMIMECertificateIssuingCA ------

TENANT = "(tenant)"
SST_KEY = "exo.SMIMECertificateIssuingCA"


def _matches(cert: Any, wanted: str) -> bool:
    w = wanted.strip().lower().replace(":", "")
    if len(w) >= 8 and all(ch in "0123456789abcdef" for ch in w) and cert.sha256.lower().startswith(w):
        return True
    return bool(cert.subject_cn) and cert.subject_cn.lower() == wanted.strip().lower()


def find_ca(directory: Directory, wanted: str) -> Any | None:
    """A CA certificate the tenant facts know (AD's Certification Authorities / AIA, the trusted roots),
    or else one carried in a published PKCS#7 blob of the directory; matched by sha256 prefix (≥ 8 hex)
    or subject CN."""
    tenant = directory.tenant
    known: list[Any] = []
    if tenant.ad_config is not None:
        known += tenant.ad_config.ca_certificates + tenant.ad_config.aia_certificates
    known += list(tenant.trusted_roots)
    for cert in known:
        if _matches(cert, wanted):
            return cert
    for user in directory.iter_users():
        for value in user.values:
            for cert in value.chain_extras if value.kind == "pkcs7" else ():
                if _matches(cert, wanted):
                    return cert
    return None


def plan_upload_issuing_ca(ca: Any, current_sst: bytes | None, wanted: str, now: datetime) -> Plan:
    """The current SMIMECertificateIssuingCA SST (before) plus `ca` (after, written with write_sst).
    No change when it is already there, or (with `refusal`) when the result would hold an expired
    certificate — Set-SmimeConfig refuses such an upload."""

    plan = Plan(
        action="upload_issuing_ca",
        scope="smime_config",
        target=TENANT,
        target_display="SMIMECertificateIssuingCA",
        primary_smtp=None,
        dn=None,
        where="exo-tenant",
        requested=wanted,
        changes=(),
        keep=(),
        before={},
        after={},
        refusal=None,
        usable_after=True,
        digest=plan_digest("upload_issuing_ca", TENANT, []),
    )
    if ca is None:
        return replace(
            plan,
            refusal={
                "en": f"unknown CA {wanted}: neither AD, the trusted roots nor a published chain has it",
                "de": f"unbekannte CA {wanted}: weder AD, die vertrauenswürdigen Stammzertifikate noch eine veröffentlichte Kette enthalten sie",
            },
        )
    if current_sst is None:
        return replace(
            plan,
            refusal={
                "en": "this installation does not use Exchange Online, so SMIMECertificateIssuingCA cannot be read or changed",
                "de": "diese Installation nutzt Exchange Online nicht; SMIMECertificateIssuingCA kann weder gelesen noch geändert werden",
            },
        )
    ders = read_sst(current_sst) if current_sst else []
    certs = [parse_certificate(d) for d in ders]
    before = {SST_KEY: (base64.b64encode(current_sst).decode(),) if current_sst else ()}
    plan = replace(plan, before=before, keep=tuple(_describe_cert(c) for c in certs), ca=_describe_cert(ca))
    if any(c.sha256 == ca.sha256 for c in certs):
        return replace(plan, after=dict(before))
    expired = [c for c in [*certs, ca] if now >= c.not_after]
    if expired:
        c = expired[0]
        return replace(
            plan,
            refusal={
                "en": f"the resulting SST would contain the expired certificate {c.subject_cn or c.subject} "
                f"(sha256 {c.sha256[:16]}…, expired {c.not_after:%Y-%m-%d}); Set-SmimeConfig refuses such an upload",
                "de": f"das neue SST enthielte das abgelaufene Zertifikat {c.subject_cn or c.subject} "
                f"(sha256 {c.sha256[:16]}…, abgelaufen {c.not_after:%Y-%m-%d}); Set-SmimeConfig lehnt so ein Hochladen ab",
            },
        )
    new = write_sst([*ders, ca.der])
    changes = (replace(_describe_cert(ca), attribute=SST_KEY, reason="add issuing CA"),)
    return replace(
        plan,
        after={SST_KEY: (base64.b64encode(new).decode(),)},
        changes=changes,
        digest=plan_digest("upload_issuing_ca", TENANT, changes),
    )


def _describe_cert(cert: Any) -> Change:
    return Change(
        attribute=SST_KEY,
        sha256=cert.sha256,
        subject=cert.subject,
        emails=(),
        not_after=cert.not_after.strftime("%Y-%m-%d"),
    )


def _issuing_ca_summary(plan: Plan, de: bool) -> str:
    lang = "de" if de else "en"
    if plan.refusal:
        return ("Nichts zu ändern: " if de else "Nothing to change: ") + plan.refusal[lang] + "."
    subject = plan.ca.subject if plan.ca else None
    sha = str(plan.ca.sha256 if plan.ca else None)[:16]
    if not plan.changes:
        return (
            f"Nichts zu ändern: {subject} ist bereits in SMIMECertificateIssuingCA."
            if de
            else f"Nothing to change: {subject} is already in SMIMECertificateIssuingCA."
        )
    n = len(plan.keep)
    return (
        f"Plan für den Mandanten: {subject} (sha256 {sha}…) zu "
        f"SMIMECertificateIssuingCA hinzufügen, {n} Zertifikat(e) bleiben; zwei Administratoren müssen freigeben."
        if de
        else f"Plan for the tenant: add {subject} (sha256 {sha}…) to "
        f"SMIMECertificateIssuingCA, keeping {n} certificate(s); two admins must approve."
    )
