"""A message's words → what it asks (an Intent), without a directory.

Two steps, both pure functions: `read` turns the text into concepts (lexicon.py), ids, an
ordinal or yes/no, and the runs of words that may be names (everything the lexicon does not
know); `decide` — given which of those runs name people (people.py) and what the
conversation said before (ContextView) — chooses the intent and fills its slots.

Why concepts and rules rather than a list of sentence patterns: a pattern list understands
the sentences someone thought of; concepts understand any wording made of known words, in any
order, with any filler ("hey bot, could you pls check whether stella's cert is ok?"). The
rules are few and ordered by how specific a concept is (a request id beats a verb, a verb
beats a topic), so a new phrasing rarely needs a new rule — at most a new word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import fuzz, process

from handlers.understanding import lexicon as lx
from handlers.understanding.text import Token, fold, request_id, tokens
from workers.checks import REGISTRY
from workers.names import NameMatch

# The intents of the chat contract (docs/chat.md); the chat core maps each to a handler.
INTENTS = (
    "diagnose",
    "why_cant_encrypt",
    "reset",
    "request_action",
    "pending",
    "approve",
    "deny",
    "undo",
    "history",
    "audit",
    "explain",
    "help",
    "about",
    "clarify",
    "unknown",
)
TYPO_CUTOFF = 88  # rapidfuzz ratio for a misspelt lexicon word ("certficate", "verschluesslung")
MAX_MENTIONS = 6  # runs of unknown words looked up in the directory per message
# English words are borrowed into German chat ("check", "reset", "cert"); German ones are not
# borrowed into English: an English lexicon word counts half a vote for the language.
LOAN_WEIGHT = 0.5
_TELL_VERBS = frozenset(
    [
        "show",
        "give",
        "tell",
        "list",
        "find",
        "explain",
        "zeig",
        "zeige",
        "zeigt",
        "gib",
        "gibt",
        "sag",
        "sage",
        "nenn",
        "nenne",
        "liste",
        "erklaer",
        "erklaere",
        "erzaehl",
        "schick",
    ]
)
_MODALS = frozenset(
    [
        "can't",
        "cant",
        "cannot",
        "can",
        "could",
        "couldn't",
        "does",
        "doesn't",
        "doesnt",
        "is",
        "isn't",
        "won't",
        "wont",
        "kann",
        "koennen",
        "konnte",
        "darf",
        "why",
        "warum",
        "wieso",
    ]
)
_CHECK_ID = re.compile(r"\b([a-z]{2,12})\.([a-z][a-z0-9_]{1,40})\b")
_ORDINALS = {
    "first": 1, "1st": 1, "erste": 1, "ersten": 1, "erster": 1, "erstes": 1, "eins": 1, "one": 1,
    "second": 2, "2nd": 2, "zweite": 2, "zweiten": 2, "zweiter": 2, "zweites": 2, "zwei": 2, "two": 2,
    "third": 3, "3rd": 3, "dritte": 3, "dritten": 3, "dritter": 3, "drei": 3, "three": 3,
    "fourth": 4, "vierte": 4, "vierten": 4, "vier": 4, "four": 4,
    "last": -1, "letzte": -1, "letzten": -1, "letzter": -1,
}  # fmt: skip
_ROLE_WORDS = {
    "to": "to", "an": "to", "towards": "to",
    "from": "from", "by": "from", "von": "from", "vom": "from",
    "for": "for", "fuer": "for", "bei": "for", "of": "for", "about": "for", "mit": "for",
}  # fmt: skip


@dataclass(frozen=True)
class Mention:
    """A run of words the lexicon does not know: perhaps a person's name."""

    text: str  # folded words, e.g. "alex wilber"
    position: int  # index of its first word in the message
    possessive: bool = False  # "stella's", "noras"
    role: str | None = None  # the word before it said: "to" (recipient), "from" (requester), "for"
    salient: bool = False  # where a name is expected (after "check", "von", a possessive): typos count
    after_modal: bool = False  # right after "why can't" / "warum kann": the one who tries
    after_check: bool = False  # right after "check" / "prüfe": where a name is asked for


