"""The chat road end to end on real Redis and real RQ worker processes (console transport).

What a person notices: every question gets exactly one answer, in their language, from the
worker pool; refusals say why; asking twice runs once; answers survive a bot restart and a
worker crash; a Redis outage gets a polite sentence instead of silence.
"""

from __future__ import annotations

import io
import json
import time

import pytest
from redis import Redis

from bot.app import build_app
from bot.console import ConsoleChat
from handlers.types import ChatRequest
from tests.support.faults import fault_env
from tests.support.services import Workers, settled_jobs
from tests.support.waiting import wait_until
from workers.config import load_settings

ROLES = {"helpdesk": {"users": ["adele.vance@contoso.example"]}, "approver": {"users": ["alex.wilber"]}}


def chat(
    redis_url: str, as_user: str, lang: str | None = None, **settings_overrides: object
) -> tuple[ConsoleChat, io.StringIO]:
    out = io.StringIO()
    settings = load_settings(redis_url=redis_url, demo=True, roles=ROLES, **settings_overrides)
    return ConsoleChat(settings, as_user, lang, out=out), out


def answers(out: io.StringIO) -> list[str]:
    return [block for block in out.getvalue().split("bot> ") if block.strip()]


def test_conversation_in_english_and_german_through_workers(redis_url: str, workers: Workers) -> None:
    workers.start(2)
    c, out = chat(redis_url, "stale.smime")
    try:
        assert c.say("is my cert published?").reply.kind == "ack"
        assert c.say("why can't alex.wilber encrypt to me").reply.kind == "ack"
        assert c.say("reset my published certs").reply.kind == "ack"
        assert c.say("check adele.vance").reply.kind == "refusal"
        assert c.say("what is the weather like?").reply.kind == "help"
        assert c.say("what is this?").reply.kind == "answer"  # what the bot is for
        assert c.say("ist mein Zertifikat veröffentlicht?").reply.kind == "ack"
        assert c.say("warum kann alex.wilber mir nicht verschlüsselt schreiben?").reply.kind == "ack"
    finally:
        c.close()
    blocks = answers(out)
    text = out.getvalue()
    # her own answer names the root cause, the step to take in chat, and when it will work
    assert (
        "✗ No — stale.smime@contoso.example: A stale Outlook publication hides your current certificate."
        in text
    )
    assert "What to do: Say 'reset my published certs'" in text and "When it works:" in text
    assert "No — alex.wilber@contoso.example cannot encrypt to stale.smime@contoso.example" in text
    assert "remove 1 value(s), keep 1" in text and "waits for an approver" in text
    assert "Only helpdesk staff may look at other people's certificates" in text
    assert "Closest commands" in text
    assert (
        "Nein — stale.smime@contoso.example: Eine veraltete Outlook-Veröffentlichung verdeckt Ihr aktuelles Zertifikat."
        in text
    )
    assert (
        "Nein — alex.wilber@contoso.example kann nicht an stale.smime@contoso.example verschlüsseln" in text
    )
    # each question that needed a job got its "one moment" and then exactly one answer
    assert sum(b.startswith(("✗", "✓", "!")) for b in blocks) == 4
    assert settled_jobs(redis_url, at_least=5) == 5  # the workers did the work


def test_helpdesk_checks_others_and_audits(redis_url: str, workers: Workers) -> None:
    workers.start(1)
    c, out = chat(redis_url, "adele.vance")
    try:
        assert c.say("check stale.smime").reply.kind == "ack"
        assert c.say("audit").reply.kind == "ack"
        assert c.say("prüfe no.nickname").reply.kind == "ack"
        assert c.say("Adele Vance's status").reply.kind in ("help", "ack")
    finally:
        c.close()
    text = out.getvalue()
    assert "✗ No — stale.smime@contoso.example" in text
    assert "Audit: 43 users" in text
    assert "mailNickname ist leer" in text


