"""sync.* and exo.* — did the certificate reach Exchange Online, and when will senders see it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from workers.checks.base import Context, Texts, check, make_finder, skip
from workers.checks.publish import COUNT_LIMIT
from workers.facts import AD_SMIME_CERT, AD_USER_CERT, EXO_SMIME_CERT, EXO_USER_CERT, UserFacts
from workers.report import Finding, iso
from workers.timestamps import parse_time

OAB_AND_DOWNLOAD = timedelta(hours=48)
PAIRS = ((AD_USER_CERT, EXO_USER_CERT), (AD_SMIME_CERT, EXO_SMIME_CERT))


def observed_at(ctx: Context) -> datetime:
    """When the directory state was seen: the snapshot's collection time, else now."""
    return ctx.tenant.collected_at or ctx.now


def in_sync_scope(user: UserFacts, scope: dict | None) -> bool:
    """Apply snapshot.json's sync_scope: {"attribute", "equals"} excludes, {"ou": [...]} includes."""
    if not scope or user.ad is None:
        return True
    if "ou" in scope:
        dn = user.ad.dn.lower()
        return any(dn.endswith(ou.lower()) for ou in scope["ou"])
    attr = str(scope.get("attribute", "")).lower()
    if attr:
        values = [v.lower() for v in user.ad.extra.get(attr, [])]
        return str(scope.get("equals", "")).lower() not in values
    return True


def _cert_set(user: UserFacts, loc: str) -> set[str]:
    out: set[str] = set()
    for v in user.values_at(loc):
        out |= {c.sha256 for c in v.certificates} if v.certificates else {f"invalid:{v.index}:{v.size}"}
    return out


