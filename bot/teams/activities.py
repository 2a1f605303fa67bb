"""Small helpers over Bot Framework activities: who (AAD object id + tenant), where
(conversation type, reference), and outgoing messages with cards.

Identity is the AAD object id and the tenant from the activity the channel signed; the
display name in `from` is never used to decide who someone is.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from botbuilder.core import CardFactory, MessageFactory, TurnContext
from botbuilder.schema import Activity, ConversationReference

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def aad_object_id(activity: Activity) -> str | None:
    sender = activity.from_property
    value = getattr(sender, "aad_object_id", None) if sender is not None else None
    return value.lower() if isinstance(value, str) and GUID.match(value) else None


def tenant_of(activity: Activity) -> str | None:
    """Teams puts the tenant in channelData.tenant.id and in conversation.tenantId."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (data.get("tenant") or {}).get("id") if isinstance(data.get("tenant"), dict) else None
    if not tenant and activity.conversation is not None:
        tenant = getattr(activity.conversation, "tenant_id", None)
    return str(tenant).lower() if tenant else None


def conversation_type(activity: Activity) -> str:
    """'personal', 'channel' or 'groupChat' (the emulator sends none: treat it as personal)."""
    conv = activity.conversation
    return str(getattr(conv, "conversation_type", None) or "personal") if conv is not None else "personal"


def reference_json(activity: Activity) -> dict[str, Any]:
    """The conversation reference as plain JSON (stored with the job, pickled by nobody)."""
    ref = TurnContext.get_conversation_reference(activity)
    return dict(ref.serialize())


def reference_from_json(data: dict[str, Any]) -> ConversationReference:
    return ConversationReference().deserialize(data)


def message(card: dict[str, Any] | None, summary: str) -> Activity:
    """A card message (with a one-line summary for notifications) or plain text."""
    if card is None:
        return MessageFactory.text(summary)
    activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
    activity.summary = summary[:200] or None
    return activity


def mention_stripped_text(activity: Activity) -> str:
    """The message text without the @mention of the bot (channels only deliver mentions)."""
    text = activity.text or ""
    if activity.recipient is not None and activity.recipient.id:
        with contextlib.suppress(KeyError, TypeError, AttributeError):
            text = TurnContext.remove_recipient_mention(activity) or ""
    text = re.sub(r"<at>[^<]*</at>", " ", text)
    return re.sub(r"\s+", " ", text).strip()