@dataclass(frozen=True)
class Reading:
    """What the words of one message say, before any directory lookup."""

    folded: str
    concepts: frozenset[str]
    lang: str | None
    words: int
    request_id: str | None = None
    check_id: str | None = None
    action: str | None = None
    reason: str | None = None
    ordinal: int | None = None
    mentions: tuple[Mention, ...] = ()

    def has(self, *concepts: str) -> bool:
        return any(c in self.concepts for c in concepts)


@dataclass(frozen=True)
class Found:
    """A mention looked up in the directory: one person, several (ask back), or a near miss."""

    mention: Mention
    matches: tuple[NameMatch, ...] = ()
    near: tuple[NameMatch, ...] = ()
    asker: bool = False  # the mention is the asker (found by name)

    @property
    def person(self) -> NameMatch | None:
        return self.matches[0] if len(self.matches) == 1 else None


@dataclass(frozen=True)
class Choice:
    """One answer the bot offers when it asks back."""

    value: str  # an address (a person) or a request id
    label: str  # what the person reads: "Carl Clientauth <eku.clientauth@…>"


@dataclass(frozen=True)
class Intent:
    """What the message asks, with its slots filled. Addresses are primary SMTP addresses."""

    kind: str
    lang: str | None = None
    focus: str | None = None  # diagnose: "expiry" / "propagation"
    subject: str | None = None  # whose certificate / the recipient / the requester named
    sender: str | None = None  # why_cant_encrypt: who tries to encrypt
    subject_query: str | None = None  # a name that named nobody (for "I found nobody called …")
    check_id: str | None = None
    request_id: str | None = None
    action: str | None = None
    reason: str | None = None  # deny: why, as typed
    choices: tuple[Choice, ...] = ()  # clarify: what the bot offers
    question: str | None = None  # clarify: "person", "near", "request", "decision"
    resume: Intent | None = None  # clarify: the intent an answer completes
    slot: str | None = None  # clarify: which slot of `resume` the answer fills
    followup: bool = False  # completed from the conversation's previous turn
    detail: bool = False  # diagnose: "in detail" / "ausführlich" — the full report, also about oneself


@dataclass(frozen=True)
class ContextView:
    """What the conversation said before (handlers/conversation.py), as decide() needs it."""

    asker: str  # the asker's primary SMTP address
    last: Intent | None = None
    question: Intent | None = None  # the clarify intent the bot asked last, if unanswered
    lang: str | None = None


