"""People as colleagues name them in chat: "stella", "Stella Stale", "stale.smime", an address.

A chat message names people by a first or last name, a full name or an address — not by the
exact key a lookup needs. `NameIndex` answers "who is called X?" over a loaded directory: exact
names first (an address, a sAMAccountName, a whole display name), else every person with that
word in their display name; `near` gives "did you mean …?" candidates for a misspelling.
Names are compared folded (lower case, ä = ae, é = e), so "Jürgen", "juergen" and "Jurgen"
are one name.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD_SPLIT = re.compile(r"[\s()\[\],;/]+")
NEAR_CUTOFF = 75  # rapidfuzz ratio (0–100) for "did you mean": one or two letters off in a name
SHORT_NEAR_CUTOFF = 80  # names of up to 5 letters: one letter off in four is another name
MAX_MATCHES = 25
MAX_NAME_TAIL = 3  # letters a typed start of a name may leave off ("chris" → Christie)


def fold_name(text: str) -> str:
    """Lower case, umlauts as ae/oe/ue, other accents dropped, spaces collapsed."""
    t = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return " ".join(t.split())


@dataclass(frozen=True, order=True)
class NameMatch:
    """One person a name may mean, as the bot shows it in a choice."""

    display: str
    primary_smtp: str
    key: str

    @property
    def label(self) -> str:
        return f"{self.display} <{self.primary_smtp}>"


class NameIndex:
    """Exact names and display-name words → people, built once per loaded directory."""

    def __init__(self) -> None:
        self._exact: dict[str, set[str]] = {}
        self._words: dict[str, set[str]] = {}
        self._people: dict[str, NameMatch] = {}
        self._sorted: list[str] | None = None

    def add(self, key: str, display: str, primary_smtp: str, names: Iterable[str | None]) -> None:
        self._people[key] = NameMatch(display or primary_smtp or key, primary_smtp or key, key)
        for name in [display, *names]:
            if not name:
                continue
            folded = fold_name(name)
            self._exact.setdefault(folded, set()).add(key)
            if "@" in folded:
                self._exact.setdefault(folded.split("@", 1)[0], set()).add(key)
        for word in _WORD_SPLIT.split(fold_name(display or "")):
            for part in {word, *word.split("-")}:
                if len(part) >= 2:
                    self._words.setdefault(part, set()).add(key)

    def called(self, name: str) -> list[NameMatch]:
        """Everyone `name` may mean, sorted by display name; exact names win over name words."""
        q = fold_name(name).strip(" '\"<>")
        if len(q) < 2:
            return []
        keys = self._exact.get(q)
        if not keys and " " in q:  # "alex w": the start of a display name
            keys = {k for k, p in self._people.items() if fold_name(p.display).startswith(q)}
        if not keys and " " not in q:
            keys = set(self._words.get(q, ()))
            if len(q) >= 3:  # "carl" also means Carla: the start of a name, as people abbreviate
                for word in self._sorted_words()[bisect_left(self._sorted_words(), q) :]:
                    if not word.startswith(q):
                        break
                    if len(word) - len(q) <= MAX_NAME_TAIL:  # "carl" is Carla; "smart" is no Smartcard
                        keys |= self._words[word]
        return sorted(self._people[k] for k in list(keys or ())[:MAX_MATCHES])

    def _sorted_words(self) -> list[str]:
        if self._sorted is None or len(self._sorted) != len(self._words):
            self._sorted = sorted(self._words)
        return self._sorted

    def near(self, name: str, limit: int = 3) -> list[NameMatch]:
        """People whose name is a near miss of `name` (a typo), best first."""
        q = fold_name(name)
        if len(q) < 3:
            return []
        cutoff = NEAR_CUTOFF if len(q) > 5 else SHORT_NEAR_CUTOFF  # "card" is no typo of "carl"
        found = process.extract(q, list(self._words), scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit)
        keys: dict[str, None] = {}
        for word, _, _ in found:
            for k in sorted(self._words[word]):
                keys.setdefault(k)
        return [self._people[k] for k in list(keys)[:limit]]

    def __contains__(self, word: str) -> bool:
        q = fold_name(word)
        return q in self._exact or q in self._words
