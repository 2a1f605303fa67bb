"""addr.* — address hygiene (certificates copy `mail`; some clients warn on case)."""

from __future__ import annotations

from collections.abc import Iterator

from workers.checks.base import Context, Texts, check, make_finder
from workers.facts import UserFacts
from workers.report import Finding


def mixed_case_addresses(user: UserFacts) -> list[str]:
    """Addresses with upper case in the address part; the SMTP:/smtp: prefix is not judged."""
    if user.ad is None:
        return []
    out = []
    if user.ad.mail and user.ad.mail != user.ad.mail.lower():
        out.append(user.ad.mail)
    for p in user.ad.proxy_addresses:
        prefix, _, addr = p.partition(":")
        if prefix.lower() == "smtp" and addr != addr.lower() and addr not in out:
            out.append(addr)
    return out


@check(
    "addr.lowercase",
    en="Mail addresses are lower case",
    de="Mailadressen sind klein geschrieben",
    rule="warn: upper case in `mail` or in the address part of proxyAddresses (certificates copy mail; some clients warn on case differences); the SMTP:/smtp: prefix is never judged or touched.",
)
def lowercase(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    bad = mixed_case_addresses(user)
    if bad:
        yield F(ctx, "addr.lowercase", "warn", "mixed", None, {"addresses": bad}, addresses=", ".join(bad))
    else:
        yield F(ctx, "addr.lowercase", "pass", "ok", None, {})


@check(
    "addr.mail_is_primary",
    en="mail equals the primary SMTP address",
    de="mail entspricht der primären SMTP-Adresse",
    rule="warn: `mail` differs from the primary SMTP address.",
)
def mail_is_primary(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    mail = user.ad.mail if user.ad else None
    primary = user.primary_smtp
    if mail and primary and mail.lower() != primary.lower():
        yield F(
            ctx,
            "addr.mail_is_primary",
            "warn",
            "differs",
            None,
            {"mail": mail, "primary": primary},
            mail=mail,
            primary=primary,
        )
    else:
        yield F(ctx, "addr.mail_is_primary", "pass", "ok", None, {})


TEXTS: Texts = {
    "addr.lowercase": {
        "mixed": {
            "en": (
                "Upper case in mail addresses",
                "{addresses} contain upper case. Certificates copy `mail`, and some clients warn when the sender's address and the certificate differ in case.",
                "Lower-case mail and proxyAddresses (lowercase_addresses; the SMTP:/smtp: prefixes stay as they are).",
            ),
            "de": (
                "Großbuchstaben in Mailadressen",
                "{addresses} enthalten Großbuchstaben. Zertifikate übernehmen `mail`, und manche Clients warnen, wenn Absenderadresse und Zertifikat sich in der Schreibweise unterscheiden.",
                "mail und proxyAddresses klein schreiben (lowercase_addresses; die Präfixe SMTP:/smtp: bleiben).",
            ),
        },
        "ok": {"en": ("Addresses lower case", "", ""), "de": ("Adressen klein geschrieben", "", "")},
    },
    "addr.mail_is_primary": {
        "differs": {
            "en": (
                "mail is not the primary address",
                "AD mail is {mail}, the primary SMTP address is {primary}. Certificates are issued for mail; mobile clients and signature checks use the primary.",
                "Make mail and the primary SMTP address the same.",
            ),
            "de": (
                "mail ist nicht die primäre Adresse",
                "AD-mail ist {mail}, die primäre SMTP-Adresse ist {primary}. Zertifikate werden für mail ausgestellt; mobile Clients und Signaturprüfungen nutzen die primäre.",
                "mail und primäre SMTP-Adresse angleichen.",
            ),
        },
        "ok": {"en": ("mail is the primary address", "", ""), "de": ("mail ist die primäre Adresse", "", "")},
    },
}

F = make_finder(TEXTS)