def test_help_shows_only_what_the_asker_may_do(redis_url: str) -> None:
    user, out_user = chat(redis_url, "stale.smime")
    helpdesk, out_helpdesk = chat(redis_url, "adele.vance")
    try:
        user.say("help")
        helpdesk.say("hilfe")
    finally:
        user.close()
        helpdesk.close()
    assert "check <user>" not in out_user.getvalue() and "is my cert published?" in out_user.getvalue()
    assert "prüfe <Benutzer>" in out_helpdesk.getvalue() and "welche Benutzer" in out_helpdesk.getvalue()


def test_ambiguous_and_unknown_names_are_questions_not_errors(redis_url: str) -> None:
    c, out = chat(redis_url, "adele.vance")
    try:
        assert c.say("check nobody.here").reply.kind == "error"
        r = Redis.from_url(redis_url)
        assert r.llen("rq:queue:interactive") == 0  # nothing was queued for a name that matches nobody
    finally:
        c.close()
    assert "I found nobody called 'nobody.here'" in out.getvalue()


def test_same_question_twice_runs_once_and_answers_both(redis_url: str, workers: Workers) -> None:
    settings = load_settings(redis_url=redis_url, demo=True, roles=ROLES)
    delivered: list[dict] = []

    class Sink:
        platform = "test"

        def deliver(self, target: dict, answer: dict) -> None:
            delivered.append({"target": target["target_id"], "type": answer["type"]})

    app = build_app(settings, {"test": Sink()})
    try:
        replies = []
        for n in range(2):
            req = ChatRequest("console", "stale.smime", "is my cert published?", {}, None, f"req-{n}")
            reply = app.dispatcher.handle(req)
            assert reply.job is not None
            app.dispatcher.submit(reply.job, {"platform": "test", "target_id": f"t{n}"})
            replies.append(reply)
        assert replies[0].job.job_id == replies[1].job.job_id  # type: ignore[union-attr]
        workers.start(1)
        deadline = time.monotonic() + 60
        while len(delivered) < 2 and time.monotonic() < deadline:
            app.delivery.run_once(timeout=0.5)
        assert sorted(d["target"] for d in delivered) == ["t0", "t1"]
        # both answers can be out before the worker records the job as finished (it does that
        # after the job returns): count once the queue is idle, not at once
        assert settled_jobs(redis_url, at_least=1) == 1
        # asked a third time after it finished: answered from the stored answer, no new job
        req = ChatRequest("console", "stale.smime", "is my cert published?", {}, None, "req-3")
        reply = app.dispatcher.handle(req)
        assert reply.job is not None
        app.dispatcher.submit(reply.job, {"platform": "test", "target_id": "t3"})
        deadline = time.monotonic() + 10
        while len(delivered) < 3 and time.monotonic() < deadline:
            app.delivery.run_once(timeout=0.2)
        assert [d["target"] for d in delivered].count("t3") == 1
        assert settled_jobs(redis_url, at_least=1) == 1  # still the one job: nothing new queued or run
    finally:
        app.close()


def test_answer_survives_a_bot_restart_and_is_delivered_once(redis_url: str, workers: Workers) -> None:
    settings = load_settings(redis_url=redis_url, demo=True, roles=ROLES)
    delivered: list[str] = []

    class Sink:
        platform = "test"

        def deliver(self, target: dict, answer: dict) -> None:
            delivered.append(target["target_id"])

    first = build_app(settings, {"test": Sink()}, consumer="bot-a")
    reply = first.dispatcher.handle(
        ChatRequest("console", "adele.vance", "check stale.smime", {}, None, "r1")
    )
    assert reply.job is not None
    first.dispatcher.submit(reply.job, {"platform": "test", "target_id": "before-restart"})
    first.outbox.ensure_group()
    first.close()  # the bot goes down before the worker answers
    workers.start(1)
    r = Redis.from_url(redis_url)
    wait_until(lambda: r.xlen(settings.outbox_stream) > 0, 60, "the worker's answer in the outbox")
    # The bot comes back: it reads the answer, delivers, then "crashes" before acknowledging.
    second = build_app(settings, {"test": Sink()}, consumer="bot-a")
    entries = list(second.outbox.read(timeout=1))
    assert len(entries) == 1
    second.delivery._deliver(entries[0])
    assert delivered == ["before-restart"]
    r.xgroup_setid(settings.outbox_stream, "bot", id="0")  # pretend the ack was lost
    r.xclaim(settings.outbox_stream, "bot", "bot-a", 0, [entries[0].entry_id])
    third = build_app(settings, {"test": Sink()}, consumer="bot-a")
    for _ in range(3):
        third.delivery.run_once(timeout=0.2)
    assert delivered == ["before-restart"]  # redelivered entry recognised, not shown twice
    second.close()
    third.close()


