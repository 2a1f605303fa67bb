"""What the person asked, in English or German, from free text or a slash command.

Matching is deliberately forgiving: case, punctuation, a missing question mark, umlauts
written as ae/oe/ue, and the misspellings people actually type ("certifcate", "zertifkat").
Anything not understood becomes an ``unknown`` intent carrying the closest commands, so the
bot always answers with something useful.

Cost is linear in the message: no pattern lets the regex engine retry an unbounded name
group at every occurrence of a separator (``why a to a to a … #`` once took seconds), and a
message longer than MAX_MESSAGE_CHARS is not parsed at all (``too_long``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

KINDS = (
    "self_check",
    "why_to_me",
    "why",
    "reset",
    "check",
    "audit",
    "explain",
    "help",
    "history",
    "approve",
    "deny",
    "pending",
    "undo",
    "request",
    "too_long",
    "unknown",
)

# Chat commands are one sentence; anything longer (a pasted log, a whole mail) is refused before
# any parsing, so no message can keep a transport from acknowledging in time.
MAX_MESSAGE_CHARS = 4000
SUGGEST_CHARS = 200  # how much of an unknown message the "did you mean" similarity reads


@dataclass(frozen=True)
class Intent:
    kind: str
    lang: str | None = None  # "en"/"de" when the wording tells; None when it does not
    subject: str | None = None  # user named in the message ("check <subject>")
    sender: str | None = None  # X in "why can't X encrypt to ..."
    recipient: str | None = None  # Y in "... to Y"; None means "me"
    check_id: str | None = None
    request_id: str | None = None
    action: str | None = None  # "request <action> for <user>": the remediation named
    suggestions: tuple[str, ...] = field(default_factory=tuple)


def normalise(text: str) -> str:
    """Lower case, umlauts folded (ä→ae), punctuation at the edges dropped, spaces collapsed."""
    t = unicodedata.normalize("NFKC", text).strip().lower()
    t = t.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    t = t.replace("’", "'").replace("`", "'")
    t = t.lstrip("/!")  # "/smime status", "!help"
    t = re.sub(r"^(smime|smime-doctor)\s+", "", t)
    # rstrip, not re.sub(r"[?!.,;:]+$"): the regex retries at every character of a long
    # punctuation run that does not end the text ("???…?a"), which is quadratic
    t = t.rstrip("?!.,;:")
    t = re.sub(r"[?!]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


# Words people use for "certificate", including the usual typos, in both languages.
CERT_EN = r"(?:certificates?|certs?|certifcates?|certficates?|certificat|smime|s/mime|key)"
CERT_DE = r"(?:zertifikate?|zertifkate?|zertifikat\w*|zerts?|zert|smime|s/mime|schluessel)"
NAME = r"(?P<name>[\w.@'\\\-+{} ]+?)"
# Atomic groups (?>…) below: where a lazy name is followed by a separator and then by another
# open-ended name, the first separator decides. Retrying at later separators cannot succeed
# (every later rest is a suffix of the first one, and the names take the separators' characters)
# but costs a scan of the rest per separator: quadratic on "why a to a to a … #".
ME_EN = r"(?:me|myself|my address|my mailbox)"
ME_DE = r"(?:mir|mich|an mich)"

_PATTERNS: list[tuple[str, str, re.Pattern[str]]] = []


def _p(kind: str, lang: str, pattern: str) -> None:
    _PATTERNS.append(
        (kind, lang, re.compile(r"^(?:please |bitte |hey |hi |hallo )?" + pattern + r"(?: please| bitte)?$"))
    )


# -- approvals (console; Slack and Teams use buttons) -----------------------------------
_p("approve", "en", r"approve (?P<request>r-[\w-]+)")
_p("deny", "en", r"(?:deny|reject) (?P<request>r-[\w-]+)")
_p("approve", "de", r"(?:freigeben|genehmigen) (?P<request>r-[\w-]+)")
_p("deny", "de", r"ablehnen (?P<request>r-[\w-]+)")
_p("undo", "en", r"(?:undo|revert|roll ?back) (?:request )?(?P<request>r-[\w-]+)")
_p(
    "undo",
    "de",
    r"(?:rueckgaengig(?: machen)?|zuruecknehmen) (?:antrag )?(?P<request>r-[\w-]+)(?: rueckgaengig(?: machen)?)?",
)
_p("undo", "de", r"(?:antrag )?(?P<request>r-[\w-]+) (?:rueckgaengig machen|zuruecknehmen)")
# -- request a remediation (helpdesk): "request set_mail_nickname for bob" ---------------
ACTION = (
    r"(?P<action>set[ _-]?mail[ _-]?nickname|lower[ _-]?case[ _-]?addresses|clear[ _-]?smime[ _-]?attribute"
    r"|upload[ _-]?issuing[ _-]?ca)"
)
_p("request", "en", r"request (?:the )?(?:action )?" + ACTION + r" (?:for|on) " + NAME)
_p("request", "de", r"beantrage " + ACTION + r" (?:fuer|bei|von) " + NAME)
_p("pending", "en", r"(?:pending|pending approvals|what needs my approval|approvals)")
_p("pending", "de", r"(?:offene freigaben|freigaben|was muss ich freigeben)")
# -- help ------------------------------------------------------------------------------
_p("help", "en", r"(?:help|\?|what can you do|commands|usage|how does this work)")
_p("help", "de", r"(?:hilfe|was kannst du|befehle|wie funktioniert das)")
# -- why can't X encrypt to Y / to me ----------------------------------------------------
_p(
    "why",
    "en",
    r"why (?:can ?not|can'?t|cant|does ?n'?t|is) "
    + r"(?>(?P<sender>[\w.@'\\\-+{} ]+?) (?:not )?(?:able to )?(?:encrypt|send encrypted (?:mail|email|messages?))(?: mail| email| messages?)? to )(?P<recipient>(?!"
    + ME_EN
    + r"$)[\w.@'\\\-+{} ]+)",
)
_p(
    "why_to_me",
    "en",
    r"why (?:can ?not|can'?t|cant|does ?n'?t|is) (?P<sender>[\w.@'\\\-+{} ]+?) (?:not )?(?:able to )?(?:encrypt|send encrypted (?:mail|email|messages?))(?: mail| email| messages?)?(?: to "
    + ME_EN
    + r")?",
)
_p(
    "why_to_me",
    "en",
    r"(?:who can(?:'?t| ?not)? encrypt to me|why can'?t (?:people|anyone|somebody|someone|others) encrypt to me)",
)
_p(
    "why",
    "de",
    r"warum kann (?>(?P<sender>[\w.@'\\\-+{} ]+?) (?:an |nach ))(?P<recipient>(?!mich$)[\w.@'\\\-+{} ]+?) (?:nicht |keine )?(?:verschluesselt (?:schreiben|senden|mailen)|verschluesseln|verschluesselten? (?:mails?|e-mails?|nachrichten) (?:schicken|senden))",
)
_p(
    "why_to_me",
    "de",
    r"warum kann (?P<sender>[\w.@'\\\-+{} ]+?) (?:mir|an mich) (?:nicht |keine )?(?:verschluesselt (?:schreiben|senden|mailen)|verschluesseln|verschluesselten? (?:mails?|e-mails?|nachrichten) (?:schicken|senden))",
)
_p(
    "why_to_me",
    "de",
    r"(?:warum kann (?:niemand|keiner) (?:mir|an mich) verschluesselt (?:schreiben|senden)|wer kann (?:mir|an mich) verschluesselt schreiben)",
)
_p(
    "why",
    "en",
    # " to " is made of name characters: atomic, the first one decides. An arrow is not (">", "→"),
    # so a name cannot run past one: only the first arrow can match, and trying it costs nothing.
    r"why (?:(?>(?P<sender>[\w.@'\\\-+{} ]+?) to )(?P<recipient>[\w.@'\\\-+{} ]+)"
    r"|(?P<sender_a>[\w.@'\\\-+{} ]+?) (?:->|→) (?P<recipient_a>[\w.@'\\\-+{} ]+))",
)  # /smime why alex to bob
_p("why_to_me", "en", r"why (?P<sender>[\w.@'\\\-+{} ]+)")  # /smime why alex
# -- reset ------------------------------------------------------------------------------
_p(
    "reset",
    "en",
    r"(?:reset|clean ?up|clear|remove|delete|prune)(?: all)? (?:my )?(?:published )?"
    + CERT_EN
    + r"?(?: published)?|reset",
)
_p(
    "reset",
    "de",
    r"(?:setze|setz) (?:meine )?(?:veroeffentlichten )?"
    + CERT_DE
    + r" zurueck|(?:zertifikate?|meine zertifikate) (?:zuruecksetzen|bereinigen|aufraeumen|loeschen)|zuruecksetzen",
)
# -- self check -------------------------------------------------------------------------
_p(
    "self_check",
    "en",
    r"(?:is|are) (?:my )?"
    + CERT_EN
    + r" (?:published|ok|okay|fine|working|visible|in the gal|in the address book)|(?:check me|check myself|my status|status|am i published|can people encrypt to me|my "
    + CERT_EN
    + r")",
)
_p(
    "self_check",
    "de",
    r"(?:ist|sind) (?:mein|meine) "
    + CERT_DE
    + r" (?:veroeffentlicht|ok|in ordnung|sichtbar|im adressbuch)|(?:prüfe mich|pruefe mich|mein status|bin ich veroeffentlicht|kann man mir verschluesselt schreiben|mein "
    + CERT_DE
    + r")",
)
# -- helpdesk ---------------------------------------------------------------------------
_p("audit", "en", r"(?:audit|run (?:an |the )?audit|tenant audit|audit (?:the )?tenant|audit all(?: users)?)")
_p("audit", "de", r"(?:pruefe alle(?: benutzer)?|mandant pruefen|audit starten|gesamtpruefung)")
_p("explain", "en", r"(?:explain|what is|what does|what's) (?P<check>[a-z]+\.[a-z_]+)(?: mean)?")
_p("explain", "de", r"(?:erklaere|erklaer|was (?:ist|bedeutet)) (?P<check>[a-z]+\.[a-z_]+)")
_p("history", "en", r"(?:history|changes|audit log) (?:of |for )?" + NAME)
_p("history", "de", r"(?:verlauf|historie|aenderungen) (?:von |fuer )?" + NAME)
_p(
    "check",
    "en",
    r"(?:check|diagnose|status of|status for|look up|lookup|is (?>"
    + NAME
    + r"'?s? "
    + CERT_EN.replace("|s/mime", "")  # "/" is no name character: the alternative below
    + r" published)|is (?P<name_a>[\w.@'\\\-+{} ]+?)'?s? s/mime published)(?: user)? ?"
    + r"(?P<name2>[\w.@'\\\-+{} ]+)?",
)
_p("check", "de", r"(?:pruefe|prüfe|pruef|check|diagnose) (?:den |die )?(?:benutzer(?:in)? )?" + NAME)
_p("check", "de", r"(?:ist das|ist) " + CERT_DE + r" von " + NAME + r" veroeffentlicht")

COMMANDS = {
    "en": [
        ("is my cert published?", "self_check"),
        ("why can't <name> encrypt to me?", "why_to_me"),
        ("reset my published certs", "reset"),
        ("check <user>", "check"),
        ("why can't <X> encrypt to <Y>?", "why"),
        ("audit", "audit"),
        ("explain <check id>", "explain"),
        ("history of <user>", "history"),
        ("request set_mail_nickname | lowercase_addresses | clear_smime_attribute for <user>", "request"),
        ("request upload_issuing_ca for <CA name or sha256>", "request"),
        ("undo <request id>", "undo"),
        ("help", "help"),
    ],
    "de": [
        ("ist mein Zertifikat veröffentlicht?", "self_check"),
        ("warum kann <Name> mir nicht verschlüsselt schreiben?", "why_to_me"),
        ("setze meine veröffentlichten Zertifikate zurück", "reset"),
        ("prüfe <Benutzer>", "check"),
        ("warum kann <X> an <Y> nicht verschlüsselt schreiben?", "why"),
        ("prüfe alle", "audit"),
        ("erkläre <Prüfungs-ID>", "explain"),
        ("verlauf von <Benutzer>", "history"),
        (
            "beantrage set_mail_nickname | lowercase_addresses | clear_smime_attribute für <Benutzer>",
            "request",
        ),
        ("rückgängig <Antrags-ID>", "undo"),
        ("hilfe", "help"),
    ],
}

COMMAND_WORDS = {"check", "audit", "explain", "help", "history", "approve", "deny", "pending", "undo"}

_GERMAN_HINTS = re.compile(
    r"\b(ist|mein|meine|warum|kann|mir|nicht|zertifikat\w*|bitte|hilfe|pruefe|setze|verschluessel\w*|wer|von|an)\b"
)


def guess_language(text: str) -> str | None:
    n = normalise(text)
    hits = len(_GERMAN_HINTS.findall(n))
    if hits >= 2 or (hits == 1 and len(n.split()) <= 2):
        return "de"
    if re.search(r"\b(is|my|why|can'?t|cannot|help|check|reset|encrypt|please|who)\b", n):
        return "en"
    return None


def parse(text: str) -> Intent:
    """Turn one chat message into an Intent. Never raises; never returns None.
    Longer than MAX_MESSAGE_CHARS: ``too_long``, without reading the text."""
    if len(text) > MAX_MESSAGE_CHARS:
        return Intent("too_long")
    n = normalise(text)
    if not n:
        return Intent("help", guess_language(text))
    for kind, pattern_lang, pattern in _PATTERNS:
        lang: str | None = pattern_lang
        m = pattern.match(n)
        if not m:
            continue
        groups = {k: (v.strip(" '\"") if v else v) for k, v in m.groupdict().items()}
        for k in [k for k in groups if k.endswith("_a")]:  # a pattern's second spelling of a group
            groups[k[:-2]] = groups[k[:-2]] or groups.pop(k)
        if lang == "en" and kind in COMMAND_WORDS and len(n.split()) <= 3:
            lang = None  # "check bob", "audit", "help": command words, not a language choice
        if kind == "why":
            return Intent(
                "why", lang, sender=_clean(groups.get("sender")), recipient=_clean(groups.get("recipient"))
            )
        if kind == "why_to_me":
            sender = _clean(groups.get("sender"))
            if sender in (None, "people", "anyone", "somebody", "someone", "others", "niemand", "keiner"):
                sender = None
            return Intent("why_to_me", lang, sender=sender)
        if kind in ("check", "history"):
            name = _clean(groups.get("name") or groups.get("name2"))
            if not name:
                continue
            if name in ("me", "myself", "mich"):
                return Intent("self_check", lang)
            return Intent(kind, lang, subject=name)
        if kind == "request":
            name = _clean(groups.get("name"))
            action = re.sub(r"[ _-]", "", groups.get("action") or "")
            canonical = {
                "setmailnickname": "set_mail_nickname",
                "lowercaseaddresses": "lowercase_addresses",
                "clearsmimeattribute": "clear_smime_attribute",
                "uploadissuingca": "upload_issuing_ca",
            }
            if not name:
                continue
            return Intent("request", lang, subject=name, action=canonical.get(action))
        if kind in ("approve", "deny", "undo"):
            return Intent(kind, lang, request_id=_request_id(text))
        if kind == "explain":
            return Intent("explain", lang, check_id=groups.get("check"))
        return Intent(kind, lang)
    guessed = guess_language(text)
    return Intent("unknown", guessed, suggestions=closest_commands(n, guessed or "en"))


def _request_id(text: str) -> str | None:
    """Request ids are case-sensitive tokens: take them from the original text, not the folded one."""
    m = re.search(r"\b(R-[A-Za-z0-9_-]+)", text, re.IGNORECASE)
    return ("R-" + m.group(1)[2:]) if m else None


def _clean(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"^(the user|user|benutzer(?:in)?|den|die|der)\s+", "", name.strip())
    name = re.sub(r"\s+(mail|email|e-mail|mails)$", "", name)
    return name.strip(" '\"<>") or None


def closest_commands(normalised: str, lang: str | None = None) -> tuple[str, ...]:
    """The example phrasings nearest to what was typed (for the "did you mean" help)."""
    langs = [lang] if lang else ["en", "de"]
    phrasings = [p for lg in langs for p, _ in COMMANDS[lg]]
    words = normalised.split()
    # difflib costs (message length) × (phrasing length) per phrasing: the similarity is judged on
    # the message's start (the longest phrasing is under 100 characters), the word overlap on all of it
    head = normalised[:SUGGEST_CHARS]
    scored = []
    for p in phrasings:
        pn = normalise(p)
        ratio = difflib.SequenceMatcher(None, head, pn).ratio()
        overlap = len(set(words) & set(pn.split()))
        scored.append((overlap + ratio, p))
    scored.sort(reverse=True)
    return tuple(p for _, p in scored[:3])
