"""One message → one Intent: read the words, find the people, decide with the conversation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.understanding.people import PeopleFinder
from handlers.understanding.recognise import ContextView, Intent, decide, read

if TYPE_CHECKING:
    from workers.sources.directory import Directory


class Understander:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def understand(self, text: str, context: ContextView) -> Intent:
        """`context.asker` is the asker's primary SMTP address ("me", "mich", "my" are them).
        A finder per message: each name is looked up once, and concurrent messages share nothing."""
        finder = PeopleFinder(self.directory)
        reading = read(text, finder.is_name)
        found = [f for m in reading.mentions for f in finder.find(m, context.asker)]
        return decide(reading, found, context)
