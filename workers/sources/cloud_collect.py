"""Write the Exchange Online and Entra ID parts of a snapshot (docs/snapshot.md §1) from the live tenant.

The files hold the records exactly as the services returned them, so a snapshot taken
here and the live tenant give the same answers. Requests: one per 1,000 recipients plus
one for Get-SmimeConfig; one per 999 users plus one for the organization.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from workers.certs.encoding import decode_bytes
from workers.errors import EncodingError, SnapshotError
from workers.sources.exchange import ExchangeSource
from workers.sources.graph import GraphSource

EXO_RECIPIENTS = "exo-recipients.json"
EXO_SMIMECONFIG = "exo-smimeconfig.json"
ISSUING_CA_SST = "smime-issuing-ca.sst"
ENTRA_USERS = "entra-users.json"
ENTRA_ORGANIZATION = "entra-organization.json"


def write_cloud_snapshot(exchange: ExchangeSource, graph: GraphSource, out_dir: Path) -> None:
    """Collect recipients, Get-SmimeConfig, users and the organization into ``out_dir``.

    Everything is fetched before anything is written, and each file is replaced atomically,
    so a failure (raised as one of our errors) never leaves a half-written snapshot behind.
    ``smime-issuing-ca.sst`` is written only when the tenant has an issuing-CA store.
    """
    recipients = list(exchange.iter_recipients())
    smime_config = exchange.get_smime_config()
    users = list(graph.iter_users())
    organization = graph.get_organization()

    sst: bytes | None = None
    value = smime_config.get("SMIMECertificateIssuingCA")
    if value not in (None, "", []):
        try:
            sst = decode_bytes(value)
        except EncodingError:
            sst = None  # the JSON keeps the value as it came; the snapshot reader reports it

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / EXO_RECIPIENTS, {"value": recipients})
        _write_json(out / EXO_SMIMECONFIG, smime_config)
        _write_json(out / ENTRA_USERS, {"value": users})
        _write_json(out / ENTRA_ORGANIZATION, organization)
        if sst is not None:
            _write_bytes(out / ISSUING_CA_SST, sst)
        else:
            (out / ISSUING_CA_SST).unlink(missing_ok=True)  # a stale store from an earlier run would win
    except OSError as exc:
        raise SnapshotError(f"cannot write the snapshot to {out}: {exc.strerror or exc}") from None


def _write_json(path: Path, data: Any) -> None:
    _write_bytes(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
