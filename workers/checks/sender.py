"""sender.* — "why can't X encrypt to me?" (the user is the recipient, ctx.sender is X)."""

from __future__ import annotations

from collections.abc import Iterator

from workers.checks.base import Context, Texts, check, make_finder
from workers.checks.publish import address_ok, outlook_choice, usable_for_encryption
from workers.facts import AD_SMIME_CERT, AD_USER_CERT, EXO_SMIME_CERT, EXO_USER_CERT, UserFacts
from workers.report import Finding

GROUP_TYPES = ("group", "dynamicdistribution")


def sender_view(recipient: UserFacts) -> tuple[str, str, str]:
    """(directory name, userSMIMECertificate location, userCertificate location) a sender's client reads."""
    if recipient.exo is not None:
        return "Exchange Online GAL / OAB", EXO_SMIME_CERT, EXO_USER_CERT
    return "Active Directory", AD_SMIME_CERT, AD_USER_CERT


@check(
    "sender.lookup",
    en="What the sender's client finds for the recipient",
    de="Was der Client des Absenders zum Empfänger findet",
    scope="sender",
    rule="which directory and attribute the sender's client reads (the Exchange Online GAL for cloud mailboxes; cached mode reads the OAB) and what it finds there for the recipient: the recipient-side verdict as the sender sees it.",
)
def lookup(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    sender = ctx.sender
    if sender is not None and sender.external:
        yield F(ctx, "sender.lookup", "info", "external", None, {}, sender=sender.display)
        return
    where, smime_loc, user_loc = sender_view(user)
    choice = outlook_choice(user.values, smime_loc, user_loc, ctx.now)
    cert = choice.certificate
    ev = {"directory": where, "attribute": choice.attribute, "certificate": cert.sha256 if cert else None}
    who = sender.display if sender else "?"
    if cert is not None and usable_for_encryption(cert, ctx.now) and address_ok(cert, user):
        yield F(
            ctx,
            "sender.lookup",
            "pass",
            "ok",
            cert,
            ev,
            sender=who,
            where=where,
            attribute=choice.attribute,
            cert=cert.short(),
        )
    elif cert is None:
        yield F(ctx, "sender.lookup", "fail", "nothing", None, ev, sender=who, where=where)
    else:
        yield F(
            ctx,
            "sender.lookup",
            "fail",
            "bad",
            cert,
            ev,
            sender=who,
            where=where,
            attribute=choice.attribute,
            cert=cert.short(),
        )


@check(
    "sender.own_cert",
    en="The sender has a certificate of their own",
    de="Der Absender hat ein eigenes Zertifikat",
    scope="sender",
    rule="the sender needs a valid certificate of their own (Outlook encrypts the Sent Items copy too): the cert.* checks on the sender.",
)
def own_cert(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    sender = ctx.sender
    if sender is None or sender.external:
        yield F(ctx, "sender.own_cert", "info", "external", None, {})
        return
    usable = [
        c for _, c in sender.certificates() if usable_for_encryption(c, ctx.now) and address_ok(c, sender)
    ]
    if usable:
        yield F(
            ctx, "sender.own_cert", "pass", "ok", usable[0], {}, sender=sender.display, cert=usable[0].short()
        )
    else:
        yield F(
            ctx,
            "sender.own_cert",
            "fail",
            "none",
            None,
            {"published": len(sender.values)},
            sender=sender.display,
        )


@check(
    "sender.external",
    en="Sender inside the organisation",
    de="Absender in der Organisation",
    scope="sender",
    rule="info: the sender is outside the organization and cannot read the GAL; the recipient must send them a signed mail first.",
)
def external(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    sender = ctx.sender
    if sender is not None and sender.external:
        yield F(
            ctx,
            "sender.external",
            "info",
            "outside",
            None,
            {"sender": sender.external_address},
            sender=sender.external_address,
            recipient=user.primary_smtp or user.display,
        )
    else:
        yield F(ctx, "sender.external", "pass", "inside", None, {})


@check(
    "sender.caches",
    en="The sender's client may hold an old certificate",
    de="Der Client des Absenders hat evtl. ein altes Zertifikat",
    scope="sender",
    rule="info: the sender's client may hold an old certificate (contact, AutoComplete, OWA cache), and how to clear it; always shown when the directory side is healthy.",
)
def caches(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    yield F(ctx, "sender.caches", "info", "note", None, {}, sender=ctx.sender.display if ctx.sender else "?")


@check(
    "sender.distribution_list",
    en="The recipient is a person, not a group",
    de="Der Empfänger ist eine Person, keine Gruppe",
    scope="sender",
    rule="warn: the recipient is a group; every member needs a certificate.",
)
def distribution_list(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    kind = (user.exo.type_details or "") if user.exo else ""
    if any(g in kind.lower() for g in GROUP_TYPES):
        yield F(ctx, "sender.distribution_list", "warn", "group", None, {"type": kind}, type=kind)
    else:
        yield F(ctx, "sender.distribution_list", "pass", "ok", None, {})


TEXTS: Texts = {
    "sender.lookup": {
        "external": {
            "en": (
                "The sender cannot read your directory",
                "{sender} is outside the organisation and sees no GAL.",
                "Send {sender} a signed mail first; their client stores your certificate from it.",
            ),
            "de": (
                "Der Absender kann Ihr Verzeichnis nicht lesen",
                "{sender} ist außerhalb der Organisation und sieht keine GAL.",
                "Senden Sie {sender} zuerst eine signierte Mail; sein Client übernimmt Ihr Zertifikat daraus.",
            ),
        },
        "ok": {
            "en": (
                "{sender} finds your certificate",
                "{sender}'s client reads {where} ({attribute}) and finds {cert}.",
                "",
            ),
            "de": (
                "{sender} findet Ihr Zertifikat",
                "Der Client von {sender} liest {where} ({attribute}) und findet {cert}.",
                "",
            ),
        },
        "nothing": {
            "en": (
                "{sender} finds no certificate for you",
                "{sender}'s client reads {where} and finds no usable certificate there.",
                "Fix the recipient side first (see the publish.* and exo.* findings).",
            ),
            "de": (
                "{sender} findet kein Zertifikat für Sie",
                "Der Client von {sender} liest {where} und findet dort kein nutzbares Zertifikat.",
                "Zuerst die Empfängerseite beheben (siehe publish.*- und exo.*-Befunde).",
            ),
        },
        "bad": {
            "en": (
                "{sender} gets an unusable certificate",
                "{sender}'s client reads {where} ({attribute}) and takes {cert}, which is expired, cannot encrypt or is for another address.",
                "Fix the recipient side first (see the publish.* findings).",
            ),
            "de": (
                "{sender} erhält ein unbrauchbares Zertifikat",
                "Der Client von {sender} liest {where} ({attribute}) und nimmt {cert}, das abgelaufen ist, nicht verschlüsseln kann oder zu einer anderen Adresse gehört.",
                "Zuerst die Empfängerseite beheben (siehe publish.*-Befunde).",
            ),
        },
    },
    "sender.own_cert": {
        "external": {
            "en": (
                "Sender's own certificate not visible",
                "An external sender's certificate is not in this directory.",
                "",
            ),
            "de": (
                "Eigenes Zertifikat des Absenders nicht sichtbar",
                "Das Zertifikat eines externen Absenders ist nicht in diesem Verzeichnis.",
                "",
            ),
        },
        "ok": {
            "en": ("{sender} has a certificate", "{cert}", ""),
            "de": ("{sender} hat ein Zertifikat", "{cert}", ""),
        },
        "none": {
            "en": (
                "{sender} has no usable certificate",
                "Outlook also encrypts the copy in Sent Items, so the sender needs a valid certificate of their own; none is published for {sender}.",
                "{sender} should enroll an S/MIME certificate (and select it in Outlook's Trust Center).",
            ),
            "de": (
                "{sender} hat kein nutzbares Zertifikat",
                "Outlook verschlüsselt auch die Kopie in Gesendete Elemente, daher braucht der Absender ein eigenes gültiges Zertifikat; für {sender} ist keines veröffentlicht.",
                "{sender} sollte ein S/MIME-Zertifikat beantragen (und im Trust Center von Outlook auswählen).",
            ),
        },
    },
    "sender.external": {
        "outside": {
            "en": (
                "{sender} is outside the organisation",
                "External senders cannot look you up in the GAL.",
                "Send {sender} a signed mail from {recipient}; they can then encrypt to you.",
            ),
            "de": (
                "{sender} ist außerhalb der Organisation",
                "Externe Absender können Sie nicht in der GAL finden.",
                "Senden Sie {sender} eine signierte Mail von {recipient}; danach kann er an Sie verschlüsseln.",
            ),
        },
        "inside": {
            "en": ("Sender inside the organisation", "", ""),
            "de": ("Absender in der Organisation", "", ""),
        },
    },
    "sender.caches": {
        "note": {
            "en": (
                "{sender}'s client may hold an old certificate",
                "Outlook prefers a certificate from a contact, AutoComplete or a signed mail over the directory; OWA caches too.",
                "{sender}: delete the AutoComplete entry (the × in the To: suggestion), remove the certificate from your Outlook contact, download the address book; in OWA reload the page.",
            ),
            "de": (
                "Der Client von {sender} hat evtl. ein altes Zertifikat",
                "Outlook bevorzugt ein Zertifikat aus einem Kontakt, der AutoVervollständigen-Liste oder einer signierten Mail vor dem Verzeichnis; OWA speichert ebenfalls zwischen.",
                "{sender}: AutoVervollständigen-Eintrag löschen (× im An:-Vorschlag), das Zertifikat im Outlook-Kontakt entfernen, Adressbuch herunterladen; in OWA die Seite neu laden.",
            ),
        },
    },
    "sender.distribution_list": {
        "group": {
            "en": (
                "The recipient is a group",
                "{type}: every member needs a published certificate before encrypted mail to the group works.",
                "Encrypt to the members directly, or make sure each has a certificate.",
            ),
            "de": (
                "Der Empfänger ist eine Gruppe",
                "{type}: jedes Mitglied braucht ein veröffentlichtes Zertifikat, bevor verschlüsselte Mail an die Gruppe funktioniert.",
                "An die Mitglieder direkt verschlüsseln oder sicherstellen, dass jedes ein Zertifikat hat.",
            ),
        },
        "ok": {"en": ("Recipient is a person", "", ""), "de": ("Empfänger ist eine Person", "", "")},
    },
}

F = make_finder(TEXTS)