# -- reading ------------------------------------------------------------------------------------
def read(text: str, is_name: Callable[[str], bool] = lambda _: False) -> Reading:
    """Concepts, ids and candidate names of one message. `is_name(words)` tells whether words
    are a person's name in the directory (so a name is never "corrected" into a lexicon word)."""
    rid = request_id(text)
    folded = fold(text)
    if rid:
        folded = re.sub(re.escape(rid.lower()), " ", folded)
    action = weak_action = None
    for name, strong, _, verb in lx.COMPILED_ACTIONS:
        m = strong.search(folded) or verb.search(folded)
        if m:
            action = name
            folded = folded[: m.start()] + " " + folded[m.end() :]
            break
    if action is None:
        for name, _, weak, _ in lx.COMPILED_ACTIONS:
            m = weak.search(folded)
            if m:
                weak_action = name
                folded = folded[: m.start()] + " " + folded[m.end() :]
                break
    check_id = None
    m = _CHECK_ID.search(folded)
    if m and m.group(1) in _check_families():
        check_id = m.group(0)
        folded = folded[: m.start()] + " " + folded[m.end() :]
    toks = tokens(folded)
    joined, starts = _joined(toks)
    used: set[int] = set()
    concepts: dict[str, int] = {}
    votes = {"en": 0.0, "de": 0.0}
    for pattern, concept in lx.COMPILED_PHRASES:
        for pm in pattern.finditer(joined):
            gaps = [(pm.start(g), pm.end(g)) for g in range(1, (pattern.groups or 0) + 1) if pm.start(g) >= 0]
            covered = [
                i
                for i, s in enumerate(starts)
                if pm.start() <= s < pm.end() and not any(a <= s < b for a, b in gaps)
            ]
            if not covered or any(i in used for i in covered):
                continue
            used.update(covered)
            concepts.setdefault(concept, covered[0])
            _vote_words(votes, [toks[i].text for i in covered])
    ordinal = None
    candidates: list[Token] = []
    for t in toks:
        if t.start in used:
            continue
        word = t.text
        if word.isdigit() and len(word) <= 2 and 0 < int(word) <= 20:
            ordinal = ordinal or int(word)
            continue
        if word == "when" and not _asks_when(toks, t.start):
            continue  # "… when they try to encrypt": a conjunction, not a question about time
        if word in _ORDINALS and len(toks) <= 4 and (word not in ("one", "eins") or len(toks) <= 2):
            ordinal = ordinal or _ORDINALS[word]
            continue
        if "." in word or "@" in word or (t.start > 0 and toks[t.start - 1].text in _HONORIFICS):
            # an address or sAMAccountName, or the word after "Frau"/"Mr": a name, whatever it means
            candidates.append(t)
            continue
        hit = lx.stem_lookup(word)
        if hit is None and "-" in word:  # "s/mime-zertifikate", "e-mail-verschluesselung": the last part
            hit = lx.stem_lookup(word.rsplit("-", 1)[1]) or lx.stem_lookup(word.split("-", 1)[0])
        known = word in lx.STOPWORDS or word in _FUNCTION["en"] or word in _FUNCTION["de"]
        if hit is None and not known and len(word) >= 6 and not is_name(word):
            hit = _typo(word)  # "koennten" is a word, not a typo of "konten"
        if (
            hit is not None
            and word in ("me", "mir", "mich")
            and t.start > 0
            and toks[t.start - 1].text in _TELL_VERBS
        ):
            hit = (lx.FILLER, hit[1])  # "show me", "zeig mir", "erklär mir": the asker is not the topic
        if hit is not None:
            concept, word_lang = hit
            concepts.setdefault(concept, t.start)
            if word_lang:
                votes[word_lang] += LOAN_WEIGHT if word_lang == "en" else 1
            continue
        _vote_words(votes, [word])
        if word not in lx.STOPWORDS and not word.isdigit() and len(word) >= 2:
            candidates.append(t)
    mentions = _mentions(candidates, toks, is_name)
    if not votes["en"] and not votes["de"]:
        # names do not tell a language ("Carla Catrue"): only the other words are read
        _vote_letters(votes, [t.text for t in toks if _unknown_word(t.text) and not is_name(t.text)])
    # Loanwords alone ("check hannah", "status") do not tell: the conversation's language decides.
    said = (
        "de" if votes["de"] > votes["en"] else "en" if votes["en"] > max(votes["de"], LOAN_WEIGHT) else None
    )
    if (
        action is None
        and weak_action is not None
        and (concepts.keys() & {lx.SET, lx.REMOVE, lx.REQUEST, lx.RESET})
    ):
        action = weak_action
    return Reading(
        folded,
        frozenset(concepts),
        said,
        len(toks),
        rid,
        check_id,
        action,
        _reason(text, rid),
        ordinal,
        tuple(mentions[:MAX_MENTIONS]),
    )


def _joined(toks: list[Token]) -> tuple[str, list[int]]:
    starts, parts, pos = [], [], 0
    for t in toks:
        starts.append(pos)
        parts.append(t.raw)
        pos += len(t.raw) + 1
    return " ".join(parts), starts


_HONORIFICS = frozenset(
    ["herr", "herrn", "frau", "mr", "mrs", "ms", "miss", "dr", "prof", "kollege", "kollegin"]
)
_AUXILIARIES = frozenset(
    [
        "will",
        "does",
        "do",
        "did",
        "is",
        "are",
        "was",
        "can",
        "could",
        "would",
        "should",
        "has",
        "have",
        "might",
        "may",
    ]
)


def _asks_when(toks: list[Token], i: int) -> bool:
    """English "when" asks about time at a clause's start or before an auxiliary ("when will",
    "when does"); elsewhere it joins clauses ("… when he tries to encrypt")."""
    after = toks[i + 1].text if i + 1 < len(toks) else ""
    return (
        i == 0
        or after in _AUXILIARIES
        or after == ""
        or toks[i - 1].text in ("and", "so", "but", "ok", "then")
    )


def _vote_words(votes: dict[str, float], words: list[str]) -> None:
    for w in words:
        en, de = w in _FUNCTION["en"], w in _FUNCTION["de"]
        if en and not de:
            votes["en"] += 1
        elif de and not en:
            votes["de"] += 1
        elif not (en or de):
            hit = lx.stem_lookup(w)
            if hit is not None and hit[1]:
                votes[hit[1]] += LOAN_WEIGHT if hit[1] == "en" else 1


