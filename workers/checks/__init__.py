"""The diagnostic catalogue. Importing this package registers every check."""

from workers.checks import addr, advice, cert, pki, publish, sender, sync_exo, trust  # noqa: F401
from workers.checks.base import REGISTRY, CheckSpec

# Present the catalogue in docs/checks.md's order, whatever order the modules were imported in.
FAMILY_ORDER = ("cert", "trust", "publish", "sync", "exo", "addr", "sender", "pki", "advice")
_ordered = sorted(REGISTRY.values(), key=lambda s: FAMILY_ORDER.index(s.family))
REGISTRY.clear()
REGISTRY.update((s.id, s) for s in _ordered)

__all__ = ["FAMILY_ORDER", "REGISTRY", "CheckSpec"]
