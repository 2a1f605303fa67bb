"""The people a message names, found in the directory wherever they stand in the sentence.

The recogniser hands over runs of words it does not know ("alex", "alex wilber", "noras",
"stale.smime"); each is looked up as colleagues mean it: the whole run first, then word by word,
a possessive "s" dropped when the word itself names nobody ("noras" → nora). A run that names
several people or only nearly one keeps the candidates, so the bot can ask back.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from handlers.understanding.recognise import Found, Mention
from workers.errors import SmimeDoctorError
from workers.names import NameMatch

if TYPE_CHECKING:
    from workers.sources.directory import Directory

log = logging.getLogger("smime_doctor.people")
MAX_NAME_WORDS = 3  # "Anna Maria Schmidt": longer runs are looked up in pieces


class PeopleFinder:
    """One per message: names looked up once each (live AD answers each lookup with a search)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._seen: dict[str, list[NameMatch]] = {}

    def is_name(self, words: str) -> bool:
        """Whether `words` name someone: asked of words the lexicon also knows ("Fresh")."""
        return bool(self._called(words))

    def find(self, mention: Mention, asker: str | None = None) -> list[Found]:
        """The mention as one person, several, a near miss, or — when the whole run names nobody —
        the longest runs of its words that do ("leo legacy meldet" → Leo Legacy)."""
        whole = self._called(mention.text)
        words = mention.text.split()
        if whole or len(words) == 1:
            return [self._found(mention, whole, asker)]
        out: list[Found] = []
        i = 0
        while i < len(words):
            for j in range(min(len(words), i + MAX_NAME_WORDS), i, -1):
                part = self._part(mention, words, i, j)
                matches = self._called(part.text)
                if matches or j == i + 1:
                    found = self._found(part, matches, asker)
                    if found.matches or found.near:
                        if not (out and out[-1].person is not None and out[-1].person == found.person):
                            out.append(found)
                    elif not out or out[-1].mention.text != part.text:
                        out.append(found)
                    i = j
                    break
        return out or [Found(mention)]

    @staticmethod
    def _part(mention: Mention, words: list[str], i: int, j: int) -> Mention:
        return Mention(
            " ".join(words[i:j]),
            mention.position + i,
            mention.possessive,
            mention.role if i == 0 else None,
            mention.salient,
            mention.after_modal and i == 0,
            mention.after_check and i == 0,
        )

    def _found(self, mention: Mention, matches: list[NameMatch], asker: str | None) -> Found:
        word = mention.text
        if not matches and len(word) > 3 and word.endswith("s"):  # "noras", "stellas"
            matches = self._called(word[:-1])
            if matches:
                mention = replace(mention, possessive=True)
        if matches:
            is_asker = (
                asker is not None and len(matches) == 1 and matches[0].primary_smtp.lower() == asker.lower()
            )
            return Found(mention, tuple(matches), (), is_asker)
        near: list[NameMatch] = []
        if mention.salient and len(word) >= 4 and "@" not in word:
            try:
                near = self.directory.people_near(word)
                if not near and word.endswith("s"):  # "dieogs zertifikat": a possessive typo
                    near = self.directory.people_near(word[:-1])
            except SmimeDoctorError:
                near = []
        return Found(mention, (), tuple(near[:3]))

    def _called(self, words: str) -> list[NameMatch]:
        if words in self._seen:
            return self._seen[words]
        try:
            found = self.directory.people_called(words)
        except SmimeDoctorError as exc:  # a name the directory refuses (too long, control chars)
            log.info("people.lookup_refused", extra={"reason": type(exc).__name__})
            found = []
        self._seen[words] = found
        return found
