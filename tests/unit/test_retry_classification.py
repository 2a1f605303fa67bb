"""One retry classification: what may pass (an unreachable or throttling source) is `Retryable`
and is retried by chat jobs and executions alike; everything else is final at once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.services import live_ad_at
from workers import errors
from workers.answers import TextAnswer
from workers.remediation.execute import ExecutionDeferred


@pytest.mark.parametrize(
    "cls",
    [
        errors.AdConnectionError,
        errors.AdAuditInterrupted,
        errors.ThrottledError,
        errors.SourceUnreachableError,
        errors.SourceUnavailable,
        ExecutionDeferred,
    ],
)
def test_what_may_pass_is_retryable(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.Retryable)


@pytest.mark.parametrize(
    "cls",
    [
        errors.AdAuthError,
        errors.AdPermissionError,
        errors.UnknownUserError,
        errors.AuthError,
        errors.GraphError,
    ],
)
def test_what_cannot_pass_is_final(cls: type[Exception]) -> None:
    assert not issubclass(cls, errors.Retryable)


class RefusingServer:
    """A loopback port that accepts TCP connections and closes them at once (a DC that is down
    behind its load balancer), counting how often it was tried."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def refusing() -> Iterator[RefusingServer]:
    server = RefusingServer()
    yield server
    server.close()


def test_a_chat_job_retries_an_unreachable_directory_before_it_answers(
    refusing: RefusingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's promise: transient source errors in chat jobs are retried (they were not: only
    ExecutionDeferred was). One diagnosis tries the DC N times; the job tries it 3 × N."""
    from workers import jobs

    directory = live_ad_at(refusing.port, monkeypatch)
    try:
        directory.tenant  # noqa: B018  (read once: the tenant facts are cached, users are not)
        spec = {"kind": "diagnose", "subject": "alice", "lang": "en"}
        before = refusing.accepted
        with pytest.raises(errors.SourceUnavailable):
            jobs.compute_answer(spec, directory)
        once = refusing.accepted - before
        assert once >= 1
        before = refusing.accepted
        answer = jobs.answer_or_error(spec, directory)
        assert isinstance(answer, TextAnswer) and f"tried {jobs.TRANSIENT_ATTEMPTS} times" in answer.text
        assert refusing.accepted - before == jobs.TRANSIENT_ATTEMPTS * once
    finally:
        directory.close()
