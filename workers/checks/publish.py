"""publish.* — what the directory offers a sender ("is my cert published?").

For users with an on-premises AD object the AD attributes are judged (they are the
source Entra Connect copies); for cloud-only recipients, the Exchange Online ones.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from workers.certs.x509 import OID_ANY_EKU, OID_EMAIL_PROTECTION, CertInfo
from workers.checks.base import Context, Texts, check, date, make_finder
from workers.facts import (
    AD_SMIME_CERT,
    AD_USER_CERT,
    EXO_SMIME_CERT,
    EXO_USER_CERT,
    PublishedValue,
    UserFacts,
)
from workers.report import Finding

COUNT_LIMIT = 15
COUNT_WARN = 10
VALUE_SIZE_LIMIT = 32_768
ATTR_SIZE_LIMIT = 65_536


def attributes_for(user: UserFacts) -> tuple[str, str]:
    """(userSMIMECertificate location, userCertificate location) that senders' data comes from."""
    if user.ad is not None:
        return AD_SMIME_CERT, AD_USER_CERT
    return EXO_SMIME_CERT, EXO_USER_CERT


@dataclass(frozen=True)
class OutlookChoice:
    attribute: str | None
    certificate: CertInfo | None
    reason: str  # "marker", "first_valid", "first_invalid", "usercert", "none"

    def to_json(self) -> dict[str, str | None]:
        return {
            "attribute": self.attribute,
            "certificate": self.certificate.sha256 if self.certificate else None,
        }


def usable_for_encryption(cert: CertInfo, now: datetime) -> bool:
    return cert.is_valid_at(now) and cert.can_encrypt and cert.is_ca is not True


def outlook_choice(
    values: list[PublishedValue], smime_loc: str, user_loc: str, now: datetime
) -> OutlookChoice:
    """Which certificate classic Outlook picks from the directory (docs/checks.md selection rules).

    userSMIMECertificate wins whenever it has any value: the marked default certificate,
    else the first valid one; Outlook never falls back to userCertificate from there.
    """
    smime = [v for v in values if v.location == smime_loc]
    if smime:
        for v in smime:
            marked = v.marked_certificate()
            if marked is not None:
                return OutlookChoice(smime_loc, marked, "marker")
        certs = [c for v in smime for c in v.end_entities]
        for c in certs:
            if usable_for_encryption(c, now):
                return OutlookChoice(smime_loc, c, "first_valid")
        return OutlookChoice(smime_loc, certs[0] if certs else None, "first_invalid")
    for v in values:
        if v.location != user_loc:
            continue
        for c in v.end_entities:
            if usable_for_encryption(c, now) and c.eku is not None and OID_EMAIL_PROTECTION in c.eku:
                return OutlookChoice(user_loc, c, "usercert")
    return OutlookChoice(None, None, "none")


def choice_for(user: UserFacts, now: datetime) -> OutlookChoice:
    """Outlook's pick for this user; kept on the user (a check and the report both ask) while
    its values are the same objects and ``now`` is the same instant."""
    values = tuple(user.values)
    cached = user.__dict__.get("_outlook_choice")
    if cached is not None and cached[0] == now and cached[1] == values:
        return cached[2]
    smime_loc, user_loc = attributes_for(user)
    choice = outlook_choice(user.values, smime_loc, user_loc, now)
    user.__dict__["_outlook_choice"] = (now, values, choice)
    return choice


def address_ok(cert: CertInfo, user: UserFacts) -> bool:
    mine = {a.lower() for a in user.addresses}
    return any(e.lower() in mine for e in cert.emails)


def _certs_at(user: UserFacts, loc: str) -> list[CertInfo]:
    return [c for v in user.values_at(loc) for c in v.end_entities]


def _is_mail_cert(cert: CertInfo) -> bool:
    return cert.eku is None or OID_EMAIL_PROTECTION in cert.eku or OID_ANY_EKU in cert.eku


