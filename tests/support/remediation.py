"""Shared by the remediation tests (tests/integration/test_remediation*.py, test_four_eyes.py,
test_audit_trail_privacy.py, tests/chat/test_execution_recovery.py): a Samba AD DC of the
module's own with the demo tenant (``own_dc``), this process pointed at it with ts.user's
certificates restored after each test (``live``), console chats over real RQ workers, and the
helpers that read a request's state, its audit events and a user's certificates.

The two fixtures are in tests/conftest.py (visible to every folder); ``own_dc`` is module-scoped,
so each module that uses it gets a DC of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ldap3

from handlers.approvals import Approvals
from handlers.identity import person_of
from handlers.policy import Policy
from tests.samba import dc as samba
from tests.samba.helpers import admin_connection, settings_for
from tests.support.services import Workers
from workers import jobs
from workers.approvals_store import ApprovalStore
from workers.config import Roles, load_settings
from workers.plan_types import Plan
from workers.remediation.plan import plan_reset
from workers.sources.ad import AdSource
from workers.sources.live import LiveDirectory

ROLES: dict[str, Any] = {
    "helpdesk": {"users": ["adele.vance@contoso.example"]},
    "approver": {"users": ["alex.wilber"]},
}
CERTS = ("userCertificate", "userSMIMECertificate")


def sha(v: bytes) -> str:
    return hashlib.sha256(v).hexdigest()


@contextlib.contextmanager
def console_chats(
    redis_url: str, env: dict[str, str], people: dict[str, str], roles: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """One real RQ worker with ``env``, and a console chat per name -> directory user with
    ``roles`` configured; ``chats`` and their ``outs`` (what each was told)."""
    from bot.console import ConsoleChat

    workers = Workers(redis_url, env)
    workers.start(1)
    settings = load_settings(redis_url=redis_url, demo=False, roles=roles)
    outs = {name: io.StringIO() for name in people}
    chats = {name: ConsoleChat(settings, user, out=outs[name]) for name, user in people.items()}
    try:
        yield {"chats": chats, "outs": outs}
    finally:
        for c in chats.values():
            c.close()
        workers.stop()


def ad_env(dc: samba.DomainController, servers: str | None = None) -> dict[str, str]:
    s = settings_for(dc)
    return {
        "SMIME_DOCTOR_DEMO": "false",
        "SMIME_DOCTOR_AD_SERVERS": servers or dc.ldaps_url,
        "SMIME_DOCTOR_AD_USER": str(s.user),
        "SMIME_DOCTOR_AD_PASSWORD": str(s.password),
        "SMIME_DOCTOR_AD_CA_FILE": str(s.ca_file),
        "SMIME_DOCTOR_AD_CONNECT_TIMEOUT": "2",
        "SMIME_DOCTOR_ROLES": json.dumps(ROLES),
    }


def certs_of(dc: samba.DomainController, dn: str) -> dict[str, list[bytes]]:
    with AdSource(settings_for(dc)) as ad:
        _, attrs = ad.read(dn, list(CERTS))
    return {a: list(attrs.get(a.lower(), [])) for a in CERTS}


def reset_directory_cache() -> None:
    for cached in (jobs._directory(None, False),) if jobs._directory.cache_info().currsize else ():
        if isinstance(cached, LiveDirectory):
            cached.close()
    jobs._directory.cache_clear()


def restore(dc: samba.DomainController, dn: str, original: dict[str, list[bytes]]) -> None:
    """Put ts.user's certificate attributes back exactly as the demo tenant has them."""
    current = certs_of(dc, dn)
    changes: dict[str, list[tuple[str, list[bytes]]]] = {}
    for attr in CERTS:
        extra = [v for v in current[attr] if v not in original[attr]]
        missing = [v for v in original[attr] if v not in current[attr]]
        ops = ([(ldap3.MODIFY_DELETE, extra)] if extra else []) + (
            [(ldap3.MODIFY_ADD, missing)] if missing else []
        )
        if ops:
            changes[attr] = ops
    if changes:
        conn = admin_connection(dc)
        try:
            assert conn.modify(dn, changes), conn.result
        finally:
            conn.unbind()
    assert certs_of(dc, dn) == {a: sorted(original[a]) for a in CERTS} or all(
        sorted(certs_of(dc, dn)[a]) == sorted(original[a]) for a in CERTS
    )


def approved_request(live: dict[str, Any]) -> tuple[str, Plan]:
    """A reset request for ts.user planned on the live DC and approved by alex.wilber (no chat)."""
    directory = LiveDirectory(AdSource(settings_for(live["dc"])))
    try:
        user = directory.find("ts.user")
        plan = plan_reset(user, datetime.now(UTC))
        approvals = Approvals(Policy(Roles.model_validate(ROLES)), live["redis"])
        request = approvals.open(plan.action, person_of(user), user.key, plan, {}, "console")
        outcome = approvals.decide(request.id, person_of(directory.find("alex.wilber")), True)
        assert outcome.state == "approved"
    finally:
        directory.close()
    return request.id, plan


def state(live: dict[str, Any], request_id: str) -> Any:
    return ApprovalStore(live["redis"]).get(request_id)


def audit_events(live: dict[str, Any], request_id: str) -> list[str]:
    entries = [json.loads(e[1][b"e"]) for e in live["redis"].xrange("smime:audit")]
    return [e["event"] for e in entries if e["request"] == request_id]