_GERMAN_LETTERS = re.compile(r"sch|ung\b|keit\b|lich\b|cht|ue|oe|ae|ss\b|ei|tz|\bge\w{3,}t\b|en\b")
_ENGLISH_LETTERS = re.compile(r"th|wh|ing\b|\bw|y\b|ea|ow\b|ly\b|ck\b")


def _unknown_word(word: str) -> bool:
    """Not an id, not a lexicon or function word: what only its letters can place in a language."""
    known = lx.stem_lookup(word) is not None or word in _FUNCTION["en"] or word in _FUNCTION["de"]
    return not (known or "." in word or "@" in word)


def _vote_letters(votes: dict[str, float], words: list[str]) -> None:
    """No known word told the language: letter patterns of the rest do, weakly ("faul" is not
    English; "thingy" is not German). Below one vote, so the conversation's language still wins
    over a weak guess from a single word."""
    text = " ".join(w for w in words if len(w) >= 3)
    de, en = len(_GERMAN_LETTERS.findall(text)), len(_ENGLISH_LETTERS.findall(text))
    if de > en:
        votes["de"] += 0.75
    elif en > de:
        votes["en"] += 0.75


_FUNCTION = lx.FUNCTION_WORDS


@lru_cache(maxsize=4096)
def _typo(word: str) -> tuple[str, str] | None:
    """The lexicon word `word` is a misspelling of, if it is one letter or two off."""
    best = process.extractOne(word, lx.VOCABULARY, scorer=fuzz.ratio, score_cutoff=TYPO_CUTOFF)
    if best is None or best[0][:2] != word[:2]:  # typos rarely hit the first letters
        return None
    if word.startswith(best[0]) or best[0].startswith(word):  # "dauernd" is no typo of "dauern"
        return None
    return lx.stem_lookup(best[0])


@lru_cache(maxsize=1)
def _check_families() -> frozenset[str]:
    return frozenset(c.split(".", 1)[0] for c in REGISTRY)


def _mentions(candidates: list[Token], toks: list[Token], is_name: Callable[[str], bool]) -> list[Mention]:
    """Runs of adjacent candidate words; a run and a known word after it that together are a
    full name ("Ernest Expiring", whose surname is also a lexicon word) are one mention."""
    runs: list[list[Token]] = []
    for t in candidates:
        if runs and runs[-1][-1].start == t.start - 1 and "@" not in t.text and "@" not in runs[-1][-1].text:
            runs[-1].append(t)
        else:
            runs.append([t])
    out = []
    for run in runs:
        last = run[-1].start
        if last + 1 < len(toks) and not toks[last + 1].possessive:
            joined = " ".join(t.text for t in run) + " " + toks[last + 1].text
            if is_name(joined):
                run = [*run, toks[last + 1]]
        before = toks[run[0].start - 1].text if run[0].start > 0 else ""
        hit = lx.stem_lookup(before)
        possessive = any(t.possessive for t in run)
        role = _ROLE_WORDS.get(before)
        after = lx.stem_lookup(toks[run[-1].start + 1].text) if run[-1].start + 1 < len(toks) else None
        salient = (
            possessive
            or role is not None
            or len(toks) <= 4
            or (hit is not None and hit[0] == lx.CHECK)
            or (after is not None and after[0] == lx.CERT)  # "dieogs zertifikat", "stellas cert"
        )
        out.append(
            Mention(
                " ".join(t.text for t in run),
                run[0].start,
                possessive,
                role,
                salient,
                before in _MODALS,
                hit is not None and hit[0] == lx.CHECK,
            )
        )
    return out


def _reason(text: str, rid: str | None) -> str | None:
    """deny R-… <reason> / lehne R-… ab, weil <reason>: the words after the id, as typed."""
    m = re.search(
        r"\b(?:because|reason:?|weil|grund:?|begruendung:?|begründung:?)\s+(.+)$", text, re.I | re.S
    )
    if m:
        return _clean_reason(m.group(1))
    if rid:
        idx = text.find(rid)
        if idx < 0:
            idx = text.lower().find(rid.lower())
        tail = text[idx + len(rid) :] if idx >= 0 else ""
        tail = re.sub(r"^[\s,.:;–—-]*(?:ab\b|ablehnen\b|deny\b|reject\b)?[\s,.:;–—-]*", "", tail, flags=re.I)
        return _clean_reason(tail)
    return None