def test_worker_killed_mid_job_is_retried_and_answers_once(redis_url: str) -> None:
    slow = Workers(redis_url, fault_env("job", 4))
    try:
        [victim] = slow.start(1)
        c, out = chat(
            redis_url, "stale.smime", job_timeout_s=10
        )  # RQ re-runs a job whose lease (timeout + 60 s) lapsed
        try:
            reply = c.app.dispatcher.handle(
                ChatRequest(
                    "console", "stale.smime", "is my cert published?", {"session": c.session}, None, "k1"
                )
            )
            assert reply.job is not None
            target = {
                "platform": "console",
                "session": c.session,
                "target_id": "k1",
                "lang": "en",
                "stream": c.stream,
            }
            done = c.transport.expect("k1")
            c.app.dispatcher.submit(reply.job, target)
            r = Redis.from_url(redis_url)
            deadline = time.monotonic() + 20
            from rq.job import Job

            while (
                Job.fetch(reply.job.job_id, connection=r).get_status() != "started"
                and time.monotonic() < deadline
            ):
                time.sleep(0.1)
            slow.kill(victim)  # the host dies with the job half done
            slow.start(1)  # a surviving worker takes over after the lost job's heartbeat lapses
            assert done.wait(150), "the retried job never answered"
            time.sleep(1)
        finally:
            c.close()
        assert out.getvalue().count("✗ No — stale.smime@contoso.example") == 1
    finally:
        slow.stop()


def test_redis_unavailable_gets_a_sentence_and_the_bot_keeps_running(tmp_path) -> None:
    from tests.support.services import free_port

    out = io.StringIO()
    settings = load_settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", demo=True, roles=ROLES)
    c = ConsoleChat(settings, "stale.smime", None, out=out)
    try:
        assert c.say("is my cert published?").reply.kind == "unavailable"
        assert c.say("help").reply.kind == "help"  # still answering what needs no queue
        assert c.say("ist mein Zertifikat veröffentlicht?").reply.kind == "unavailable"
    finally:
        c.close()
    text = out.getvalue()
    assert "The service is unavailable right now; please try again in a minute." in text
    assert "Der Dienst ist gerade nicht erreichbar" in text


def test_in_process_default_needs_no_redis() -> None:
    out = io.StringIO()
    c = ConsoleChat(load_settings(demo=True, roles=ROLES), "adele.vance", "de", out=out)
    try:
        assert c.say("check ts.user").reply.kind == "ack"
    finally:
        c.close()
    assert "Nein — ts.user@contoso.example" in out.getvalue()


@pytest.mark.parametrize("unused", [None])
def test_outbox_entries_are_json(redis_url: str, workers: Workers, unused: None) -> None:
    """Workers publish plain JSON (the Report contract), nothing pickled, no chat secrets."""
    workers.start(1)
    c, _ = chat(redis_url, "adele.vance")
    try:
        c.say("is my cert published?")
    finally:
        c.close()
    r = Redis.from_url(redis_url)
    streams = [k.decode() for k in r.keys("smime:outbox*")]
    [(_, fields)] = r.xrange(streams[0])
    message = json.loads(fields[b"m"])
    assert message["answer"]["report"]["schema"] == 1 and message["target"]["platform"] == "console"
