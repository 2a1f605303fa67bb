"""An Exchange Online endpoint that cannot be reached is its own error: execution treats it as
"retry later" (the request stays approved), not as a failed clean-up."""

from __future__ import annotations

import socket

import pytest

from workers.errors import SourceUnreachableError
from workers.sources.exchange import ExchangeSource
from workers.sources.m365_auth import RetryPolicy


class Tokens:
    def token(self, scope: str) -> str:
        return "not-a-real-token"

    def invalidate(self, scope: str, token: str) -> None:
        return None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_exchange_online_raises_source_unreachable() -> None:
    source = ExchangeSource(
        "contoso.onmicrosoft.com",
        Tokens(),
        base_url=f"https://127.0.0.1:{closed_port()}",
        retry=RetryPolicy(attempts=1),
        timeout=2,
    )
    with pytest.raises(SourceUnreachableError, match="could not be reached"):
        source.get_smime_config()