def _clean_reason(text: str) -> str | None:
    t = " ".join(text.split()).strip(" .,:;-–—")
    return t[:300] or None


# -- deciding ----------------------------------------------------------------------------------
FOLLOWS = frozenset({"diagnose", "why_cant_encrypt", "history", "approve", "deny", "undo", "request_action"})


def decide(reading: Reading, found: list[Found], context: ContextView) -> Intent:
    """The intent of one message, its slots filled from the people found and the conversation."""
    if context.question is not None:
        answered = _answer(reading, found, context.question, context)
        if answered is not None:
            return replace(answered, lang=reading.lang or context.lang)
    if any(f.matches for f in found) or reading.has(lx.ME, lx.SELF):
        # a real name (or "me") in the message: other words are no typos of a name, unless they
        # stand where a name goes ("von stela", "stelas cert")
        found = [f for f in found if f.matches or not f.near or _named_here(f.mention)]
    kind, focus = _kind(reading, found, context)
    detail = kind == "diagnose" and reading.has(lx.DETAIL)
    return _fill(Intent(kind, reading.lang, focus, detail=detail), reading, found, context)


def _named_here(m: Mention) -> bool:
    return bool(m.role or m.possessive or m.after_check)


def _person_found(found: list[Found]) -> list[Found]:
    return [f for f in found if f.matches or f.near]


def _kind(r: Reading, found: list[Found], context: ContextView) -> tuple[str, str | None]:
    """The intent kind and focus: the most specific signal first."""
    someone = bool(_person_found(found)) or (r.has(lx.THIRD) and _third_party(context) is not None)
    if r.check_id and (r.has(lx.EXPLAIN, lx.WHAT, lx.HELP, lx.ABOUT) or r.words <= 4):
        return "explain", None
    if r.request_id:
        if r.has(lx.UNDO):
            return "undo", None
        if r.has(lx.DENY, lx.NO) or (r.has(lx.NEG) and not r.has(lx.YES)):
            return "deny", None
        if r.has(lx.REMOVE, lx.RESET):
            return "undo", None  # a request's change "muss wieder raus": undo it
        if r.has(lx.APPROVE, lx.YES, lx.STATUS, lx.GO):
            return "approve", None
        return "clarify", None
    if r.has(lx.NOT_OURS) and not r.has(lx.CERT, lx.ENCRYPT):
        return "unknown", None
    if r.action:
        return "request_action", None
    if r.has(lx.UNDO):
        return "undo", None
    if r.has(lx.HISTORY):
        return "history", None
    if (
        r.has(lx.DENY)
        and not r.has(lx.ENCRYPT)
        and (someone or r.has(lx.APPROVAL, lx.IT, lx.PENDING, lx.WAITING))
    ):
        return "deny", None
    if r.has(lx.HELP) and not someone and not (_topic(r) - {lx.PROBLEM, lx.STATUS}) and not r.has(lx.CHECK):
        return "help", None
    if r.has(lx.APPROVE) and r.has(lx.WHAT) and not someone:
        return "pending", None  # "what do I still have to approve?"
    if r.has(lx.APPROVE) and not r.has(lx.NEG):
        return "approve", None
    if r.has(lx.PENDING) or (r.has(lx.WAITING) and r.has(lx.APPROVAL)):
        return "pending", None
    if r.has(lx.APPROVAL) and not _topic(r):
        return ("approve", None) if someone else ("pending", None)  # "Freigabe für Stella"
    if someone and r.has(lx.ABOUT):
        return "diagnose", None  # "was ist mit monas smime los": about her, not about S/MIME
    if not someone and (
        r.has(lx.ABOUT) or (r.has(lx.EXPLAIN) and not r.has(lx.ME) and r.has(lx.CERT, lx.ENCRYPT))
    ):
        return "about", None
    if _audit(r, someone):
        return "audit", None
    if r.has(lx.RESET) or (
        r.has(lx.REMOVE) and (r.has(lx.CERT, lx.OLD, lx.ME, lx.IT) or not _topic(r) - {lx.REMOVE})
    ):
        return "reset", None
    focus = _focus(r)
    if r.has(lx.ENCRYPT) or (r.has(lx.SEE) and r.has(lx.CERT) and r.has(lx.ME) and someone):
        owner_only = all(f.mention.possessive for f in _person_found(found)) and not r.has(
            lx.SEND, lx.NEG, lx.WHY, lx.TO
        )
        if someone and not owner_only:
            return "why_cant_encrypt", None
        return "diagnose", focus  # "is pradeeps cert valid for encryption": his certificate
    if focus or _topic(r) or r.has(lx.CHECK):
        return "diagnose", focus
    last = context.last
    unknown_words = any(not f.matches and not f.near for f in found)
    if (someone or (r.has(lx.ME, lx.SELF) and not unknown_words)) and _bare(r):
        if last is not None and last.kind in FOLLOWS:
            return last.kind, last.focus
        return "diagnose", None
    if r.has(lx.FOLLOWUP) and last is not None and last.kind in FOLLOWS and someone:
        return last.kind, last.focus
    return "unknown", None


