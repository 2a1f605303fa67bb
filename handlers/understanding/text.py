"""From what people type to comparable words.

Folding: Unicode compatibility forms, lower case, umlauts and their ASCII spellings made one
(ä, ae → ae; ß → ss), typographic quotes made plain. Markup the platforms leave in a message
(a Slack mention or ``<mailto:…|…>`` the transport did not resolve, a Teams ``<at>`` tag) is
dropped or reduced to the address. Ids people copy (``R-…`` request ids, ``cert.validity``
check ids, addresses) survive as one token each; a possessive ("nora's", "noras") keeps its
stem and says it was a possessive.

Everything here is linear in the message (bounded by MAX_MESSAGE_CHARS upstream).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_MARKUP = re.compile(
    r"<mailto:([^<>|]*)(?:\|[^<>]*)?>|<@[^<>]*>|<[#!][^<>]*>|<at>[^<]*</at>|<(https?:[^<>|]*)\|([^<>]*)>"
)
_QUOTES = str.maketrans(
    {"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"'}
)
_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "á": "a", "à": "a"})
# A token: an address, a dotted id, a request id, or a word (apostrophes inside: can't, nora's).
_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9_+\-]|[./@'](?=[a-z0-9]))*")
REQUEST_ID = re.compile(r"\b(R-[0-9A-Za-z_]{4,64})\b")


@dataclass(frozen=True)
class Token:
    text: str  # folded, possessive removed
    start: int  # index of the token in the message's token list
    raw: str  # folded, as typed (with the possessive)
    possessive: bool = False


def strip_markup(text: str) -> str:
    """Platform markup → what the person meant: a mailto link its address, a mention nothing."""

    def replace(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return " " + m.group(1).split("?", 1)[0] + " "
        if m.group(2) is not None:
            return " " + m.group(3) + " "
        return " "

    return _MARKUP.sub(replace, text)


def fold(text: str) -> str:
    """Lower case, compatibility forms, umlauts as ae/oe/ue, ß as ss, plain quotes, spaces collapsed."""
    t = unicodedata.normalize("NFKC", strip_markup(text)).lower().translate(_QUOTES).translate(_FOLD)
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return " ".join(t.split())


def tokens(folded: str) -> list[Token]:
    """The words of a folded message, in order; "nora's" and "nora’s" become nora (possessive)."""
    out: list[Token] = []
    for m in _TOKEN.finditer(folded):
        raw = m.group(0).strip("'.-")
        if not raw:
            continue
        word, possessive = raw, False
        if raw.endswith("'s") and len(raw) > 3:
            word, possessive = raw[:-2], True
        elif raw.endswith("'") and len(raw) > 2:  # "james'"
            word, possessive = raw[:-1], True
        out.append(Token(word, len(out), raw, possessive))
    return out


def request_id(text: str) -> str | None:
    """Request ids are case-sensitive tokens: taken from the original text, not the folded one."""
    m = REQUEST_ID.search(text) or re.search(r"\b[rR]-([0-9A-Za-z_]{4,64})\b", text)
    if not m:
        return None
    token = m.group(0)
    return "R-" + token[2:]
