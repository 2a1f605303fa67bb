"""Chat targets are typed per platform and travel as JSON unchanged: what a producer writes is
what a transport reads, and keys one version does not know survive the other."""

from __future__ import annotations

from typing import Any

import pytest

from workers.targets import ConsoleTarget, SlackTarget, TeamsTarget, UnknownTarget, target_from_json

PRODUCED: list[dict[str, Any]] = [
    # a DM question answered in place (bot/slack/conversation.py)
    {
        "platform": "slack",
        "target_id": "Ev1",
        "user": "U1",
        "channel": "D1",
        "ts": "171.5",
        "text": "status",
        "lang": "de",
    },
    # App Home (refresh, keep the report)
    {"platform": "slack", "target_id": "home:U1", "user": "U1", "home": True, "home_cache": True},
    # the approvers' channel from the configuration, as the Notifier addresses it
    {"platform": "slack", "channel": "C0APPROVERS", "target_id": "R-1:approvers:0"},
    {"platform": "slack", "target_id": "x", "user": "U1", "channel": "C1", "ephemeral": True},
    {
        "platform": "teams",
        "target_id": "a1",
        "conversation_reference": {"conversation": {"id": "a:personal"}, "serviceUrl": "https://s/"},
        "activity_id": "1:2",
        "lang": "en",
    },
    {
        "platform": "console",
        "target_id": "abc",
        "session": "s1",
        "lang": "en",
        "stream": "smime:outbox:console:s1",
    },
]


@pytest.mark.parametrize("data", PRODUCED)
def test_every_target_a_producer_writes_round_trips_unchanged(data: dict[str, Any]) -> None:
    target = target_from_json(data)
    assert target.platform == data["platform"]
    assert target.to_json() == data


def test_typed_fields_are_what_the_transport_reads() -> None:
    slack = target_from_json(PRODUCED[0])
    assert isinstance(slack, SlackTarget) and (slack.channel, slack.ts, slack.lang) == ("D1", "171.5", "de")
    teams = target_from_json(PRODUCED[4])
    assert isinstance(teams, TeamsTarget) and teams.activity_id == "1:2"
    console = ConsoleTarget("abc", "en", None, session="s1")
    assert console.to_json() == {"platform": "console", "target_id": "abc", "lang": "en", "session": "s1"}


def test_keys_another_version_wrote_are_kept() -> None:
    newer = {"platform": "slack", "target_id": "t", "channel": "C1", "thread_ts": "9.9", "reaction": "eyes"}
    target = target_from_json(newer)
    assert target.extra == {"thread_ts": "9.9", "reaction": "eyes"}
    assert target.to_json() == newer


@pytest.mark.parametrize("data", [{}, {"platform": "irc", "target_id": "x"}, {"platform": None}])
def test_a_target_for_no_known_platform_is_our_own_error(data: dict[str, Any]) -> None:
    with pytest.raises(UnknownTarget):
        target_from_json(data)
