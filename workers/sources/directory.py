"""Which directory a process reads: the configured snapshot, live sources, or the bundled demo tenant.

One rule for bot, workers and the command line: a snapshot (when configured) wins; otherwise
live sources when the environment configures them (SMIME_DOCTOR_AD_SERVERS and/or
SMIME_DOCTOR_M365_TENANT, see workers/sources/live.py); otherwise the demo tenant. Only a
live directory with AD can execute approved clean-ups (workers/remediation/execute.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from workers.config import Settings
from workers.demo_tenant import DATA_DIR
from workers.facts import GroupInfo, TenantFacts, UserFacts
from workers.names import NameMatch
from workers.sources.live import live_from_env
from workers.sources.snapshot import Snapshot

if TYPE_CHECKING:
    from workers.sources.ad import AdSource
    from workers.sources.exchange import ExchangeSource
    from workers.sources.graph import GraphSource


class Directory(Protocol):
    """What every directory source offers, offline (Snapshot) or live (LiveDirectory): the seam
    between the engine, the jobs, the executor and the chat side. `ad`/`exchange`/`graph` are the
    live sources a clean-up writes through; None where there is none (a snapshot is read-only)."""

    is_demo: bool
    ad: AdSource | None
    exchange: ExchangeSource | None
    graph: GraphSource | None

    @property
    def tenant(self) -> TenantFacts: ...

    def find(self, query: str) -> UserFacts: ...

    def sender(self, query: str) -> UserFacts: ...

    def resolve(self, query: str) -> str: ...

    def user(self, key: str) -> UserFacts: ...

    def iter_users(self) -> Iterator[UserFacts]: ...

    def people_called(self, name: str) -> list[NameMatch]: ...

    def people_near(self, name: str) -> list[NameMatch]: ...

    def find_groups(self, spec: str) -> list[GroupInfo] | None: ...

    def group_ids(self, facts: UserFacts) -> frozenset[str]: ...


def open_directory(snapshot: str | None = None, demo: bool = False) -> Directory:
    """A loaded directory source. With nothing configured this is the embedded default: the demo tenant."""
    if snapshot and not demo:
        directory = Snapshot(snapshot)
        return directory
    if not demo:
        live = live_from_env()
        if live is not None:
            return live

    directory = Snapshot(DATA_DIR)
    directory.is_demo = True
    return directory


@lru_cache(maxsize=4)
def _directory(snapshot: str | None, demo: bool) -> Directory:
    return open_directory(snapshot, demo)


def directory_for(settings: Settings) -> Directory:
    """The directory source of this process, loaded once and reused by every job."""
    return _directory(settings.snapshot, settings.demo)
