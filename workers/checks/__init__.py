"""The diagnostic catalogue. Importing this package registers every check (CHECKS.md order)."""

from workers.checks import (  # noqa: F401
    addr,  # noqa: F401  (after sync/exo, as in CHECKS.md)
    advice,
    cert,
    publish,
    sender,
    sync_exo,
    trust,
)
from workers.checks.base import REGISTRY, CheckSpec

__all__ = ["REGISTRY", "CheckSpec"]