@check(
    "sync.in_scope",
    en="User is synchronised to Entra ID",
    de="Benutzer wird nach Entra ID synchronisiert",
    rule="fail: the AD user has no synced Entra user (onPremisesSyncEnabled), or matches the snapshot's sync_scope exclusion; skip without Entra data.",
)
def in_scope(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if user.ad is None:
        yield F(ctx, "sync.in_scope", "pass", "cloud", None, {})
        return
    if "entra" not in ctx.tenant.available:
        yield skip(ctx, "sync.in_scope", "entra-users.json")
        return
    if not in_sync_scope(user, ctx.tenant.sync_scope):
        yield F(ctx, "sync.in_scope", "fail", "excluded", None, {"sync_scope": ctx.tenant.sync_scope})
    elif user.entra is None or not user.entra.sync_enabled:
        yield F(ctx, "sync.in_scope", "fail", "not_synced", None, {})
    else:
        yield F(ctx, "sync.in_scope", "pass", "ok", None, {"entra_id": user.entra.id})


@check(
    "sync.mailnickname",
    en="mailNickname is set, so Exchange attributes sync",
    de="mailNickname ist gesetzt, damit Exchange-Attribute synchronisiert werden",
    rule="fail: AD mailNickname is empty; Entra Connect then syncs no Exchange attribute, certificates included.",
)
def mailnickname(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if user.ad is None:
        yield F(ctx, "sync.mailnickname", "pass", "cloud", None, {})
    elif not (user.ad.mail_nickname or "").strip():
        local = (user.ad.mail or user.primary_smtp or "").split("@")[0] or "?"
        yield F(ctx, "sync.mailnickname", "fail", "missing", None, {"suggested": local}, suggested=local)
    else:
        yield F(
            ctx,
            "sync.mailnickname",
            "pass",
            "ok",
            None,
            {"mailNickname": user.ad.mail_nickname},
            value=user.ad.mail_nickname,
        )


@check(
    "sync.errors",
    en="No provisioning errors in Entra ID",
    de="Keine Bereitstellungsfehler in Entra ID",
    rule="fail: serviceProvisioningErrors or onPremisesProvisioningErrors on the Entra user.",
)
def errors(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if "entra" not in ctx.tenant.available:
        yield skip(ctx, "sync.errors", "entra-users.json")
        return
    e = user.entra
    problems = (e.provisioning_errors + e.service_errors) if e else []
    if problems:
        text = "; ".join(_error_text(p) for p in problems)[:600]
        yield F(ctx, "sync.errors", "fail", "found", None, {"errors": problems}, errors=text)
    else:
        yield F(ctx, "sync.errors", "pass", "ok", None, {})


_XML_PARAMETER = re.compile(r"<ErrorParameter>([^<]{1,1000})</ErrorParameter>")
_XML_CODE = re.compile(r"<ErrorCode>([^<]{1,100})</ErrorCode>")


def _error_text(p: object) -> str:
    """The cause as Entra states it: from serviceProvisioningXmlError's XML the error code and its
    sentence ("The proxy address … is already being used …"), not the first bytes of the XML;
    from onPremisesProvisioningErrors the category, the property and the value."""
    if not isinstance(p, dict):
        return str(p)[:300]
    detail = str(p.get("errorDetail") or "")[:20_000]  # bounded before any pattern runs
    sentences = [html.unescape(m) for m in _XML_PARAMETER.findall(detail)]
    if sentences:
        code = _XML_CODE.search(detail)
        return ((code.group(1) + ": ") if code else "") + " ".join(sentences)[:300]
    parts = [f"{p[key]}" for key in ("category", "propertyCausingError", "value") if p.get(key)]
    if parts:
        return ", ".join(str(x) for x in parts)[:300]
    return html.unescape(re.sub(r"<[^>]{0,200}>", " ", detail)).strip()[:300] or str(p)[:300]


@check(
    "sync.freshness",
    en="Entra Connect synchronised recently",
    de="Entra Connect hat kürzlich synchronisiert",
    scope="tenant",
    rule="warn: the organization's onPremisesLastSyncDateTime is older than 3 sync intervals.",
)
def freshness(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    org = ctx.tenant.organization
    if org is None:
        yield skip(ctx, "sync.freshness", "entra-organization.json")
        return

    last = parse_time(org.get("onPremisesLastSyncDateTime"))
    if last is None:
        yield F(ctx, "sync.freshness", "info", "never", None, {})
        return
    age = observed_at(ctx) - last
    limit = timedelta(minutes=3 * ctx.tenant.sync_interval_minutes)
    ev = {"last_sync": iso(last), "age_minutes": int(age.total_seconds() // 60)}
    if age > limit:
        yield F(ctx, "sync.freshness", "warn", "stale", None, ev, last=iso(last), minutes=ev["age_minutes"])
    else:
        yield F(ctx, "sync.freshness", "pass", "ok", None, ev, last=iso(last))


@check(
    "sync.cert_flow",
    en="Certificates flow from AD to Exchange Online",
    de="Zertifikate fließen von AD nach Exchange Online",
    scope="tenant",
    rule="fail: many synced users with AD certificates have none in Exchange Online (attribute filtering or a custom sync rule).",
)
def cert_flow(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    stats = ctx.tenant.sync_flow
    if stats is None:
        yield skip(ctx, "sync.cert_flow", "ad.ldif + exo-recipients.json")
        return
    total, missing = stats
    ev = {"synced_with_certs": total, "without_certs_in_exo": missing}
    if total >= 5 and missing * 2 >= total:
        yield F(ctx, "sync.cert_flow", "fail", "blocked", None, ev, total=total, missing=missing)
    else:
        yield F(ctx, "sync.cert_flow", "pass", "ok", None, ev, total=total, missing=missing)


@check(
    "exo.recipient_found",
    en="Exchange Online has a recipient for the user",
    de="Exchange Online kennt einen Empfänger für den Benutzer",
    rule="fail: no Exchange Online mailbox, mail user or contact for the user.",
)
def recipient_found(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if "exo" not in ctx.tenant.available:
        yield skip(ctx, "exo.recipient_found", "exo-recipients.json")
    elif user.exo is None:
        yield F(ctx, "exo.recipient_found", "fail", "missing", None, {})
    else:
        yield F(
            ctx,
            "exo.recipient_found",
            "pass",
            "ok",
            None,
            {"type": user.exo.type_details},
            type=user.exo.type_details or "?",
        )


@check(
    "exo.cert_matches_ad",
    en="Exchange Online holds the same certificates as AD",
    de="Exchange Online hat dieselben Zertifikate wie AD",
    rule="compares the certificate sets (sha256) of AD and Exchange Online per attribute; pass: equal; info: AD changed less than 2 sync intervals + 30 min ago (still flowing); fail: they differ after that (explained: more than 15 values in AD makes Exchange Online empty by design).",
)
def cert_matches_ad(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    if user.ad is None:
        yield F(ctx, "exo.cert_matches_ad", "pass", "cloud", None, {})
        return
    if "exo" not in ctx.tenant.available:
        yield skip(ctx, "exo.cert_matches_ad", "exo-recipients.json")
        return
    if user.exo is None:
        yield F(ctx, "exo.cert_matches_ad", "fail", "no_recipient", None, {})
        return
    differing: list[dict[str, Any]] = []
    for ad_loc, exo_loc in PAIRS:
        a, e = _cert_set(user, ad_loc), _cert_set(user, exo_loc)
        if a != e:
            differing.append(
                {
                    "ad": ad_loc,
                    "exo": exo_loc,
                    "only_in_ad": len(a - e),
                    "only_in_exo": len(e - a),
                    "ad_count": len(user.values_at(ad_loc)),
                    "exo_count": len(user.values_at(exo_loc)),
                }
            )
    if not differing:
        yield F(ctx, "exo.cert_matches_ad", "pass", "ok", None, {})
        return
    ev = {"differences": differing}
    changed = user.ad.when_changed
    grace = timedelta(minutes=2 * ctx.tenant.sync_interval_minutes + 30)
    if changed is not None and observed_at(ctx) - changed < grace:
        expected = changed + timedelta(minutes=ctx.tenant.sync_interval_minutes)
        yield F(
            ctx,
            "exo.cert_matches_ad",
            "info",
            "flowing",
            None,
            ev,
            changed=iso(changed),
            expected=iso(expected),
        )
    elif any(d["ad_count"] > COUNT_LIMIT for d in differing):
        yield F(ctx, "exo.cert_matches_ad", "fail", "too_many", None, ev)
    elif not (user.ad.mail_nickname or "").strip():
        yield F(ctx, "exo.cert_matches_ad", "fail", "no_nickname", None, ev)
    else:
        d = differing[0]
        yield F(
            ctx,
            "exo.cert_matches_ad",
            "fail",
            "differ",
            None,
            ev,
            ad=d["ad"],
            exo=d["exo"],
            only_ad=d["only_in_ad"],
            only_exo=d["only_in_exo"],
        )


@check(
    "exo.hidden_from_gal",
    en="Visible in the address book",
    de="Im Adressbuch sichtbar",
    rule="fail: the recipient is hidden from address lists, so no GAL/OAB lookup finds the certificate.",
)
def hidden_from_gal(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    hidden = (user.exo is not None and user.exo.hidden) or (user.ad is not None and user.ad.hidden)
    if hidden:
        yield F(ctx, "exo.hidden_from_gal", "fail", "hidden", None, {})
    else:
        yield F(ctx, "exo.hidden_from_gal", "pass", "ok", None, {})


@check(
    "exo.propagation",
    en="When senders will see the certificate",
    de="Wann Absender das Zertifikat sehen",
    rule="info: when the newest certificate reached Exchange Online (or AD), and when cached-mode Outlook can be expected to see it (OAB generation + about 24 h download, up to about 48 h); OWA and mobile see it at once.",
)
def propagation(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    exo_certs = {
        c.sha256
        for loc in (EXO_USER_CERT, EXO_SMIME_CERT)
        for v in user.values_at(loc)
        for c in v.certificates
    }
    ad_certs = {
        c.sha256 for loc in (AD_USER_CERT, AD_SMIME_CERT) for v in user.values_at(loc) for c in v.certificates
    }
    if not exo_certs and not ad_certs:
        return
    interval = timedelta(minutes=ctx.tenant.sync_interval_minutes)
    if ad_certs - exo_certs and user.ad is not None:
        base = (user.ad.when_changed or observed_at(ctx)) + interval
        yield F(
            ctx,
            "exo.propagation",
            "info",
            "pending",
            None,
            {"exo_expected": iso(base), "outlook_by": iso(base + OAB_AND_DOWNLOAD)},
            exo=iso(base),
            outlook=iso(base + OAB_AND_DOWNLOAD),
        )
        return
    reached = user.exo.when_changed if user.exo and user.exo.when_changed else None
    if reached is None:
        yield F(ctx, "exo.propagation", "info", "unknown", None, {})
        return
    outlook = reached + OAB_AND_DOWNLOAD
    key = "done" if observed_at(ctx) >= outlook else "in_flight"
    yield F(
        ctx,
        "exo.propagation",
        "info",
        key,
        None,
        {"reached_exo": iso(reached), "outlook_by": iso(outlook)},
        reached=iso(reached),
        outlook=iso(outlook),
    )


WEAK_ALGORITHMS = ("des", "rc2", "3des", "tripledes", "2.16.840.1.101.3.4.1.2x")


@check(
    "exo.smime_config",
    en="Tenant S/MIME settings are sound",
    de="S/MIME-Einstellungen des Tenants sind sinnvoll",
    scope="tenant",
    rule="warn: OWAOnlyUseSmartCard, DES/RC2/3DES preferred in OWAEncryptionAlgorithms, SHA-1 in OWASigningAlgorithms, or OWADisableCRLCheck; info: OWAUseSecondaryProxiesWhenFindingCertificates false.",
)
def smime_config(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    cfg = ctx.tenant.smime_config
    if cfg is None:
        yield skip(ctx, "exo.smime_config", "exo-smimeconfig.json")
        return
    problems = []
    if cfg.get("OWAOnlyUseSmartCard") is True:
        problems.append("OWAOnlyUseSmartCard")
    enc = str(cfg.get("OWAEncryptionAlgorithms") or "")
    first = enc.split(";")[0].strip().lower() if enc else ""
    if first and (first in {"6601", "6602", "6603", "660e"} or any(w in first for w in ("des", "rc2"))):
        problems.append(f"OWAEncryptionAlgorithms={enc}")
    sig = str(cfg.get("OWASigningAlgorithms") or "")
    if sig and sig.split(";")[0].strip().lower() in {"8004", "sha1"}:
        problems.append(f"OWASigningAlgorithms={sig}")
    if cfg.get("OWADisableCRLCheck") is True:
        problems.append("OWADisableCRLCheck")
    if problems:
        yield F(
            ctx,
            "exo.smime_config",
            "warn",
            "weak",
            None,
            {"settings": problems},
            settings=", ".join(problems),
        )
    elif cfg.get("OWAUseSecondaryProxiesWhenFindingCertificates") is False:
        yield F(ctx, "exo.smime_config", "info", "secondary", None, {})
    else:
        yield F(ctx, "exo.smime_config", "pass", "ok", None, {})


@check(
    "exo.owa_policy",
    en="OWA mailbox policy S/MIME setting explained",
    de="S/MIME-Einstellung der OWA-Postfachrichtlinie erklärt",
    scope="tenant",
    rule="info: OwaMailboxPolicy SMimeEnabled has no effect in Exchange Online (Exchange 2010 only); S/MIME in OWA is controlled by SmimeConfig and the browser extension.",
)
def owa_policy(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    yield F(ctx, "exo.owa_policy", "info", "note", None, {})


TEXTS: Texts = {
    "sync.in_scope": {
        "cloud": {
            "en": ("Cloud-only recipient", "No on-premises object; nothing to synchronise.", ""),
            "de": ("Reiner Cloud-Empfänger", "Kein lokales Objekt; nichts zu synchronisieren.", ""),
        },
        "excluded": {
            "en": (
                "Outside the sync scope",
                "The AD object matches the Entra Connect scope exclusion, so nothing of it reaches Exchange Online.",
                "Move the user into scope (OU or filter attribute) and run a delta sync.",
            ),
            "de": (
                "Außerhalb des Synchronisierungsbereichs",
                "Das AD-Objekt fällt unter den Ausschluss von Entra Connect; nichts davon erreicht Exchange Online.",
                "Benutzer in den Bereich aufnehmen (OU oder Filterattribut) und Delta-Sync starten.",
            ),
        },
        "not_synced": {
            "en": (
                "Not synchronised",
                "No synchronised Entra user exists for this AD account.",
                "Check the Entra Connect scope and its export errors; Start-ADSyncSyncCycle -PolicyType Delta.",
            ),
            "de": (
                "Nicht synchronisiert",
                "Zu diesem AD-Konto gibt es keinen synchronisierten Entra-Benutzer.",
                "Bereich und Exportfehler von Entra Connect prüfen; Start-ADSyncSyncCycle -PolicyType Delta.",
            ),
        },
        "ok": {
            "en": ("Synchronised", "The AD user has a synchronised Entra user.", ""),
            "de": ("Synchronisiert", "Der AD-Benutzer hat einen synchronisierten Entra-Benutzer.", ""),
        },
    },
    "sync.mailnickname": {
        "cloud": {"en": ("Cloud-only recipient", "", ""), "de": ("Reiner Cloud-Empfänger", "", "")},
        "missing": {
            "en": (
                "mailNickname is empty",
                "Without mailNickname, Entra Connect syncs no Exchange attribute of this user — certificates included.",
                "Set mailNickname (set_mail_nickname, suggested value '{suggested}'); the next sync exports the certificates.",
            ),
            "de": (
                "mailNickname ist leer",
                "Ohne mailNickname synchronisiert Entra Connect kein Exchange-Attribut dieses Benutzers — auch keine Zertifikate.",
                "mailNickname setzen (set_mail_nickname, Vorschlag '{suggested}'); die nächste Synchronisierung exportiert die Zertifikate.",
            ),
        },
        "ok": {
            "en": ("mailNickname set", "mailNickname is '{value}'.", ""),
            "de": ("mailNickname gesetzt", "mailNickname ist '{value}'.", ""),
        },
    },
    "sync.errors": {
        "found": {
            "en": (
                "Provisioning errors",
                "Entra ID reports: {errors}",
                "Resolve the conflict (duplicate proxy address or UPN) in AD; the next sync clears the error.",
            ),
            "de": (
                "Bereitstellungsfehler",
                "Entra ID meldet: {errors}",
                "Konflikt (doppelte Proxyadresse oder UPN) im AD beheben; die nächste Synchronisierung löscht den Fehler.",
            ),
        },
        "ok": {"en": ("No provisioning errors", "", ""), "de": ("Keine Bereitstellungsfehler", "", "")},
    },
    "sync.freshness": {
        "never": {
            "en": ("Directory sync not reported", "The organization has no last sync time.", ""),
            "de": (
                "Keine Verzeichnissynchronisierung gemeldet",
                "Die Organisation hat keine letzte Synchronisierungszeit.",
                "",
            ),
        },
        "stale": {
            "en": (
                "Directory sync is behind",
                "The last Entra Connect sync was at {last}, {minutes} minutes before the data was collected (more than 3 intervals).",
                "Check the Entra Connect server and its scheduler (Get-ADSyncScheduler).",
            ),
            "de": (
                "Verzeichnissynchronisierung hängt",
                "Die letzte Synchronisierung war {last}, {minutes} Minuten vor der Erfassung (mehr als 3 Intervalle).",
                "Entra-Connect-Server und Zeitplan prüfen (Get-ADSyncScheduler).",
            ),
        },
        "ok": {
            "en": ("Directory sync current", "Last sync {last}.", ""),
            "de": ("Verzeichnissynchronisierung aktuell", "Letzte Synchronisierung {last}.", ""),
        },
    },
    "sync.cert_flow": {
        "blocked": {
            "en": (
                "Certificates do not reach Exchange Online",
                "{missing} of {total} synced users with AD certificates have none in Exchange Online (and no other explanation).",
                "Check attribute filtering and custom sync rules for userCertificate/userSMIMECertificate in Entra Connect.",
            ),
            "de": (
                "Zertifikate erreichen Exchange Online nicht",
                "{missing} von {total} synchronisierten Benutzern mit AD-Zertifikaten haben keine in Exchange Online (ohne andere Erklärung).",
                "Attributfilterung und eigene Synchronisierungsregeln für userCertificate/userSMIMECertificate in Entra Connect prüfen.",
            ),
        },
        "ok": {
            "en": (
                "Certificates flow",
                "{missing} of {total} synced users with AD certificates lack them in Exchange Online.",
                "",
            ),
            "de": (
                "Zertifikate fließen",
                "{missing} von {total} synchronisierten Benutzern mit AD-Zertifikaten fehlen sie in Exchange Online.",
                "",
            ),
        },
    },
    "exo.recipient_found": {
        "missing": {
            "en": (
                "No Exchange Online recipient",
                "Exchange Online has no mailbox, mail user or contact for this user, so no GAL shows a certificate.",
                "Check licensing and sync (sync.* findings).",
            ),
            "de": (
                "Kein Exchange-Online-Empfänger",
                "Exchange Online hat kein Postfach, keinen E-Mail-Benutzer und keinen Kontakt für diesen Benutzer; keine GAL zeigt ein Zertifikat.",
                "Lizenz und Synchronisierung prüfen (sync.*-Befunde).",
            ),
        },
        "ok": {
            "en": ("Exchange Online recipient found", "Type {type}.", ""),
            "de": ("Exchange-Online-Empfänger gefunden", "Typ {type}.", ""),
        },
    },
    "exo.cert_matches_ad": {
        "cloud": {
            "en": ("Cloud-only recipient", "Exchange Online is the source.", ""),
            "de": ("Reiner Cloud-Empfänger", "Exchange Online ist die Quelle.", ""),
        },
        "no_recipient": {
            "en": (
                "No recipient to compare",
                "Exchange Online has no recipient for this user.",
                "See exo.recipient_found.",
            ),
            "de": (
                "Kein Empfänger zum Vergleich",
                "Exchange Online hat keinen Empfänger für diesen Benutzer.",
                "Siehe exo.recipient_found.",
            ),
        },
        "flowing": {
            "en": (
                "Still flowing to Exchange Online",
                "AD changed at {changed}; Exchange Online should have it after the next sync (around {expected}).",
                "Wait, or run Start-ADSyncSyncCycle -PolicyType Delta.",
            ),
            "de": (
                "Unterwegs nach Exchange Online",
                "AD wurde {changed} geändert; Exchange Online sollte es nach der nächsten Synchronisierung haben (etwa {expected}).",
                "Abwarten oder Start-ADSyncSyncCycle -PolicyType Delta ausführen.",
            ),
        },
        "too_many": {
            "en": (
                "Exchange Online differs: too many values in AD",
                "AD holds more than 15 values, so Entra Connect exports no certificate attribute by design.",
                "Prune AD to 15 or fewer values (prune_certificates).",
            ),
            "de": (
                "Exchange Online weicht ab: zu viele Werte im AD",
                "AD enthält mehr als 15 Werte; Entra Connect exportiert dann bewusst kein Zertifikatsattribut.",
                "AD auf höchstens 15 Werte bereinigen (prune_certificates).",
            ),
        },
        "no_nickname": {
            "en": (
                "Exchange Online differs: mailNickname missing",
                "Without mailNickname no Exchange attribute syncs.",
                "Set mailNickname (set_mail_nickname).",
            ),
            "de": (
                "Exchange Online weicht ab: mailNickname fehlt",
                "Ohne mailNickname wird kein Exchange-Attribut synchronisiert.",
                "mailNickname setzen (set_mail_nickname).",
            ),
        },
        "differ": {
            "en": (
                "Exchange Online differs from AD",
                "{ad} and {exo} differ ({only_ad} only in AD, {only_exo} only in Exchange Online) long after the last change.",
                "Check the object's export errors in Entra Connect and run a delta sync.",
            ),
            "de": (
                "Exchange Online weicht von AD ab",
                "{ad} und {exo} unterscheiden sich ({only_ad} nur im AD, {only_exo} nur in Exchange Online), lange nach der letzten Änderung.",
                "Exportfehler des Objekts in Entra Connect prüfen und Delta-Sync starten.",
            ),
        },
        "ok": {
            "en": ("Exchange Online matches AD", "", ""),
            "de": ("Exchange Online stimmt mit AD überein", "", ""),
        },
    },
    "exo.hidden_from_gal": {
        "hidden": {
            "en": (
                "Hidden from the address book",
                "The recipient is hidden from address lists; no GAL or offline address book lookup finds its certificate.",
                "Unhide it (msExchHideFromAddressLists in AD for synced users), or send signed mail so partners get the certificate.",
            ),
            "de": (
                "Im Adressbuch ausgeblendet",
                "Der Empfänger ist aus Adresslisten ausgeblendet; keine GAL- oder Offline-Adressbuch-Suche findet sein Zertifikat.",
                "Einblenden (msExchHideFromAddressLists im AD bei synchronisierten Benutzern) oder signierte Mails senden, damit Partner das Zertifikat erhalten.",
            ),
        },
        "ok": {"en": ("Visible in the address book", "", ""), "de": ("Im Adressbuch sichtbar", "", "")},
    },
    "exo.propagation": {
        "pending": {
            "en": (
                "On its way",
                "The newest AD certificate should reach Exchange Online around {exo}; OWA, new Outlook and mobile see it then, cached-mode Outlook by about {outlook} (offline address book + download, up to ~48 h).",
                "Senders in a hurry: use OWA or download the address book in Outlook (Send/Receive → Download Address Book).",
            ),
            "de": (
                "Unterwegs",
                "Das neueste AD-Zertifikat sollte etwa {exo} in Exchange Online sein; OWA, neues Outlook und mobile Clients sehen es dann, Outlook im Cache-Modus etwa ab {outlook} (Offline-Adressbuch + Download, bis ~48 h).",
                "Eilige Absender: OWA nutzen oder in Outlook das Adressbuch herunterladen (Senden/Empfangen → Adressbuch herunterladen).",
            ),
        },
        "in_flight": {
            "en": (
                "Reached Exchange Online at {reached}",
                "OWA, new Outlook and mobile see it now; cached-mode Outlook by about {outlook}.",
                "Senders in a hurry: download the address book in Outlook.",
            ),
            "de": (
                "Seit {reached} in Exchange Online",
                "OWA, neues Outlook und mobile Clients sehen es jetzt; Outlook im Cache-Modus etwa ab {outlook}.",
                "Eilige Absender: Adressbuch in Outlook herunterladen.",
            ),
        },
        "done": {
            "en": (
                "In every address book",
                "Reached Exchange Online at {reached}; cached-mode Outlook should have it since about {outlook}.",
                "",
            ),
            "de": (
                "In allen Adressbüchern",
                "Seit {reached} in Exchange Online; Outlook im Cache-Modus sollte es seit etwa {outlook} haben.",
                "",
            ),
        },
        "unknown": {
            "en": (
                "Arrival time unknown",
                "Exchange Online does not say when the recipient last changed.",
                "",
            ),
            "de": (
                "Ankunftszeit unbekannt",
                "Exchange Online nennt keine letzte Änderung des Empfängers.",
                "",
            ),
        },
    },
    "exo.smime_config": {
        "weak": {
            "en": (
                "Tenant S/MIME settings need attention",
                "Set-SmimeConfig has: {settings}.",
                "Use Set-SmimeConfig to prefer AES-256 (OWAEncryptionAlgorithms 6610), SHA-256 signing, and keep CRL checks on.",
            ),
            "de": (
                "S/MIME-Einstellungen des Tenants prüfen",
                "Set-SmimeConfig hat: {settings}.",
                "Mit Set-SmimeConfig AES-256 (OWAEncryptionAlgorithms 6610) und SHA-256 bevorzugen und CRL-Prüfung eingeschaltet lassen.",
            ),
        },
        "secondary": {
            "en": (
                "Secondary addresses not used",
                "OWAUseSecondaryProxiesWhenFindingCertificates is off: certificates issued to secondary addresses are not found.",
                "Turn it on if users hold certificates for secondary addresses.",
            ),
            "de": (
                "Zweitadressen nicht genutzt",
                "OWAUseSecondaryProxiesWhenFindingCertificates ist aus: Zertifikate auf Zweitadressen werden nicht gefunden.",
                "Einschalten, wenn Benutzer Zertifikate für Zweitadressen haben.",
            ),
        },
        "ok": {
            "en": ("Tenant S/MIME settings fine", "", ""),
            "de": ("S/MIME-Einstellungen des Tenants in Ordnung", "", ""),
        },
    },
    "exo.owa_policy": {
        "note": {
            "en": (
                "OWA mailbox policy SMimeEnabled has no effect",
                "In Exchange Online, S/MIME in OWA is controlled by Get/Set-SmimeConfig and the browser extension, not by OwaMailboxPolicy SMimeEnabled (Exchange 2010 only).",
                "",
            ),
            "de": (
                "SMimeEnabled der OWA-Postfachrichtlinie wirkt nicht",
                "In Exchange Online steuern Get/Set-SmimeConfig und die Browsererweiterung S/MIME in OWA, nicht SMimeEnabled der OwaMailboxPolicy (nur Exchange 2010).",
                "",
            ),
        },
    },
}

F = make_finder(TEXTS)