_TOPIC = frozenset(
    {lx.CERT, lx.PUBLISH, lx.ENCRYPT, lx.RESET, lx.REMOVE, lx.EXPIRE, lx.STATUS, lx.PROBLEM, lx.SYNC, lx.OLD}
)
_BARE_OK = frozenset(
    {
        lx.FOLLOWUP,
        lx.ME,
        lx.SELF,
        lx.IT,
        lx.TO,
        lx.FROM,
        lx.WHAT,
        lx.WHY,
        lx.NO,
        lx.YES,
        lx.WHEN,
        lx.THIRD,
        lx.ALL,
        lx.FILLER,
    }
)


def _topic(r: Reading) -> set[str]:
    return set(r.concepts & _TOPIC)


def _bare(r: Reading) -> bool:
    """Only a name (or "me") and follow-up words: "what about carla?", "und bei tom?", "me"."""
    return not (r.concepts - _BARE_OK)


def _audit(r: Reading, someone: bool) -> bool:
    if r.has(lx.RESET, lx.REMOVE):  # "zert aufräumen bitte alles weg": a clean-up, not an overview
        return False
    if someone or r.has(lx.ME, lx.SELF):
        return r.has(lx.AUDIT) and r.has(lx.ALL) and not r.has(lx.ME)
    if r.has(lx.AUDIT):
        return True
    if (
        r.has(lx.NOBODY)
        and not r.has(lx.ENCRYPT)
        and _focus(r) is None
        and r.concepts & {lx.CERT, lx.PROBLEM, lx.OLD}
    ):
        return True  # "is everyone's cert ok?", "hat jemand ein abgelaufenes Zertifikat?"
    broad = r.has(lx.ALL, lx.USERS)
    return broad and bool(
        r.concepts & {lx.CERT, lx.PROBLEM, lx.OLD, lx.EXPIRE, lx.PUBLISH, lx.STATUS, lx.ENCRYPT}
    )


def _focus(r: Reading) -> str | None:
    if r.has(lx.EXPIRE):
        return "expiry"
    if r.has(lx.WHEN) and r.concepts & {lx.NEW, lx.SYNC, lx.PUBLISH, lx.SEE, lx.STATUS, lx.ENCRYPT, lx.CERT}:
        return "propagation"
    if r.has(lx.NEW) and r.has(lx.SYNC, lx.PUBLISH):
        return "propagation"
    if r.has(lx.OLD) and not r.has(lx.REMOVE, lx.RESET, lx.NEW) and r.has(lx.CERT, lx.ME):
        return "expiry"
    return None


def _third_party(context: ContextView) -> str | None:
    """Who "her", "him", "sein", "ihr" refers to: the last person talked about who is not the asker."""
    last = context.last
    if last is None:
        return None
    for who in (last.subject, last.sender):
        if who and who.lower() != context.asker.lower():
            return who
    return None


