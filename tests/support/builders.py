"""Small fact builders: test one check without the demo tenant.

Certificates come from tests/support/pki_factory.py (one cached test CA), published values
are parsed the way sources parse them (``PublishedValue.from_bytes``), and the directory
objects are ``workers.facts`` dataclasses with plain defaults for one user, so a test names
only what its check judges::

    alice = user_facts(user_certificate=[cert(not_after=NOW - timedelta(days=1))])
    [finding] = run_check("cert.validity", alice)
    assert finding.status == "fail" and finding.title == "Certificate expired"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import workers.checks  # noqa: F401  (registers every check in REGISTRY)
from tests.support.pki_factory import Issued, make_ca, make_leaf, outlook_pkcs7
from workers.checks.base import REGISTRY, Context
from workers.facts import (
    AD_SMIME_CERT,
    AD_USER_CERT,
    EXO_SMIME_CERT,
    EXO_USER_CERT,
    AdUser,
    EntraUser,
    ExoRecipient,
    PublishedValue,
    TenantFacts,
    UserFacts,
)
from workers.report import Finding

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # the instant the checks judge
DOMAIN = "contoso.example"


@cache
def issuing_ca() -> Issued:
    """One issuing CA for every built certificate (RSA keys are slow to make; cached per run)."""
    return make_ca(
        "Builders Issuing CA",
        organization="Contoso Test",
        not_before=NOW - timedelta(days=3 * 365),
        not_after=NOW + timedelta(days=10 * 365),
    )


def cert(
    email: str | None = f"alice@{DOMAIN}",
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    issuer: Issued | None = None,
    **leaf: Any,
) -> Issued:
    """An S/MIME end-entity certificate for ``email``, valid from 180 days before NOW for a year
    after it unless dates are given; other make_leaf arguments pass through (key_usage_flags,
    eku, is_ca, ...)."""
    name = (email or "nobody").split("@")[0]
    return make_leaf(
        issuer or issuing_ca(),
        name,
        emails=[email] if email else [],
        not_before=not_before or NOW - timedelta(days=180),
        not_after=not_after or NOW + timedelta(days=365),
        **leaf,
    )


def smime_blob(certificates: Sequence[Issued], default: Issued | None = None) -> bytes:
    """An Outlook "Publish to GAL" PKCS#7 blob with ``certificates``, marking ``default``."""
    return outlook_pkcs7(list(certificates), signer=certificates[0], default=default)


def published(location: str, items: Iterable[Issued | bytes]) -> list[PublishedValue]:
    """The values of one attribute as a source would parse them (index = position)."""
    return [
        PublishedValue.from_bytes(location, i, item.der if isinstance(item, Issued) else item)
        for i, item in enumerate(items)
    ]


def ad_user(name: str = "alice", **fields: Any) -> AdUser:
    """An on-premises AD user with consistent names: mail, UPN, primary SMTP and mailNickname
    all ``name@contoso.example`` / ``name``. Keyword arguments override any AdUser field."""
    address = f"{name}@{DOMAIN}"
    defaults: dict[str, Any] = {
        "dn": f"CN={name},OU=Users,DC=contoso,DC=example",
        "object_guid": "00000000-0000-4000-8000-000000000001",
        "sam": name,
        "upn": address,
        "mail": address,
        "proxy_addresses": [f"SMTP:{address}"],
        "mail_nickname": name,
        "display_name": name.replace(".", " ").title(),
        "object_classes": ["top", "person", "organizationalPerson", "user"],
        "when_changed": NOW - timedelta(days=30),
        "user_account_control": 512,
    }
    return AdUser(**{**defaults, **fields})


def exo_recipient(name: str = "alice", **fields: Any) -> ExoRecipient:
    address = f"{name}@{DOMAIN}"
    defaults: dict[str, Any] = {
        "identity": name,
        "alias": name,
        "display_name": name.replace(".", " ").title(),
        "primary_smtp": address,
        "email_addresses": [f"SMTP:{address}"],
        "upn": address,
        "type_details": "UserMailbox",
        "is_dir_synced": True,
        "when_changed": NOW - timedelta(days=30),
    }
    return ExoRecipient(**{**defaults, **fields})


def entra_user(name: str = "alice", **fields: Any) -> EntraUser:
    address = f"{name}@{DOMAIN}"
    defaults: dict[str, Any] = {
        "id": "11111111-2222-4333-8444-555555555555",
        "upn": address,
        "mail": address,
        "mail_nickname": name,
        "display_name": name.replace(".", " ").title(),
        "proxy_addresses": [f"SMTP:{address}"],
        "sync_enabled": True,
        "last_sync": NOW - timedelta(minutes=20),
    }
    return EntraUser(**{**defaults, **fields})


_NO = object()


def user_facts(
    name: str = "alice",
    *,
    ad: AdUser | None | object = _NO,
    exo: ExoRecipient | None = None,
    entra: EntraUser | None = None,
    user_certificate: Iterable[Issued | bytes] = (),
    smime_certificate: Iterable[Issued | bytes] = (),
    exo_user_certificate: Iterable[Issued | bytes] = (),
    exo_smime_certificate: Iterable[Issued | bytes] = (),
) -> UserFacts:
    """One user's facts: an AD object (``ad_user(name)`` unless ``ad`` is given; ``ad=None`` for a
    cloud-only recipient) and the published certificate values per attribute."""
    values = [
        *published(AD_USER_CERT, user_certificate),
        *published(AD_SMIME_CERT, smime_certificate),
        *published(EXO_USER_CERT, exo_user_certificate),
        *published(EXO_SMIME_CERT, exo_smime_certificate),
    ]
    return UserFacts(
        key=name,
        ad=ad_user(name) if ad is _NO else ad,  # type: ignore[arg-type]
        exo=exo,
        entra=entra,
        values=values,
    )


def tenant_facts(**fields: Any) -> TenantFacts:
    """Tenant facts collected at NOW for contoso.example; keyword arguments override any field."""
    defaults: dict[str, Any] = {"collected_at": NOW, "tenant_domains": {DOMAIN}}
    return TenantFacts(**{**defaults, **fields})


def context(
    tenant: TenantFacts | None = None, *, now: datetime = NOW, lang: str = "en", **fields: Any
) -> Context:
    return Context(now=now, lang=lang, tenant=tenant or tenant_facts(), **fields)


def run_check(check_id: str, user: UserFacts, ctx: Context | None = None) -> list[Finding]:
    """The findings one registered check yields for ``user`` (no engine, no other checks)."""
    return list(REGISTRY[check_id].fn(user, ctx or context()))
