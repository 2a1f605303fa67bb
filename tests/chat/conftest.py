"""Real services for the chat pipeline tests: a private redis-server and real RQ worker processes.

Under CI=true a missing redis-server is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """redis-server on a free loopback port, AOF on (as production must run it)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed (apt-get install redis-server)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.workdir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    from redis import Redis

    r = Redis.from_url(redis_server.url)
    r.flushall()
    yield redis_server.url
    r.flushall()


class Workers:
    """Real `smime-doctor worker` processes."""

    def __init__(self, redis_url: str, env_extra: dict[str, str] | None = None) -> None:
        self.redis_url = redis_url
        self.env_extra = env_extra or {}
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int = 1) -> list[subprocess.Popen[bytes]]:
        env = {
            **os.environ,
            "SMIME_DOCTOR_REDIS_URL": self.redis_url,
            "SMIME_DOCTOR_DEMO": "true",
            **self.env_extra,
        }
        started = []
        for _ in range(n):
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.procs.append(proc)
            started.append(proc)
        self.wait_registered(len([p for p in self.procs if p.poll() is None]))
        return started

    def wait_registered(self, count: int, timeout: float = 30) -> None:
        from redis import Redis
        from rq import Worker

        r = Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(Worker.all(connection=r)) >= count:
                return
            time.sleep(0.1)
        raise RuntimeError("RQ workers did not register")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and any work-horse (a forking worker puts the horse in its own
        process group): a crashed host, not a graceful stop."""
        import psutil

        children = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture()
def workers(redis_url: str) -> Iterator[Workers]:
    w = Workers(redis_url)
    yield w
    w.stop()
