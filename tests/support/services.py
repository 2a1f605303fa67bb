"""Real services for the tests: a private redis-server and real RQ worker processes.

The fixtures that start them (``redis_server``, ``redis_url``, ``workers``) are in tests/conftest.py,
visible to every test folder. Under CI=true a missing redis-server is a failure, never a skip.
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
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from workers.sources.live import LiveDirectory

from tests.samba import dc as samba
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]  # the repository (tests/support/services.py)


CI = os.environ.get("CI", "").lower() == "true"


def start_demo_dc(directory: Path) -> samba.DomainController:
    """Restore, start and load a Samba AD DC with the demo tenant (tests/samba/dc.py does the work).

    A failure fails the test under CI=true or as root, and skips it locally without root (the
    LDAP ports and apt need root)."""
    try:
        return samba.start_with_demo(directory)
    except (samba.SambaUnavailable, OSError, subprocess.SubprocessError) as exc:
        if CI or os.geteuid() == 0:
            pytest.fail(f"a Samba AD domain controller is required for these tests: {exc}")
        pytest.skip(f"Samba AD DC not available (not root: cannot install it or bind LDAP ports): {exc}")


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
        wait_until(
            lambda: len(Worker.all(connection=r)) >= count, timeout, f"{count} RQ worker(s) to register"
        )

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


def settled_jobs(redis_url: str, queue: str = "interactive", at_least: int = 1, timeout: float = 30) -> int:
    """How many jobs of ``queue`` finished, read once the workers are done with it.

    A worker publishes the answer from inside the job and records the job in the
    FinishedJobRegistry only after it returns, so an answer can arrive before the registry shows
    the job. Wait until at least ``at_least`` jobs are recorded and nothing is queued or running,
    then count."""
    from redis import Redis
    from rq import Queue
    from rq.registry import FinishedJobRegistry, StartedJobRegistry

    q = Queue(queue, connection=Redis.from_url(redis_url))
    finished, started = FinishedJobRegistry(queue=q), StartedJobRegistry(queue=q)
    wait_until(
        lambda: len(finished) >= at_least and q.count == 0 and len(started) == 0,
        timeout,
        f"{at_least} job(s) of queue {queue!r} to be recorded as finished and the queue to be idle",
    )
    return len(finished)


def live_ad_at(port: int, monkeypatch: pytest.MonkeyPatch) -> LiveDirectory:
    """A LiveDirectory whose only source is AD at 127.0.0.1:`port` (nothing, or a refusing
    listener, there): how a chat job meets a domain controller that is down."""
    from workers.sources.live import live_from_env  # deferred: a broken source must not stop collection

    monkeypatch.setenv("SMIME_DOCTOR_AD_SERVERS", f"ldaps://127.0.0.1:{port}")
    monkeypatch.setenv("SMIME_DOCTOR_AD_USER", "svc-smime@contoso.example")
    monkeypatch.setenv("SMIME_DOCTOR_AD_PASSWORD", "not-used")
    monkeypatch.setenv("SMIME_DOCTOR_AD_CONNECT_TIMEOUT", "1")
    for name in ("SMIME_DOCTOR_M365_TENANT", "SMIME_DOCTOR_M365_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    directory = live_from_env()
    assert directory is not None
    return directory
