"""advice.* — what no directory can tell."""

from __future__ import annotations

from collections.abc import Iterator

from workers.checks.base import Context, Texts, check, make_finder
from workers.facts import UserFacts
from workers.report import Finding


@check(
    "advice.private_key",
    en="The user must hold the private key",
    de="Der Benutzer braucht den privaten Schlüssel",
    rule="info, always: no directory can prove the user holds the private key; how to check (certmgr, an encrypted test mail, key recovery).",
)
def private_key(user: UserFacts, ctx: Context) -> Iterator[Finding]:
    yield F(ctx, "advice.private_key", "info", "note", None, {})


TEXTS: Texts = {
    "advice.private_key": {
        "note": {
            "en": (
                "Check the private key too",
                "No directory can prove that the user holds the private key of the published certificate; without it, mail encrypted to them cannot be read.",
                "On the user's PC: certmgr.msc → Personal → Certificates shows a key icon; or send them an encrypted test mail. Lost keys: recover from the CA's key archive.",
            ),
            "de": (
                "Auch den privaten Schlüssel prüfen",
                "Kein Verzeichnis kann belegen, dass der Benutzer den privaten Schlüssel zum veröffentlichten Zertifikat besitzt; ohne ihn sind an ihn verschlüsselte Mails unlesbar.",
                "Am PC des Benutzers: certmgr.msc → Eigene Zertifikate zeigt ein Schlüsselsymbol; oder eine verschlüsselte Testmail senden. Verlorene Schlüssel: aus dem Schlüsselarchiv der CA wiederherstellen.",
            ),
        },
    },
}

F = make_finder(TEXTS)
