"""Slack's message markup → the words the person typed, before the parser reads them.

Slack rewrites what people type (https://docs.slack.dev/messaging/formatting-message-text):
an address arrives as ``<mailto:a@b.com|a@b.com>``, a link as ``<https://…|label>``, a user
mention as ``<@U123ABC>`` or ``<@U123ABC|name>``, a channel as ``<#C123|name>``, @here and
friends as ``<!here>``, and ``&``, ``<``, ``>`` as ``&amp;``, ``&lt;``, ``&gt;``.

A typed address becomes the address; a link its label (what the person saw); a user mention
that user's verified e-mail — the same users.info lookup that tells who is asking
(bot/slack/people.py) — so "check @Stella" works for the helpdesk. Channels and broadcasts
are dropped. One pass, linear in the text; at most MAX_MENTION_LOOKUPS distinct users are
looked up per message (users.info is cached), the rest keep their name or id.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MAX_MENTION_LOOKUPS = 5

# a markup token, or an entity; [^<>] keeps every match local, so the scan is linear
_TOKEN = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def plain_text(text: str, email_of: Callable[[str], str | None]) -> str:
    """`text` without Slack markup; `email_of(user_id)` gives a mentioned user's verified e-mail or None."""
    looked_up: dict[str, str | None] = {}

    def mention(user_id: str) -> str | None:
        if user_id not in looked_up:
            if len(looked_up) >= MAX_MENTION_LOOKUPS:
                return None
            looked_up[user_id] = email_of(user_id)
        return looked_up[user_id]

    def replace(m: re.Match[str]) -> str:
        if m.group(2):
            return _ENTITIES[m.group(2)]
        target, _, label = m.group(1).partition("|")
        if target.startswith("@"):  # <@U123ABC>, <@W123ABC|name> (Enterprise Grid ids start with W)
            user_id = target[1:]
            return mention(user_id) or label.lstrip("@") or user_id
        if target.startswith(("#", "!")):  # <#C123|general>, <!here>, <!subteam^S1|@team>, <!date^…>
            return ""
        if target.lower().startswith("mailto:"):
            return target[len("mailto:") :].split("?", 1)[0]
        return label or target  # <https://contoso.example|contoso.example>

    return " ".join(_TOKEN.sub(replace, text).split())
