"""Fixtures for every test folder: a private redis-server, real RQ worker processes, and the
remediation tests' ``own_dc`` / ``live`` (a Samba AD DC of the module's own, ts.user restored).

The services live in tests/support/services.py, the remediation helpers in
tests/support/remediation.py (imported lazily here, so a broken production module fails only the
tests that need it, not collection of the whole suite). Under CI=true a missing redis-server or
Samba DC is a failure, never a skip (RedisServer.start, start_demo_dc). A module that defines a
fixture of the same name (several define their own ``live``) overrides these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.samba import dc as samba
from tests.support.services import RedisServer, Workers, start_demo_dc


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session's redis-server, flushed before and after the test."""
    from redis import Redis

    r = Redis.from_url(redis_server.url)
    r.flushall()
    yield redis_server.url
    r.flushall()


@pytest.fixture()
def workers(redis_url: str) -> Iterator[Workers]:
    """Real `smime-doctor worker` processes on ``redis_url`` (start them with ``workers.start(n)``)."""
    w = Workers(redis_url)
    yield w
    w.stop()


@pytest.fixture(scope="module")
def own_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[samba.DomainController]:
    """A DC of this module's own, loaded with the demo tenant. Any write stamps whenChanged (which
    the sync checks read and other files compare with the snapshot), so the session DC is never
    written; ts.user's certificates are still restored after every test that uses ``live``."""
    dc = start_demo_dc(tmp_path_factory.mktemp("remediation-dc"))
    try:
        yield dc
    finally:
        dc.stop()


@pytest.fixture
def live(
    own_dc: samba.DomainController, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    """This process (bot side, and run_execute called directly) on the live DC; ts.user restored after."""
    from redis import Redis

    from tests.samba.helpers import settings_for
    from tests.support.remediation import ad_env, certs_of, reset_directory_cache, restore
    from workers.sources.ad import AdSource

    for k, v in {**ad_env(own_dc), "SMIME_DOCTOR_REDIS_URL": redis_url}.items():
        monkeypatch.setenv(k, v)
    reset_directory_cache()
    with AdSource(settings_for(own_dc)) as ad:
        dn = ad.find_user("ts.user")[0]
    original = certs_of(own_dc, dn)
    assert len(original["userCertificate"]) == 20
    try:
        yield {"dc": own_dc, "dn": dn, "original": original, "redis": Redis.from_url(redis_url)}
    finally:
        reset_directory_cache()
        restore(own_dc, dn, original)
