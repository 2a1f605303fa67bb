"""Which words carry which meaning, in English and German (folded: ä → ae, ß → ss).

A concept is what a word says for this bot (CERT, ENCRYPT, RESET …), not a command. The
recogniser decides the intent from the concepts a message holds, so any wording built from
these words is understood, in any order, with filler around it. A stem ending in ``*``
matches every word starting with it ("zertifikat*": zertifikate, zertifikats …). Phrases are
matched first and their words are used up, so "address book" is PUBLISH and "to approve" is
PENDING before the single words are looked at.

Adding a word: put it under its concept with its language ("en", "de" or "" for both). The
corpus test (tests/understanding) says whether the change helped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# -- concepts ------------------------------------------------------------------------------
CERT, PUBLISH, STATUS, CHECK, PROBLEM = "cert", "publish", "status", "check", "problem"
ENCRYPT, SEND, WHY, NEG, SEE = "encrypt", "send", "why", "neg", "see"
RESET, REMOVE, OLD, EXPIRE, WHEN, NEW, SYNC = "reset", "remove", "old", "expire", "when", "new", "sync"
APPROVE, APPROVAL, DENY, PENDING, UNDO, HISTORY = "approve", "approval", "deny", "pending", "undo", "history"
AUDIT, ALL, USERS, EXPLAIN, HELP, ABOUT, WHAT = "audit", "all", "users", "explain", "help", "about", "what"
ME, SELF, TO, FROM, FOLLOWUP, YES, NO, REQUEST = "me", "i", "to", "from", "followup", "yes", "no", "request"
BECAUSE, NOBODY, IT, WAITING, THIRD, NOT_OURS = "because", "nobody", "it", "waiting", "third", "not_ours"
FILLER, SET, GO, RECEIVE, DETAIL = "filler", "set", "go", "receive", "detail"

# Remediations a helpdesk person may name (workers/remediation/plan.py), by the words people use.
# The first pattern is the action's id (typed as such: always that action); the others are
# descriptions, which name the action only beside a verb of doing (SET, REMOVE, REQUEST).
ACTIONS: dict[str, tuple[str, ...]] = {
    "set_mail_nickname": (
        r"set[ _-]?mail[ _-]?nickname",
        r"mail ?nick ?name",
        r"mailnickname",
        r"nickname",
        r"alias (?:setzen|set)",
    ),
    "lowercase_addresses": (
        r"lower[ _-]?case[ _-]?addresses",
        r"lower ?case",
        r"~klein ?schreib\w*",
        r"~kleinbuchstaben",
        r"~lower ?case (?:\w+ ){0,3}(?:addresses|proxy)",
        r"gross ?schreibung",
        r"upper ?case",
    ),
    "clear_smime_attribute": (
        r"clear[ _-]?smime[ _-]?attribute",
        r"usersmimecertificate",
        r"smime[ -]attribut\w*",
        r"outlook[ -]?(?:published |veroeffentlicht\w* )?(?:blob|attribut\w*)",
    ),
    "upload_issuing_ca": (r"upload[ _-]?issuing[ _-]?ca", r"issuing ?ca", r"ausstellende?n? ca"),
}

# Multi-word phrases, matched on the folded text before single words (their words are used up).
PHRASES: list[tuple[str, str]] = [
    # ABOUT: what S/MIME or the bot is
    (r"what(?:'s| is| are) (?:an? |the )?(?:s/?-?mime|smime)(?: certificates?| certs?)?", ABOUT),
    (r"was (?:ist|sind|bedeutet) (?:eigentlich )?(?:ein |das |denn )?(?:s/?-?mime|smime)\w*", ABOUT),
    (r"what (?:are|is) (?:you|this bot|this|smime-doctor)", ABOUT),
    (r"who are you", ABOUT),
    (r"(?:wer|was) bist du", ABOUT),
    (r"what(?:'s| is) (?:an? )?(?:s/?mime |e-?mail )?(?:certificate|cert) for", ABOUT),
    (r"why (?:do|would|should|does) (?:i|we|you|one|anyone) (?:\w+ )?(?:need|want|use|bother)", ABOUT),
    (r"(?:wozu|wofuer|warum) (?:brauche?|braucht|benoetig\w*) (?:ich|man|wir)", ABOUT),
    (r"(?:wozu|wofuer) (?:ist|sind|dient|dienen|gibt es|braucht man|brauche ich|nutzen wir)", ABOUT),
    (
        r"(?:warum|wieso|why) (?:nutzen|verwenden|brauchen|benutzen|do) (?:wir|we) (?:\w+ ){0,3}(?:s/?mime|smime|zertifikate|certificates|use|need)",
        ABOUT,
    ),
    (r"was (?:macht|ist|bringt|tut) (?:\w+ ){0,2}(?:s/?mime|smime)", ABOUT),
    (r"what does (?:s/?mime|smime)(?: \w+){0,3} do", ABOUT),
    (r"what(?:'s| is| are) (?:a |an |the )?digital ids?|was (?:ist|sind) (?:eine )?digitale ids?", ABOUT),
    (r"what(?:'s|s| is) the point", ABOUT),
    (
        r"what(?:'s|s| is| does) (?:this|the|that) (?:thing|bot|tool|app)(?: \w+)? do|was (?:macht|tut|soll) (?:der|dieser|das|dieses) (?:bot|tool|ding|programm)",
        ABOUT,
    ),
    (r"tell me about (?:s/?mime|smime|yourself|you)", ABOUT),
    (r"erzaehl (?:mir )?(?:was )?(?:ueber|von) (?:s/?mime|smime|dir)", ABOUT),
    (r"how does (?:s/?mime|smime|mail encryption|encryption) work", ABOUT),
    (r"wie funktioniert (?:s/?mime|smime|(?:die )?verschluesselung)", ABOUT),
    (
        r"what(?:'s|s| is) (?:this|that|the) (?:smime-doctor |s/mime |smime )?(?:thing|bot|tool|app|service)",
        ABOUT,
    ),
    (
        r"was (?:ist|is) (?:das|dies)(?: \w+){0,2} (?:fuer )?(?:ein|eine|einen) (?:bot|tool|ding|programm|dienst)",
        ABOUT,
    ),
    (r"was (?:is|ist) (?:eigentlich |denn )?(?:s/?-?mime|smime)\w*", ABOUT),
    # HELP
    (r"what (?:can|could|do) (?:you|u|i|we) (?:\w+ ){0,2}(?:do|ask|help with)", HELP),
    (
        r"(?:what|which) (?:kind of |sort of |kinds of )?(?:things|questions|stuff|commands) (?:\w+ ){0,3}(?:ask|do|say|type)",
        HELP,
    ),
    (r"was (?:kann|darf) ich (?:dich|den bot|hier) (?:\w+ ){0,2}fragen", HELP),
    (r"was (?:kann|kannst|koennen) (?:du|ich|man)(?: \w+){0,3}(?: (?:machen|tun|fragen))?", HELP),
    (r"was (?:kannst|koenntest) du(?: \w+){0,4}", HELP),
    (r"(?:list|liste) (?:of |der |aller |mit )?(?:commands|befehle\w*|optionen|options)", HELP),
    (r"how (?:do i|to|can i) use (?:you|this|the bot)", HELP),
    (r"wie (?:benutze|nutze|verwende|bediene) ich (?:dich|das|den bot)", HELP),
    (r"how does this work", HELP),
    (r"how (?:do|can|should) i (?:talk|speak|chat|work|interact) (?:to|with) (?:you|this|the bot)", HELP),
    (r"wie (?:rede|spreche|red|sprech|kommuniziere) ich mit (?:dir|dem bot)", HELP),
    (
        r"(?:welche|which|what) (?:fragen|befehle|kommandos|questions|commands) (?:\w+ ){0,2}(?:verstehst|kennst|kannst|understand|know|accept)",
        HELP,
    ),
    (r"wie funktioniert (?:das|der bot|das hier)", HELP),
    (r"what do you (?:understand|know)", HELP),
    (r"was (?:kann|kannst|koennen) (?:der|dieser|das|dein) (?:bot|ding|tool)", HELP),
    # PENDING (before APPROVE: "to approve" asks for the list)
    (r"(?:to|for) (?:approve|approval|sign off|review)", PENDING),
    (r"(?:zu|zum) (?:genehmigen|freigeben|pruefen|entscheiden)", PENDING),
    (r"freizugeben|abzusegnen", PENDING),
    (r"needs? my (?:approval|ok|sign-?off|decision)", PENDING),
    (r"waiting (?:for|on) (?:me|my)", PENDING),
    (
        r"(?:anything|something|what(?:'s)?|was|etwas|irgendwas) (?:\w+ ){0,2}(?:waiting|pending|open|offen|ansteht|aussteht)",
        PENDING,
    ),
    (r"(?:wartet|warten|liegt|liegen) (?:\w+ )?(?:auf|bei) (?:mich|mir|meine)", PENDING),
    # APPROVE (German separable verbs, chat idioms)
    (
        r"(?:gib|gebe|geb|gibst) (?:\w+ ){0,4}frei|geht klar|darf (?:durch|raus)|kann (?:raus|durch)|go ahead|lgtm|ship it|sounds good|passt so|einverstanden",
        APPROVE,
    ),
    (r"lehn\w* (?:\w+ ){0,4}ab\b", DENY),
    (
        r"was (?:muss|soll|darf|kann) ich (?:\w+ ){0,3}(?:freigeben|genehmigen|approven|entscheiden|absegnen)",
        PENDING,
    ),
    (r"what (?:do|should|must|can|have) i (?:\w+ ){0,3}(?:approve|sign off|decide|review)", PENDING),
    # who decided / who changed: the history, not a decision
    (
        r"who (?:has )?(?:approved|denied|rejected|decided|changed|removed|reset)|wer hat (?:\w+ ){0,4}(?:genehmigt|freigegeben|abgelehnt|entschieden|geaendert|geloescht|entfernt)",
        HISTORY,
    ),
    # UNDO
    (
        r"roll(?:s|ed)? ?back|put (?:it |them |everything )?back|back out|rueck ?gaengig|take (?:it |that )?back",
        UNDO,
    ),
    # HISTORY
    (r"audit ?log|what (?:was|has been|got|have you) (?:done|changed)|what happened", HISTORY),
    (
        r"was (?:wurde|ist|hast du|hat (?:der bot|jemand|wer|man|ihr)) (?:\w+ ){0,5}(?:geaendert|gemacht|passiert|veraendert|angefasst)",
        HISTORY,
    ),
    (
        r"(?:what )?(?:did|have|has) (?:you|the bot|anyone|someone|somebody|helpdesk) (?:\w+ ){0,4}(?:do|done|change|changed|modify|modified|touch|touched)",
        HISTORY,
    ),
    (r"(?:rum|herum)\w*(?:geschraubt|gefummelt|gespielt)|angefasst|touched|fiddled with|tampered", HISTORY),
    # EXPIRE / WHEN
    (
        r"valid (?:until|till|through|to)|expiry date|end date|how long (?:is|will|does) (?:\w+ ){0,4}(?:valid|last)",
        EXPIRE,
    ),
    (
        r"(?:run|runs|running|ran) out|laeuft (?:\w+ ){0,4}aus\b|auslaeuft|auslaufen|ausgelaufen|"
        r"gueltig bis|(?:wie lange|bis wann) (?:\w+ ){0,5}gueltig|ablaufdatum|laeuft (?:\w+ ){0,4}ab\b|laufen (?:\w+ ){0,4}ab\b",
        EXPIRE,
    ),
    (
        r"how many days|wie viele tage|days left|tage (?:\w+ ){0,2}(?:noch|uebrig)|(?:until|till|by) when (?:\w+ ){0,4}valid",
        EXPIRE,
    ),
    (r"(?:alles|all|everything) (?:gut|ok|okay|klar|in ordnung|fine|good|alright)", STATUS),
    (
        r"good for$|(?:valid|good) for (?:how long|another|\d+)|exp(?:iry|iration)? ?date|noch (?:gut|gueltig|ok)|remaining validity|restlaufzeit|not ?after|end ?datum|macht (?:\w+ ){0,3}es noch|(?:gilt|gelten) (?:\w+ ){0,4}noch|bis wann (?:\w+ ){0,4}gilt|wie lange? (?:\w+ ){0,4}gilt|(?:geht|laeuft) (?:\w+ ){0,4}(?:demnaechst|bald) aus",
        EXPIRE,
    ),
    (r"how (?:much )?(?:long|soon|longer)|by when|bis wann|ab wann|wie lange?(?: noch)?|wie schnell", WHEN),
    # PUBLISH
    (r"ad?dr?ess? ?book|global address list|\bgal\b|adress ?buch\w*|adressliste", PUBLISH),
    (
        r"show(?:s|ing)? up|turn(?:s|ing)? up|come through|made it (?:to|into)|got (?:to|into)|kommt (?:\w+ ){0,4}an\b|angekommen|ankommen",
        PUBLISH,
    ),
    # ENCRYPT / NEG
    (r"digital ids?|digitale ids?", CERT),
    (
        r"no (?:valid )?(?:certificate|cert|digital id)s? (?:was |were )?found|kein (?:gueltiges )?zertifikat (?:\w+ )?gefunden",
        NEG,
    ),
    (
        r"(?:geht|klappt|funktioniert) (?:\w+ ){0,2}nicht|does ?n'?t work|is ?n'?t working|not working|won'?t work",
        PROBLEM,
    ),
    # FILLER: "show me", "zeig mir", "explain to me" (the asker is not the topic)
    # FILLER: "every time" is "always", not "everyone"
    (r"every ?time|each time|all the time|jedes ?mal|jedesmal|immer wieder|die ganze zeit", FILLER),
    # AUDIT
    (
        r"who (?:has|have|still has|is|are)|how many (?:users|people|accounts|of (?:us|our))|wie viele (?:benutzer|user|leute|nutzer|mitarbeiter)",
        AUDIT,
    ),
    (
        r"all (?:the )?(?:users|people|accounts|mailboxes|employees)|alle (?:benutzer\w*|user|leute|nutzer\w*|mitarbeiter\w*|konten|postfaecher)",
        AUDIT,
    ),
    (
        r"which (?:users|people|accounts|mailboxes|colleagues)|welche (?:benutzer\w*|user|leute|nutzer\w*|mitarbeiter\w*|kollegen)|wer (?:hat|alles)",
        AUDIT,
    ),
    (
        r"whole (?:tenant|company|org\w*)|ganzen? (?:mandant\w*|firma|organisation|unternehmen)|tenant[- ]wide|mandantenweit",
        AUDIT,
    ),
    # SEND encrypted
    (r"send (?:an? )?encrypted|encrypted (?:mail|e-?mail|message)s?", ENCRYPT),
    (r"verschluessel\w* (?:mail|e-?mail|nachricht)\w*", ENCRYPT),
    # FOLLOWUP
    (
        r"what about|how about|and (?:for|with)|same (?:for|with|here|again)|(?:das )?(?:selbe|gleiche|dasselbe)(?: (?:bei|fuer|mit))?|und (?:was ist )?(?:mit|bei|fuer)|was ist mit|wie (?:ist|sieht) es (?:mit|bei)|und wie",
        FOLLOWUP,
    ),
    # RESET
    (r"setz\w* (?:\w+ ){0,5}zurueck|start (?:over|fresh|from scratch)|neu ?anfangen", RESET),
    (
        r"get rid of|clean ?up|take (?:\w+ )?(?:off|down|out)|wegmachen|weg ?machen|ausmisten|raus ?werfen|raus ?schmeissen|raus ?nehmen",
        REMOVE,
    ),
    # NOBODY
    (
        r"no ?one|no ?body|nobody|anyone|anybody|people|others|colleagues|niemand|keiner|kollegen|andere|leute|allen|alle|everyone|everybody|jeder|man",
        NOBODY,
    ),
    # YES / NO answers
    (
        r"^(?:yes|yeah|yea|ya|yep|yup|sure|correct|right|that one|exactly|ja|jap|jep|jup|jo|jawohl|genau|richtig|stimmt|korrekt|klar|ok|okay)(?: (?:please|bitte|that one|genau|den|die|gerne|klar))?$",
        YES,
    ),
    (
        r"do it|go ahead|mach(?: es| das| mal| schon)?|(?:bitte )?(?:durchfuehren|ausfuehren)|proceed|execute",
        GO,
    ),
    (r"turn (?:\w+ )?down|say no to|nein zu|absagen|abweis\w*", DENY),
    (
        r"stell\w* (?:\w+ ){0,4}wieder her|wieder ?herstell\w*|(?:muss|soll) wieder raus|wieder rueckgaengig",
        UNDO,
    ),
    (
        r"steht (?:\w+ ){0,3}an\b|warteschlange|(?:braucht|brauchen|needs?) (?:\w+ ){0,2}(?:unterschrift|signature|freigabe|approval|ok)",
        PENDING,
    ),
    (
        r"org(?:anisation|anization)?-?wide|company-?wide|firmenweit|unternehmensweit|mandantenweit|gesamte?n? (?:firma|unternehmen|organisation)",
        AUDIT,
    ),
    (r"^(?:no|nope|nein|neither|keiner davon|none|falsch)(?: .*)?$", NO),
]

# Single words: stem → (concept, language). "" = both languages.
WORDS: dict[str, tuple[str, str]] = {}


def _add(concept: str, lang: str, stems: Iterable[str]) -> None:
    for stem in stems:
        WORDS[stem] = (concept, lang)


# fmt: off
_add(CERT, "", ["smime", "s/mime", "s-mime", "cert", "certs", "x509"])
_add(CERT, "en", [
    "certificat*", "certifcat*", "certficat*", "certifikat*", "cerificat*", "digital id", "key", "keys"
])
_add(CERT, "de", ["zertifikat*", "zertifkat*", "zertificat*", "zerti*", "zert", "zerts", "schluessel*"])
_add(PUBLISH, "en", [
    "publish*", "visible", "invisible", "hidden", "listed", "there", "synced", "arrive*", "appear*",
    "propagat*"
])
_add(PUBLISH, "de", [
    "unsichtbar", "veroeffentlich*", "verroeffentlich*", "sichtbar", "drin", "erscheint", "auftauch*",
    "hinterlegt"
])
_add(STATUS, "", ["status", "ok", "okay"])
_add(STATUS, "en", [
    "fine", "working", "work", "works", "valid", "healthy", "good", "alright", "correct", "usable",
    "state"
])
_add(STATUS, "de", ["gueltig", "ordnung", "passt", "funktionier*", "geht", "klappt", "zustand", "stand"])
_add(CHECK, "", ["check*", "diagnos*", "test*"])
_add(CHECK, "en", ["look", "lookup", "inspect", "verify", "investigate", "troubleshoot", "see"])
_add(CHECK, "de", [
    "pruef*", "ueberpruef*", "kontrollier*", "schau*", "guck*", "anschau*", "nachschau*", "nachseh*",
    "untersuch*", "checken"
])
_add(PROBLEM, "en", [
    "problem*", "broken", "issue*", "error*", "fail*", "wrong", "trouble", "bug", "complain*",
    "invalid", "bounce*"
])
_add(PROBLEM, "de", [
    "probleme*", "kaputt", "fehler*", "falsch", "defekt", "stoerung", "faul", "scheitert", "meckert",
    "mault", "ausgegraut", "ungueltig*"
])
_add(ENCRYPT, "en", ["encrypt*", "enrcypt*", "encrpyt*", "encyrpt*", "crypt*"])
_add(ENCRYPT, "de", ["verschluessel*", "verschlusel*", "verschluesl*", "verschlussel*"])
_add(SEND, "en", ["send*", "mail", "mails", "email*", "e-mail*", "write", "message*", "sent"])
_add(SEND, "de", ["schreib*", "schick*", "senden", "sendet", "nachricht*", "mailen"])
_add(WHY, "en", ["why", "how come"])
_add(WHY, "de", ["warum", "wieso", "weshalb", "weswegen"])
_add(NEG, "en", [
    "can't", "cant", "cannot", "not", "doesn't", "doesnt", "isn't", "isnt", "unable", "won't", "wont",
    "never"
])
_add(NEG, "de", ["nicht", "kein", "keine", "keinen", "keiner", "nie"])
_add(SEE, "en", ["see", "sees", "find", "finds", "found"])
_add(SEE, "de", ["sieht", "sehen", "findet", "finden"])
_add(RECEIVE, "en", ["get", "gets", "receive*", "getting"])
_add(RECEIVE, "de", ["bekommt", "kriegt", "erhaelt", "empfaengt", "empfangen", "bekomme", "kriege"])
_add(RESET, "en", ["reset*"])
_add(RESET, "de", ["zuruecksetz*", "zurucksetz*", "resett*", "neustart", "neuanfang"])
_add(REMOVE, "en", [
    "remove*", "delete*", "clear", "clean", "cleanup", "prune", "purge", "wipe", "wiped", "drop",
    "tidy", "nuke", "trash", "scrap", "ditch", "zap", "removed", "deleted", "cleared", "erase*"
])
_add(REMOVE, "de", [
    "entfern*", "loesch*", "losch*", "aufraeum*", "aufraum*", "wegraeum*", "raeum*", "bereinig*",
    "leeren", "weg", "rausschmeiss*", "rauswerf*", "rausnehm*", "wegmach*", "putz*", "raus", "geleert",
    "geloescht", "entfernt", "plattmach*"
])
_add(OLD, "en", [
    "old", "older", "expired", "stale", "outdated", "obsolete", "unused", "duplicate*", "extra", "dead",
    "revoked"
])
_add(OLD, "de", [
    "alt", "alte", "alten", "alter", "altes", "abgelaufen*", "veraltet*", "ueberfluessig*", "doppelt*"
])
_add(EXPIRE, "en", ["expir*", "expiry", "expiration", "lifetime", "renew", "renewal", "renewing"])
_add(EXPIRE, "de", [
    "ablauf*", "ablaeuft", "ablaufen", "gueltigkeit*", "laufzeit", "erneuern", "verlaengern",
    "erneuerung"
])
_add(WHEN, "en", ["when", "eta", "until", "till", "delay", "latency"])
_add(WHEN, "de", ["wann", "endlich", "verzoegerung", "dauer"])
_add(NEW, "en", [
    "new", "newly", "renewed", "fresh", "recent*", "latest", "just", "replaced", "reissued", "enrolled",
    "freshly", "issued"
])
_add(NEW, "de", [
    "neu", "neue", "neues", "neuen", "neuer", "erneuert", "verlaengert", "gerade", "frisch*", "ersetzt",
    "ausgestellt"
])
_add(SYNC, "en", ["sync*", "replicat*", "propagat*", "reach*", "take", "takes"])
_add(SYNC, "de", ["synchronis*", "synchron*", "dauert", "dauern", "repliz*"])
_add(APPROVE, "en", ["approve*", "approved", "accept", "confirm", "allow", "grant", "okay it", "sign"])
_add(APPROVE, "de", ["genehmig*", "freigeb*", "freigegeben", "zustimm*", "absegn*", "erlaub*", "bestaetig*"])
_add(APPROVAL, "en", ["approval*", "request*", "sign-off", "signoff", "approver*"])
_add(APPROVAL, "de", [
    "freigabe*", "antrag", "antraege*", "antrags", "anfrage*", "anforderung*", "genehmigung*",
    "genehmiger*", "freigeber*"
])
_add(DENY, "en", ["deny", "denied", "reject*", "decline*", "refuse*", "veto", "cancel*"])
_add(DENY, "de", [
    "ablehn*", "lehne", "lehn", "abgelehnt", "verweiger*", "zurueckweis*", "abbrech*", "storn*"
])
_add(PENDING, "en", ["pending", "outstanding", "queue*", "queued", "await*", "todo", "inbox"])
_add(WAITING, "en", ["waiting", "wait", "open"])
_add(PENDING, "de", ["ausstehend*", "anstehend*"])
_add(WAITING, "de", ["offen*", "wartet", "warten", "wartend*", "liegt"])
_add(UNDO, "en", ["undo", "revert*", "rollback", "restore*", "reverse"])
_add(UNDO, "de", [
    "rueckgaengig", "zuruecknehm*", "zuruecknimm", "wiederherstell*", "zurueckhol*", "zurueckspiel*",
    "zurueckroll*", "zurueckdreh*", "zurueckbau*"
])
_add(HISTORY, "en", [
    "history", "histroy", "log", "logs", "changes", "changed", "trail", "activity", "past", "modified",
    "modifications", "edits", "edited"
])
_add(HISTORY, "de", [
    "verlauf", "historie", "aenderung*", "geaendert", "protokoll*", "chronik", "modifiziert",
    "veraendert", "bearbeitet"
])
_add(AUDIT, "en", [
    "audit*", "tenant", "overview", "report", "org-wide", "company-wide",
    "statistics", "stats", "summary", "organisation", "organization", "company"
])
_add(AUDIT, "de", [
    "mandant*", "uebersicht", "bericht", "gesamtpruefung", "statistik", "zusammenfassung", "firma",
    "unternehmen"
])
_add(ALL, "en", ["all", "every", "whole"])
_add(ALL, "de", ["alle", "allen", "aller", "alles", "jeder", "jeden", "ganze", "ganzen", "saemtliche"])
_add(USERS, "en", ["users", "people", "accounts", "mailboxes", "employees", "colleagues"])
_add(USERS, "de", ["benutzer", "user", "nutzer", "leute", "mitarbeiter", "konten", "kollegen", "personen"])
_add(EXPLAIN, "en", ["explain*", "mean", "means", "meaning", "define", "eli5"])
_add(EXPLAIN, "de", ["erklaer*", "erklar*", "bedeutet", "bedeutung", "heisst"])
_add(HELP, "en", ["help", "commands", "usage", "options", "menu", "manual", "howto", "instructions"])
_add(HELP, "de", ["hilfe", "befehle", "anleitung", "optionen", "menue", "hilf"])
_add(WHAT, "en", ["what", "what's", "whats"])
_add(WHAT, "de", ["was"])
_add(ME, "en", ["me", "my", "myself", "mine"])
_add(ME, "de", ["mir", "mich", "mei", "mein", "meine", "meinen", "meinem", "meiner", "meins", "meines"])
_add(SELF, "en", ["i", "i'm", "ive", "i've"])
_add(SELF, "de", ["ich"])
_add(TO, "en", ["to", "towards"])
_add(TO, "de", ["zu"])
_add(TO, "", ["an"])  # German "to", English article: no language vote
_add(FROM, "en", ["from", "by", "of"])
_add(FROM, "de", ["von", "vom"])
_add(REQUEST, "de", ["beantrag*"])
_add(BECAUSE, "en", ["because", "reason", "since", "cause"])
_add(BECAUSE, "de", ["weil", "grund", "begruendung", "da"])
_add(IT, "en", ["it", "that", "this", "them", "those", "both"])
_add(IT, "de", ["das", "den", "es", "beide", "diesen", "diese"])

_add(THIRD, "en", ["he", "she", "him", "her", "his", "hers", "they", "their"])
_add(THIRD, "de", [
    "sie", "er", "ihn", "ihm", "ihr", "ihre", "ihren", "ihrem", "ihrer", "sein", "seine", "seinen",
    "seinem", "seiner", "seins"
])
_add(DETAIL, "en", ["detail*", "verbose", "full"])
_add(DETAIL, "de", ["ausfuehrlich*", "vollstaendig*", "genauer", "einzelheiten"])
# Verbs of a remediation a helpdesk person names in words ("set the mail nickname for nora").
_add(SET, "en", ["set", "fix", "correct", "upload*", "add", "lower", "populate", "fill", "change", "convert"])
_add(SET, "de", [
    "setzen", "setz", "setze", "eintrag*", "fixen", "korrigier*", "reparier*", "hochlad*", "hinzufueg*",
    "ergaenz*", "anpass*", "befuell*", "umstell*", "aender*"
])
_add(REQUEST, "de", ["beantrag*"])
_add(REQUEST, "en", ["raise"])

# Things people also ask a bot about that are not this bot's business.
_add(NOT_OURS, "en", [
    "joke", "password*", "printer*", "wifi", "vpn", "weather", "pizza", "lunch", "coffee", "holiday*",
    "vacation", "salary"
])
_add(NOT_OURS, "de", [  # starred: a compound that starts with one is not ours ("Druckerproblem")
    "witz", "passwort*", "kennwort*", "drucker*", "wlan*", "wetter*", "mittagessen", "kaffee*",
    "urlaub*", "gehalt*"
])

# fmt: on


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say nothing for this bot but tell the language (and are never names).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "is are am was were be been the a an of for with and or does do did will would could should can "
        "please pls plz thanks thank you your hey hi hello there any anything something is it this that "
        "what who how which where have has had on in at up out about just quick question also still yet "
        "why when get got gets show give tell let know some someone somebody he she they we our his her "
        "their them it's its don't didn't dont here now today again maybe really mate guys folks team bot "
        "thx ty pretty kindly wanna gonna need needs want could u ur r whats sorry able going try tries "
        "trying tried keeps keep receive received recipient sender says said seems look looks like ones "
        "one"
    ),
    "de": _words(
        "ist sind bin bist war waren sein der die das den dem des ein eine einen einem einer und oder "
        "bitte danke hallo moin servus hi hey mal doch denn ja nein schon noch gerade jetzt heute kannst "
        "kann koennen koenntest koennte kannst du ich er sie es wir ihr mein dein sein unser auf an in im "
        "mit fuer von bei nach zu zum zur aus ueber unter wie wer was wo warum wieso wird werden wurde "
        "hat haben hatte gibt geht gehts mach machen macht zeig zeige zeigen sag sage sagen lass lasse "
        "bekomme bekommt kriegt immer wieder leider irgendwie eigentlich vielleicht nochmal kurz eben "
        "halt dass ob wenn weil aber also sich mir mich dir dich uns euch ihm ihn ihnen dieser diese "
        "dieses welcher welche welches alle alles nur auch sehr schon gern gerne bekommen moechte "
        "moechten will wollen brauche brauchst soll sollte muss musst versucht versuche darf durch hab "
        "habe seit erst dann ganz gar nix nichts wegen ueberhaupt bringt irgendwas nen mach bloss grad "
        "gibts"
    ),
}

# Fillers in both languages: never names, no meaning.
STOPWORDS = _words(
    "hey hi hello hallo moin servus yo please pls plz bitte danke thanks thx ty mal doch denn halt eben "
    "kurz quick question frage the a an der die das den dem des ein eine einen einem einer of for fuer "
    "with mit and und or oder is are am ist sind bin was war can could would kann kannst koennen "
    "koenntest you du ihr sie bot smime-doctor doctor just only nur also auch again nochmal wieder still "
    "immer really wirklich maybe vielleicht somehow irgendwie actually eigentlich now jetzt today heute "
    "there here da hier some any irgend etwas something anything does do did tut tun macht make will wird "
    "werden wurde has have hat haben hatte get got gets bekommt kriegt gibt give tell sag sagen zeig "
    "zeige show let lass know weiss wissen on in im at auf about ueber up out aus how wie wo where if ob "
    "wenn when so sehr very pretty kindly gerne gern dear liebe lieber team guys folks leute mate sorry "
    "entschuldigung he she er it es they we wir our unser his her sein ihr their them uns euch dir dich "
    "ihm ihn ihnen this that these those dieser diese dieses which welche welcher who wer what whats "
    "what's was to an zu zum zur from von vom by bei nach as als than me my mir mich mein meine meinen "
    "meinem meiner i ich im i'm mine myself your dein deine yours not nicht no kein keine why warum wieso "
    "weshalb because weil since da but aber then dann able try tries trying tried versucht versuche keeps "
    "keep like say says said seems scheint user benutzer benutzerin account konto person colleague "
    "kollege kollegin mr mrs ms herr frau mail mails email e-mail emails message messages nachricht "
    "nachrichten man jemand wer jeder outlook owa exchange teams slack windows iphone android handy "
    "laptop pc phone mobile client app darf durch erst seit schon noch mehr ganz gar hab habe ok okay "
    "then dann irgendwas ueberhaupt nen gibts grad bloss exactly genau please one two three zwei drei "
    "vier eins"
)


@lru_cache(maxsize=8192)
def stem_lookup(word: str) -> tuple[str, str] | None:
    """(concept, language) of one folded word, or None. A German compound means what its last
    part means ("mailzertifikat", "verschluesselungszertifikat", "benutzerpostfaecher")."""
    hit = WORDS.get(word)
    if hit is not None:
        return hit
    for n in range(len(word), 2, -1):
        hit = WORDS.get(word[:n] + "*")
        if hit is not None:
            return hit
    if len(word) >= 8:
        for head, concept in COMPOUND_HEADS:
            if word.endswith(head) and len(word) - len(head) >= 3:
                return concept, "de"
    return None


# The last parts of German compounds that carry a concept, longest first ("-zertifikate" before
# "-zertifikat"); a compound's head decides its meaning.
COMPOUND_HEADS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        [
            *((h, CERT) for h in ("zertifikat", "zertifikate", "zertifikats", "zertifikaten", "schluessel")),
            *((h, ENCRYPT) for h in ("verschluesselung", "verschluesselt")),
            *((h, PUBLISH) for h in ("adressbuch", "adressbuchs", "adressliste")),
            *((h, PROBLEM) for h in ("problem", "probleme", "fehler", "fehlermeldung", "stoerung")),
            *((h, APPROVAL) for h in ("antrag", "antraege", "freigabe", "freigaben")),
        ],
        key=lambda hc: -len(hc[0]),
    )
)


def _gaps_captured(pattern: str) -> str:
    """A phrase's open slots ("laeuft (?:\\w+ ){0,4}ab") become groups: their words stay free
    for the names and concepts they hold ("laeuft das cert von ernest ab")."""
    pattern = re.sub(r"\(\?:\\w\+ \)\{0,(\d+)\}", r"((?:\\S+ ){0,\1})", pattern)
    return re.sub(r"\(\?: \\w\+\)\{0,(\d+)\}", r"((?: \\S+){0,\1})", pattern)


COMPILED_PHRASES = [
    (re.compile(r"(?<![\w@.])(?:" + _gaps_captured(p) + r")(?![\w@]|\.\w)"), c) for p, c in PHRASES
]


def _alternatives(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w@.])(?:" + "|".join(patterns) + r")(?![\w@]|\.\w)")


# (action, its id, descriptions needing a verb, descriptions that are verbs themselves: "~…")
COMPILED_ACTIONS = [
    (
        action,
        _alternatives(ps[:1]),
        _alternatives([p for p in ps[1:] if not p.startswith("~")] or ["(?!)"]),
        _alternatives([p[1:] for p in ps[1:] if p.startswith("~")] or ["(?!)"]),
    )
    for action, ps in ACTIONS.items()
]
# Every complete word of the lexicon (for typo correction): stems without their star.
VOCABULARY = sorted({w.rstrip("*") for w in WORDS if len(w.rstrip("*")) >= 5 and " " not in w})