@check(
    "publish.ad_present",
    en="A usable certificate is where Outlook looks",
    de="Ein nutzbares Zertifikat liegt dort, wo Outlook sucht",
    rule="pass: a valid, encryption-capable certificate with an address in U is where Outlook will look (userSMIMECertificate if it has values, else userCertificate), reported as outlook_choice; fail otherwise.",
)
def ad_present(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    choice = choice_for(user, ctx.now)
    cert = choice.certificate
    ev = {"attribute": choice.attribute, "reason": choice.reason}
    if cert is not None and usable_for_encryption(cert, ctx.now) and address_ok(cert, user):
        yield F(
            ctx, "publish.ad_present", "pass", "ok", cert, ev, attribute=choice.attribute, cert=cert.short()
        )
    elif cert is None and not user.values:
        yield F(ctx, "publish.ad_present", "fail", "nothing", None, ev)
    elif cert is None:
        yield F(ctx, "publish.ad_present", "fail", "none_usable", None, ev, count=len(user.values))
    else:
        why = _why_unusable(cert, user, ctx)
        yield F(
            ctx,
            "publish.ad_present",
            "fail",
            "bad_choice",
            cert,
            {**ev, "why": why},
            attribute=choice.attribute,
            cert=cert.short(),
            why=why,
        )


def _why_unusable(cert: CertInfo, user: UserFacts, ctx: Context) -> str:
    de = ctx.lang == "de"
    if ctx.now >= cert.not_after:
        return f"abgelaufen am {date(cert.not_after)}" if de else f"expired on {date(cert.not_after)}"
    if ctx.now < cert.not_before:
        return "noch nicht gültig" if de else "not yet valid"
    if not cert.can_encrypt:
        return "kann nicht verschlüsseln" if de else "cannot encrypt"
    return "für eine andere Adresse ausgestellt" if de else "issued for another address"


@check(
    "publish.smime_precedence",
    en="No stale userSMIMECertificate hides a current certificate",
    de="Kein veraltetes userSMIMECertificate verdeckt ein aktuelles Zertifikat",
    rule='fail: userSMIMECertificate has values but none valid and encryption-capable while userCertificate has one (an old "Publish to GAL" hides the current certificate); warn: the newest valid certificate in userSMIMECertificate is older than the newest in userCertificate.',
)
def smime_precedence(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    smime_loc, user_loc = attributes_for(user)
    smime = _certs_at(user, smime_loc)
    if not smime:
        yield F(ctx, "publish.smime_precedence", "pass", "empty", None, {}, attribute=smime_loc)
        return
    good_smime = [c for c in smime if usable_for_encryption(c, ctx.now)]
    good_user = [
        c for c in _certs_at(user, user_loc) if usable_for_encryption(c, ctx.now) and _is_mail_cert(c)
    ]
    if not good_smime and good_user:
        newest = max(good_user, key=lambda c: c.not_before)
        yield F(
            ctx,
            "publish.smime_precedence",
            "fail",
            "hidden",
            newest,
            {"hidden_by": [c.sha256 for c in smime]},
            cert=newest.short(),
            smime=smime_loc,
            user=user_loc,
        )
    elif (
        good_smime
        and good_user
        and max(c.not_before for c in good_smime) < max(c.not_before for c in good_user)
    ):
        newest = max(good_user, key=lambda c: c.not_before)
        yield F(
            ctx, "publish.smime_precedence", "warn", "older", newest, {}, cert=newest.short(), smime=smime_loc
        )
    else:
        yield F(ctx, "publish.smime_precedence", "pass", "ok", None, {}, attribute=smime_loc)


@check(
    "publish.smime_default_cert",
    en="Outlook's default-certificate marker names a usable certificate",
    de="Outlooks Standardzertifikat-Markierung nennt ein nutzbares Zertifikat",
    rule="fail: the Outlook default-certificate marker in a PKCS#7 blob (OIDs 1.3.6.1.4.1.311.16.4 / 1.2.840.113549.1.9.16.2.11) names a certificate that is invalid or cannot encrypt; info: no marker.",
)
def smime_default_cert(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    smime_loc, _ = attributes_for(user)
    blobs = [v for v in user.values_at(smime_loc) if v.kind == "pkcs7"]
    if not blobs:
        yield F(ctx, "publish.smime_default_cert", "pass", "no_blob", None, {})
        return
    for v in blobs:
        marked = v.marked_certificate()
        if v.marker is None:
            yield F(ctx, "publish.smime_default_cert", "info", "no_marker", None, {"index": v.index})
        elif marked is None:
            yield F(
                ctx,
                "publish.smime_default_cert",
                "fail",
                "dangling",
                None,
                {"index": v.index, "marker": v.marker.attribute},
            )
        elif not usable_for_encryption(marked, ctx.now):
            yield F(
                ctx,
                "publish.smime_default_cert",
                "fail",
                "bad",
                marked,
                {"marker": v.marker.attribute},
                cert=marked.short(),
            )
        else:
            yield F(
                ctx,
                "publish.smime_default_cert",
                "pass",
                "ok",
                marked,
                {"marker": v.marker.attribute},
                cert=marked.short(),
            )


@check(
    "publish.smime_only",
    en="Certificates are not only in userSMIMECertificate",
    de="Zertifikate liegen nicht nur in userSMIMECertificate",
    rule="warn: certificates only in userSMIMECertificate and userCertificate empty (often an import from a foreign PKI into the wrong attribute).",
)
def smime_only(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    smime_loc, user_loc = attributes_for(user)
    if user.values_at(smime_loc) and not user.values_at(user_loc):
        yield F(ctx, "publish.smime_only", "warn", "only", None, {}, smime=smime_loc, user=user_loc)
    else:
        yield F(ctx, "publish.smime_only", "pass", "ok", None, {})


@check(
    "publish.count_limit",
    en="At most 15 values per certificate attribute",
    de="Höchstens 15 Werte je Zertifikatsattribut",
    rule="fail: more than 15 values in userCertificate or userSMIMECertificate (Entra Connect stops exporting both, and a LargeObject error blocks every other change of the object); warn: 10 or more.",
)
def count_limit(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    worst = None
    for loc in attributes_for(user):
        n = len(user.values_at(loc))
        if n > COUNT_LIMIT:
            worst = F(
                ctx,
                "publish.count_limit",
                "fail",
                "over",
                None,
                {"attribute": loc, "count": n},
                attribute=loc,
                count=n,
            )
            break
        if n >= COUNT_WARN and worst is None:
            worst = F(
                ctx,
                "publish.count_limit",
                "warn",
                "near",
                None,
                {"attribute": loc, "count": n},
                attribute=loc,
                count=n,
            )
    yield worst or F(ctx, "publish.count_limit", "pass", "ok", None, {})


@check(
    "publish.attr_size",
    en="Certificate values fit the address book",
    de="Zertifikatswerte passen ins Adressbuch",
    rule="fail: one value over 32,768 bytes; warn: the values of one attribute together over 65,536 bytes (OAB truncation).",
)
def attr_size(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    found = False
    for loc in attributes_for(user):
        values = user.values_at(loc)
        for v in values:
            if v.size > VALUE_SIZE_LIMIT:
                found = True
                yield F(
                    ctx,
                    "publish.attr_size",
                    "fail",
                    "value",
                    None,
                    {"attribute": loc, "index": v.index, "bytes": v.size},
                    attribute=loc,
                    index=v.index + 1,
                    size=v.size,
                )
        total = sum(v.size for v in values)
        if total > ATTR_SIZE_LIMIT and not found:
            found = True
            yield F(
                ctx,
                "publish.attr_size",
                "warn",
                "total",
                None,
                {"attribute": loc, "bytes": total},
                attribute=loc,
                size=total,
            )
    if not found:
        yield F(ctx, "publish.attr_size", "pass", "ok", None, {})


def superseded(user: UserFacts, now: datetime) -> set[str]:
    """Valid certificates replaced by a newer valid one of the same issuer, template and addresses."""
    certs = {c.sha256: c for v in user.ad_values() or user.values for c in v.end_entities}
    out: set[str] = set()
    for c in certs.values():
        for other in certs.values():
            if (
                other.sha256 != c.sha256
                and other.issuer == c.issuer
                and (other.template_oid or other.template_name) == (c.template_oid or c.template_name)
                and {e.lower() for e in other.emails} == {e.lower() for e in c.emails}
                and other.not_before > c.not_before
                and other.is_valid_at(now)
                and _is_mail_cert(c)
            ):
                out.add(c.sha256)
                break
    return out


@check(
    "publish.clutter",
    en="No expired, revoked or superseded values",
    de="Keine abgelaufenen, gesperrten oder ersetzten Werte",
    rule="warn: expired, revoked or superseded values present (they count against the 15).",
)
def clutter(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    locs = attributes_for(user)
    expired, revoked, dupes = [], [], []
    seen: set[str] = set()
    old = superseded(user, ctx.now)
    for v in user.values:
        if v.location not in locs:
            continue
        for c in v.end_entities:
            if (v.location, c.sha256) in {(loc, s) for loc in locs for s in seen}:
                dupes.append(c.sha256)
            seen.add(c.sha256)
            if ctx.now >= c.not_after:
                expired.append(c.sha256)
            if any(r.status == "revoked" for r in ctx.revocation.get(c.sha256, [])):
                revoked.append(c.sha256)
    stale = sorted(set(expired) | set(revoked) | old | set(dupes))
    if stale:
        yield F(
            ctx,
            "publish.clutter",
            "warn",
            "found",
            None,
            {
                "expired": sorted(set(expired)),
                "revoked": sorted(set(revoked)),
                "superseded": sorted(old),
                "duplicates": dupes,
            },
            count=len(stale),
            expired=len(set(expired)),
            revoked=len(set(revoked)),
            superseded=len(old),
        )
    else:
        yield F(ctx, "publish.clutter", "pass", "ok", None, {})


@check(
    "publish.multiple_encryption_keys",
    en="One encryption key per user",
    de="Ein Verschlüsselungsschlüssel je Benutzer",
    rule="warn: more than one distinct valid encryption key; senders pick one, so the user must hold every private key on every device.",
)
def multiple_encryption_keys(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    locs = attributes_for(user)
    keys = {
        c.key_id
        for v in user.values
        if v.location in locs
        for c in v.end_entities
        if usable_for_encryption(c, ctx.now) and _is_mail_cert(c)
    }
    if len(keys) > 1:
        yield F(
            ctx,
            "publish.multiple_encryption_keys",
            "warn",
            "many",
            None,
            {"keys": len(keys)},
            count=len(keys),
        )
    else:
        yield F(ctx, "publish.multiple_encryption_keys", "pass", "ok", None, {})


@check(
    "publish.reenrollment_loop",
    en="No re-enrollment loop",
    de="Keine Neuausstellungs-Schleife",
    rule="fail: 3 or more certificates of one template issued within 2 days of each other in sequence; warn: 5 or more in 30 days (autoenrollment on non-persistent profiles: each new key loses the old ones).",
)
def reenrollment_loop(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    by_template: dict[str, list[CertInfo]] = {}
    for v in user.values:
        if v.location in attributes_for(user):
            for c in v.end_entities:
                key = c.template_oid or c.template_name or c.issuer
                if c.sha256 not in {x.sha256 for x in by_template.get(key, [])}:
                    by_template.setdefault(key, []).append(c)
    status = "pass"
    evidence: dict[str, object] = {}
    for key, certs in by_template.items():
        dates = sorted(c.not_before for c in certs)
        run = best_run = 1
        for a, b in zip(dates, dates[1:], strict=False):
            run = run + 1 if b - a <= timedelta(days=2) else 1
            best_run = max(best_run, run)
        window = max(
            (sum(1 for d in dates if start <= d <= start + timedelta(days=30)) for start in dates), default=0
        )
        if best_run >= 3:
            status, evidence = "fail", {"template": key, "run": best_run, "count": len(dates)}
            break
        if window >= 5 and status == "pass":
            status, evidence = "warn", {"template": key, "in_30_days": window, "count": len(dates)}
    if status == "fail":
        yield F(
            ctx,
            "publish.reenrollment_loop",
            "fail",
            "loop",
            None,
            evidence,
            run=evidence["run"],
            count=evidence["count"],
        )
    elif status == "warn":
        yield F(
            ctx, "publish.reenrollment_loop", "warn", "many", None, evidence, count=evidence["in_30_days"]
        )
    else:
        yield F(ctx, "publish.reenrollment_loop", "pass", "ok", None, {})


SHOWN_HOLDERS = 10  # other holders a shared-certificate finding names; the count covers the rest
_holders_memo: dict[int, tuple[set[str], list[str]]] = {}


def other_holders(owners: set[str] | None, me: str) -> tuple[list[str], int]:
    """(the first SHOWN_HOLDERS other holders, sorted; how many other holders in all) of one
    certificate. Bounded, so an audit where n objects share a certificate writes n names, not n².
    The sorted head of each owner set is computed once, not once per holder."""
    if not owners:
        return [], 0
    memo = _holders_memo.get(id(owners))
    if memo is None or memo[0] is not owners:
        if len(_holders_memo) > 4096:
            _holders_memo.clear()
        memo = (owners, heapq.nsmallest(SHOWN_HOLDERS + 1, owners))
        _holders_memo[id(owners)] = memo
    others = [k for k in memo[1] if k != me][:SHOWN_HOLDERS]
    return others, len(owners) - (me in owners)


@check(
    "publish.foreign_cert",
    en="No certificate of someone else is published",
    de="Kein fremdes Zertifikat veröffentlicht",
    rule="fail: a certificate with no address in U, or the same certificate on another directory object.",
)
def foreign_cert(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    locs = attributes_for(user)
    bad = False
    done: set[str] = set()
    for v in user.values:
        if v.location not in locs:
            continue
        for c in v.end_entities:
            if c.sha256 in done:
                continue
            done.add(c.sha256)
            others, count = other_holders(ctx.tenant.cert_owners.get(c.sha256), user.key)
            if others:
                bad = True
                more = count - len(others)
                yield F(
                    ctx,
                    "publish.foreign_cert",
                    "fail",
                    "shared_many" if more else "shared",
                    c,
                    {"also_on": others, "also_on_count": count},
                    cert=c.short(),
                    others=", ".join(others),
                    more=more,
                )
            elif c.emails and not address_ok(c, user):
                bad = True
                yield F(
                    ctx,
                    "publish.foreign_cert",
                    "fail",
                    "other_address",
                    c,
                    {"emails": list(c.emails)},
                    cert=c.short(),
                )
    if not bad:
        yield F(ctx, "publish.foreign_cert", "pass", "ok", None, {})


@check(
    "publish.non_smime_certs",
    en="Non-mail certificates taking slots",
    de="Nicht-Mail-Zertifikate belegen Plätze",
    rule="info: the count of non-mail certificates (smart-card logon, VPN, EFS) taking slots.",
)
def non_smime_certs(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    locs = attributes_for(user)
    others = {
        c.sha256 for v in user.values if v.location in locs for c in v.end_entities if not _is_mail_cert(c)
    }
    if others:
        yield F(
            ctx,
            "publish.non_smime_certs",
            "info",
            "found",
            None,
            {"certificates": sorted(others)},
            count=len(others),
        )
    else:
        yield F(ctx, "publish.non_smime_certs", "pass", "ok", None, {})


TEXTS: Texts = {
    "publish.ad_present": {
        "ok": {
            "en": ("Your certificate is published", "Outlook finds {cert} in {attribute}.", ""),
            "de": ("Ihr Zertifikat ist veröffentlicht", "Outlook findet {cert} in {attribute}.", ""),
        },
        "nothing": {
            "en": (
                "No certificate published",
                "The directory holds no certificate for this user, so nobody can encrypt to them.",
                "Enroll an S/MIME certificate; with autoenrollment, sign in once on a domain PC, or publish from Outlook (Trust Center → Publish to GAL).",
            ),
            "de": (
                "Kein Zertifikat veröffentlicht",
                "Das Verzeichnis enthält kein Zertifikat für diesen Benutzer; niemand kann an ihn verschlüsseln.",
                "S/MIME-Zertifikat beantragen; bei Autoenrollment einmal an einem Domänen-PC anmelden, oder aus Outlook veröffentlichen (Trust Center → In GAL veröffentlichen).",
            ),
        },
        "none_usable": {
            "en": (
                "No usable certificate published",
                "None of the {count} published values is a valid e-mail encryption certificate where Outlook looks.",
                "Enroll a current S/MIME certificate and remove the unusable values (prune_certificates).",
            ),
            "de": (
                "Kein nutzbares Zertifikat veröffentlicht",
                "Keiner der {count} veröffentlichten Werte ist ein gültiges Verschlüsselungszertifikat an der Stelle, an der Outlook sucht.",
                "Aktuelles S/MIME-Zertifikat beantragen und unbrauchbare Werte entfernen (prune_certificates).",
            ),
        },
        "bad_choice": {
            "en": (
                "Outlook picks an unusable certificate",
                "Outlook takes {cert} from {attribute}, but it is {why}.",
                "Fix what Outlook picks: remove the stale value (prune_certificates / clear_smime_attribute) or re-publish from Outlook.",
            ),
            "de": (
                "Outlook wählt ein unbrauchbares Zertifikat",
                "Outlook nimmt {cert} aus {attribute}, aber es ist {why}.",
                "Das von Outlook gewählte Zertifikat beheben: veralteten Wert entfernen (prune_certificates / clear_smime_attribute) oder aus Outlook neu veröffentlichen.",
            ),
        },
    },
    "publish.smime_precedence": {
        "empty": {
            "en": ("userSMIMECertificate empty", "Outlook uses userCertificate.", ""),
            "de": ("userSMIMECertificate leer", "Outlook nutzt userCertificate.", ""),
        },
        "hidden": {
            "en": (
                "A stale Outlook publication hides your current certificate",
                "{smime} has values but none is valid for encryption, and Outlook never falls back to {user}, where {cert} would work.",
                "Clear {smime} (clear_smime_attribute) or re-publish from Outlook (Trust Center → Publish to GAL).",
            ),
            "de": (
                "Eine veraltete Outlook-Veröffentlichung verdeckt Ihr aktuelles Zertifikat",
                "{smime} enthält Werte, aber keinen gültigen zum Verschlüsseln, und Outlook weicht nie auf {user} aus, wo {cert} funktionieren würde.",
                "{smime} leeren (clear_smime_attribute) oder aus Outlook neu veröffentlichen (Trust Center → In GAL veröffentlichen).",
            ),
        },
        "older": {
            "en": (
                "userSMIMECertificate is older than userCertificate",
                "The newest certificate, {cert}, is only in userCertificate; Outlook prefers the older one in {smime}.",
                "Re-publish from Outlook so {smime} carries the newest certificate, or clear it.",
            ),
            "de": (
                "userSMIMECertificate ist älter als userCertificate",
                "Das neueste Zertifikat, {cert}, liegt nur in userCertificate; Outlook bevorzugt das ältere in {smime}.",
                "Aus Outlook neu veröffentlichen, damit {smime} das neueste Zertifikat enthält, oder leeren.",
            ),
        },
        "ok": {
            "en": ("userSMIMECertificate current", "{attribute} holds a usable certificate.", ""),
            "de": ("userSMIMECertificate aktuell", "{attribute} enthält ein nutzbares Zertifikat.", ""),
        },
    },
    "publish.smime_default_cert": {
        "no_blob": {
            "en": ("No Outlook-published blob", "", ""),
            "de": ("Kein von Outlook veröffentlichter Blob", "", ""),
        },
        "no_marker": {
            "en": (
                "No default-certificate marker",
                "The PKCS#7 blob does not mark a default encryption certificate; Outlook takes the first valid one.",
                "",
            ),
            "de": (
                "Keine Standardzertifikat-Markierung",
                "Der PKCS#7-Blob markiert kein Standard-Verschlüsselungszertifikat; Outlook nimmt das erste gültige.",
                "",
            ),
        },
        "dangling": {
            "en": (
                "Default marker names a missing certificate",
                "The blob's default-certificate marker names a certificate the blob does not contain.",
                "Re-publish from Outlook (Trust Center → Publish to GAL).",
            ),
            "de": (
                "Markierung nennt ein fehlendes Zertifikat",
                "Die Standardzertifikat-Markierung nennt ein Zertifikat, das nicht im Blob ist.",
                "Aus Outlook neu veröffentlichen (Trust Center → In GAL veröffentlichen).",
            ),
        },
        "bad": {
            "en": (
                "Default certificate unusable",
                "Outlook's marker names {cert}, which is expired or cannot encrypt.",
                "Re-publish from Outlook with the current certificate, or clear userSMIMECertificate (clear_smime_attribute).",
            ),
            "de": (
                "Standardzertifikat unbrauchbar",
                "Die Outlook-Markierung nennt {cert}, das abgelaufen ist oder nicht verschlüsseln kann.",
                "Aus Outlook mit dem aktuellen Zertifikat neu veröffentlichen oder userSMIMECertificate leeren (clear_smime_attribute).",
            ),
        },
        "ok": {
            "en": ("Default certificate usable", "The marker names {cert}.", ""),
            "de": ("Standardzertifikat nutzbar", "Die Markierung nennt {cert}.", ""),
        },
    },
    "publish.smime_only": {
        "only": {
            "en": (
                "Certificates only in userSMIMECertificate",
                "{smime} has values but {user} is empty — often a certificate from a foreign PKI imported into the wrong attribute.",
                "Check where the certificate came from; publish enterprise certificates to userCertificate.",
            ),
            "de": (
                "Zertifikate nur in userSMIMECertificate",
                "{smime} hat Werte, {user} ist leer — oft ein Zertifikat einer fremden PKI im falschen Attribut.",
                "Herkunft prüfen; Unternehmenszertifikate in userCertificate veröffentlichen.",
            ),
        },
        "ok": {
            "en": ("Attributes used as expected", "", ""),
            "de": ("Attribute wie erwartet genutzt", "", ""),
        },
    },
    "publish.count_limit": {
        "over": {
            "en": (
                "Too many certificates: {count} in {attribute}",
                "Entra Connect exports at most 15 values; beyond that it skips both certificate attributes (Exchange Online gets none) and a LargeObject error blocks every other change of this user.",
                "Prune expired and superseded values to 15 or fewer (prune_certificates); then the next sync exports them.",
            ),
            "de": (
                "Zu viele Zertifikate: {count} in {attribute}",
                "Entra Connect exportiert höchstens 15 Werte; darüber lässt es beide Zertifikatsattribute aus (Exchange Online erhält keines), und ein LargeObject-Fehler blockiert jede andere Änderung dieses Benutzers.",
                "Abgelaufene und ersetzte Werte auf höchstens 15 bereinigen (prune_certificates); danach exportiert die nächste Synchronisierung sie.",
            ),
        },
        "near": {
            "en": (
                "{count} values in {attribute}",
                "Close to the limit of 15 that Entra Connect exports.",
                "Prune expired and superseded values (prune_certificates).",
            ),
            "de": (
                "{count} Werte in {attribute}",
                "Nahe an der Grenze von 15, die Entra Connect exportiert.",
                "Abgelaufene und ersetzte Werte bereinigen (prune_certificates).",
            ),
        },
        "ok": {"en": ("Value count fine", "", ""), "de": ("Anzahl der Werte in Ordnung", "", "")},
    },
    "publish.attr_size": {
        "value": {
            "en": (
                "Value too large",
                "Value {index} of {attribute} is {size} bytes; the offline address book drops values over 32 KB.",
                "Remove or re-issue the oversized value.",
            ),
            "de": (
                "Wert zu groß",
                "Wert {index} in {attribute} hat {size} Byte; das Offline-Adressbuch verwirft Werte über 32 KB.",
                "Übergroßen Wert entfernen oder neu ausstellen.",
            ),
        },
        "total": {
            "en": (
                "Attribute too large",
                "{attribute} holds {size} bytes in total; the offline address book may truncate it.",
                "Prune values that are no longer needed (prune_certificates).",
            ),
            "de": (
                "Attribut zu groß",
                "{attribute} enthält insgesamt {size} Byte; das Offline-Adressbuch kürzt es eventuell.",
                "Nicht mehr benötigte Werte entfernen (prune_certificates).",
            ),
        },
        "ok": {"en": ("Sizes fine", "", ""), "de": ("Größen in Ordnung", "", "")},
    },
    "publish.clutter": {
        "found": {
            "en": (
                "{count} stale values published",
                "{expired} expired, {revoked} revoked, {superseded} superseded certificates (or duplicates) are still published; they count against the 15.",
                "Remove them (prune_certificates); the before-state is saved and can be undone.",
            ),
            "de": (
                "{count} veraltete Werte veröffentlicht",
                "{expired} abgelaufene, {revoked} gesperrte, {superseded} ersetzte Zertifikate (oder Duplikate) sind noch veröffentlicht; sie zählen gegen die 15.",
                "Entfernen (prune_certificates); der vorherige Zustand wird gesichert und kann wiederhergestellt werden.",
            ),
        },
        "ok": {"en": ("No stale values", "", ""), "de": ("Keine veralteten Werte", "", "")},
    },
    "publish.multiple_encryption_keys": {
        "many": {
            "en": (
                "{count} different encryption keys",
                "Senders pick one of them; the user must hold every one of these private keys on every device to read all mail.",
                "Keep one current certificate (prune_certificates) or make sure key roaming/archival covers all keys.",
            ),
            "de": (
                "{count} verschiedene Verschlüsselungsschlüssel",
                "Absender wählen einen davon; der Benutzer braucht jeden dieser privaten Schlüssel auf jedem Gerät, um alle Mails zu lesen.",
                "Ein aktuelles Zertifikat behalten (prune_certificates) oder sicherstellen, dass Roaming/Archivierung alle Schlüssel abdeckt.",
            ),
        },
        "ok": {"en": ("One encryption key", "", ""), "de": ("Ein Verschlüsselungsschlüssel", "", "")},
    },
    "publish.reenrollment_loop": {
        "loop": {
            "en": (
                "Re-enrollment loop",
                "{run} certificates of one template were issued within 2 days of each other ({count} in all) — typical of autoenrollment on non-persistent profiles (terminal servers, VDI). Each new key makes the old ones useless.",
                "Enable 'Check user DS for existing certificate' (msPKI-Enrollment-Flag 0x10) on the template or use roaming profiles; then prune (prune_certificates).",
            ),
            "de": (
                "Neuausstellungs-Schleife",
                "{run} Zertifikate einer Vorlage wurden im Abstand von höchstens 2 Tagen ausgestellt (insgesamt {count}) — typisch für Autoenrollment auf nicht-persistenten Profilen (Terminalserver, VDI). Jeder neue Schlüssel macht die alten nutzlos.",
                "In der Vorlage 'Vorhandenes Zertifikat im Verzeichnis prüfen' (msPKI-Enrollment-Flag 0x10) aktivieren oder Roaming-Profile nutzen; danach bereinigen (prune_certificates).",
            ),
        },
        "many": {
            "en": (
                "{count} certificates in 30 days",
                "Unusually frequent re-enrollment.",
                "Check autoenrollment on this user's machines.",
            ),
            "de": (
                "{count} Zertifikate in 30 Tagen",
                "Ungewöhnlich häufige Neuausstellung.",
                "Autoenrollment auf den Rechnern dieses Benutzers prüfen.",
            ),
        },
        "ok": {"en": ("No re-enrollment loop", "", ""), "de": ("Keine Neuausstellungs-Schleife", "", "")},
    },
    "publish.foreign_cert": {
        "shared": {
            "en": (
                "Certificate also published on another object",
                "{cert} is also published on {others}.",
                "Remove it from the object it does not belong to (prune_certificates).",
            ),
            "de": (
                "Zertifikat auch an einem anderen Objekt",
                "{cert} ist auch an {others} veröffentlicht.",
                "Am falschen Objekt entfernen (prune_certificates).",
            ),
        },
        "shared_many": {
            "en": (
                "Certificate also published on other objects",
                "{cert} is also published on {others} and {more} more.",
                "Remove it from the objects it does not belong to (prune_certificates).",
            ),
            "de": (
                "Zertifikat auch an anderen Objekten",
                "{cert} ist auch an {others} und {more} weiteren veröffentlicht.",
                "An den falschen Objekten entfernen (prune_certificates).",
            ),
        },
        "other_address": {
            "en": (
                "Someone else's certificate",
                "{cert} names none of this user's addresses.",
                "Remove it from this user (prune_certificates).",
            ),
            "de": (
                "Fremdes Zertifikat",
                "{cert} nennt keine Adresse dieses Benutzers.",
                "Vom Benutzer entfernen (prune_certificates).",
            ),
        },
        "ok": {"en": ("No foreign certificates", "", ""), "de": ("Keine fremden Zertifikate", "", "")},
    },
    "publish.non_smime_certs": {
        "found": {
            "en": (
                "{count} non-mail certificates",
                "Smart-card logon, VPN or EFS certificates also sit in the attribute and take slots of the 15.",
                "Consider not publishing these templates to the directory.",
            ),
            "de": (
                "{count} Nicht-Mail-Zertifikate",
                "Smartcard-, VPN- oder EFS-Zertifikate liegen ebenfalls im Attribut und belegen Plätze der 15.",
                "Erwägen, diese Vorlagen nicht im Verzeichnis zu veröffentlichen.",
            ),
        },
        "ok": {"en": ("Only mail certificates", "", ""), "de": ("Nur Mail-Zertifikate", "", "")},
    },
}

F = make_finder(TEXTS)