def _fill(intent: Intent, r: Reading, found: list[Found], context: ContextView) -> Intent:
    """Slots from the people found; an ambiguous or near-missed name becomes a question."""
    kind = intent.kind
    intent = replace(intent, request_id=r.request_id, check_id=r.check_id, action=r.action)
    if kind == "deny":
        intent = replace(intent, reason=r.reason)
    if kind in ("explain", "help", "about", "unknown", "pending", "audit"):
        return intent
    if kind == "clarify":  # a bare request id: approve or deny?
        return replace(intent, question="decision")
    if kind in ("approve", "deny", "undo") and r.request_id:
        return intent
    if kind == "why_cant_encrypt":
        return _encrypt_slots(intent, r, found, context)
    people = _person_found(found)
    me = context.asker
    last = context.last
    followup = last is not None and kind == last.kind and _bare(r)
    target = _pick(people, prefer=("for", "from", None, "to"))
    if target is None:
        third = _third_party(context) if r.has(lx.THIRD) and not r.has(lx.ME) else None
        if third is not None:
            return replace(intent, subject=third, followup=True)
        unresolved = [f for f in found if not f.matches and not f.near and f.mention.salient]
        if unresolved and not r.has(lx.ME, lx.SELF):
            return replace(intent, subject=None, subject_query=unresolved[0].mention.text)
        if kind == "request_action" and r.has(lx.ME):
            return replace(intent, subject=me)  # "can u set my mailnickname"
        if kind in ("approve", "deny", "undo", "request_action"):
            return intent
        if (
            last is not None
            and last.subject
            and last.kind in FOLLOWS
            and not r.has(lx.ME, lx.SELF)
            and r.has(lx.IT, lx.THIRD, lx.FOLLOWUP)
            and r.words <= 6
        ):  # "und wann läuft das ab?"
            return replace(intent, subject=last.subject, followup=True)
        if followup and last is not None and not r.has(lx.ME, lx.SELF):
            return replace(intent, subject=last.subject, sender=last.sender, followup=True)
        return replace(intent, subject=me)
    asked = _ask_if_unclear(intent, target, "subject")
    if asked is not None:
        return asked
    assert target.person is not None
    return replace(intent, subject=target.person.primary_smtp, followup=followup)


def _encrypt_slots(intent: Intent, r: Reading, found: list[Found], context: ContextView) -> Intent:
    """Who tries to encrypt (sender) to whom (subject). "to"/"an" marks the recipient; "me/mir"
    makes the asker the recipient; a name right after "why can't"/"warum kann" is the sender;
    otherwise the asker is the one trying ("cant send encrypted mail to stella")."""
    me = context.asker
    people = _person_found(found)
    last = context.last
    if not people and r.has(lx.THIRD):
        third = _third_party(context)
        if third is not None:
            people = [Found(Mention(third, 0, role="to"), (NameMatch(third, third, third),))]
    third = _third_party(context) if r.has(lx.THIRD) else None
    if third and len(people) == 1 and people[0].mention.role != "to" and _is_not(people[0], third):
        # "warum kann Tom nicht an sie verschlüsseln?": "sie" is who we just talked about
        people = [*people, Found(Mention(third, 0, role="to"), (NameMatch(third, third, third),))]
    if not people:
        return replace(intent, kind="diagnose", subject=me)
    recipients = [f for f in people if f.mention.role == "to"]
    others = [f for f in people if f.mention.role != "to"]
    if len(people) >= 2:
        sender_f = others[0]
        recipient_f = recipients[0] if recipients else others[1]
    elif recipients:
        sender_f, recipient_f = None, recipients[0]
    elif r.has(lx.RECEIVE) and not r.has(lx.ME, lx.SELF):  # "pradeep kriegt keine verschlüsselten mails"
        sender_f, recipient_f = None, others[0]
        r = replace(r, concepts=r.concepts | {lx.NOBODY})
    elif (
        r.has(lx.ME)
        and not (r.has(lx.SELF) and not others[0].mention.after_modal)
        or others[0].mention.after_modal
        and r.has(lx.WHY)
        and not r.has(lx.SELF)
    ):
        sender_f, recipient_f = others[0], None
    else:
        sender_f, recipient_f = None, others[0]
    if _bare(r) and last is not None and last.kind == "why_cant_encrypt":
        # "and diego?": the new name replaces the sender, or the recipient when "to"/"an" says so
        f = people[0]
        asked = _ask_if_unclear(
            replace(intent, subject=last.subject, sender=last.sender),
            f,
            "subject" if f.mention.role == "to" else "sender",
        )
        if asked is not None:
            return asked
        assert f.person is not None
        if f.mention.role == "to":
            return replace(intent, subject=f.person.primary_smtp, sender=last.sender, followup=True)
        return replace(intent, sender=f.person.primary_smtp, subject=last.subject, followup=True)
    nobody_sends = sender_f is None and r.has(lx.NOBODY, lx.ALL, lx.AUDIT) and not r.has(lx.SELF)
    known_sender = (
        sender_f.person.primary_smtp if sender_f and sender_f.person else (None if sender_f else me)
    )
    known_recipient = (
        recipient_f.person.primary_smtp
        if recipient_f and recipient_f.person
        else (None if recipient_f else me)
    )
    default = replace(intent, subject=known_recipient, sender=known_sender)
    for slot, unclear in (("sender", sender_f), ("subject", recipient_f)):
        if unclear is not None:
            asked = _ask_if_unclear(default, unclear, slot)
            if asked is not None:
                return asked
    sender = sender_f.person.primary_smtp if sender_f and sender_f.person else me
    recipient = recipient_f.person.primary_smtp if recipient_f and recipient_f.person else me
    if nobody_sends or sender == recipient:  # "nobody can encrypt to stella": her own diagnosis
        return replace(intent, kind="diagnose", subject=recipient, sender=None)
    return replace(intent, sender=sender, subject=recipient)


