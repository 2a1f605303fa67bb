"""The bundled demo snapshot: a fictional hybrid tenant "Contoso (demo)".

``DATA_DIR`` is an offline snapshot directory (see docs/snapshot.md) that the
command line, the embedded default and the tests can use without any credentials.
``EXPECTED_FILE`` lists, per user, the check statuses the snapshot is built to produce
when evaluated at ``COLLECTED_AT``. Regenerate with ``python scripts/make_demo_tenant.py``.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR: Path = Path(__file__).resolve().parent / "data"
EXPECTED_FILE: Path = DATA_DIR / "expected.json"
COLLECTED_AT = "2026-11-20T06:00:00Z"

__all__ = ["COLLECTED_AT", "DATA_DIR", "EXPECTED_FILE"]