def _is_not(f: Found, address: str) -> bool:
    return f.person is not None and f.person.primary_smtp.lower() != address.lower()


def _pick(people: list[Found], prefer: tuple[str | None, ...]) -> Found | None:
    for role in prefer:
        for f in people:
            if f.mention.role == role:
                return f
    return people[0] if people else None


def _ask_if_unclear(intent: Intent, f: Found, slot: str) -> Intent | None:
    """Several people match → "which one?"; only a near miss → "did you mean …?"."""
    if f.person is not None:
        return None
    options = f.matches if f.matches else f.near
    choices = tuple(Choice(m.primary_smtp, m.label) for m in options)
    question = "person" if f.matches else "near"
    return Intent(
        "clarify",
        intent.lang,
        subject_query=f.mention.text,
        choices=choices,
        question=question,
        resume=intent,
        slot=slot,
    )


# -- answers to the bot's own question ------------------------------------------------------------
def _answer(r: Reading, found: list[Found], question: Intent, context: ContextView) -> Intent | None:
    """The reply to "which one?" / "did you mean …?"; None when the message is a new question."""
    resume = question.resume
    choices = question.choices
    if resume is None or not choices:
        return None
    pick: Choice | None = None
    if r.ordinal is not None and r.words <= 4:
        index = r.ordinal - 1 if r.ordinal > 0 else len(choices) - 1
        pick = choices[index] if 0 <= index < len(choices) else None
        if pick is None:
            return question  # "3" of two choices: ask again
    elif r.has(lx.YES) and len(choices) == 1:
        pick = choices[0]
    elif r.has(lx.NO) and r.words <= 4:
        return Intent("unknown", question.lang, question="declined")
    else:
        for f in found:
            hits = [c for c in choices if any(m.primary_smtp == c.value for m in f.matches)]
            if len(hits) == 1:
                pick = hits[0]
                break
        if pick is None and r.words <= 4:
            pick = _fuzzy_choice(r.folded, choices)
    if pick is None:
        return None
    if question.question == "request":
        return replace(resume, request_id=pick.value)
    if resume_slot(question) == "sender":
        return replace(resume, sender=pick.value)
    return replace(resume, subject=pick.value)


def resume_slot(question: Intent) -> str:
    return question.slot or "subject"


def _fuzzy_choice(folded: str, choices: tuple[Choice, ...]) -> Choice | None:
    """ "clientauth", "die carla": the one choice whose label holds what was typed."""
    words = [w for w in re.split(r"\W+", folded) if len(w) >= 3 and w not in lx.STOPWORDS]
    if not words:
        return None
    hits = [
        c
        for c in choices
        if all(any(fuzz.ratio(w, part) >= 85 for part in re.split(r"\W+", fold(c.label))) for w in words)
    ]
    return hits[0] if len(hits) == 1 else None
