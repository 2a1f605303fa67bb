"""The tenant the Microsoft 365 emulator serves: Exchange Online recipients and settings, Graph users.

Loaded from a snapshot folder (docs/snapshot.md §1; the bundled demo tenant by default) or
generated in memory (``synthetic_tenant``) for request-count benchmarks.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workers.certs.encoding import decode_byte_list
from workers.errors import EncodingError
from workers.sources.parsing import load_json_records

CERT_PROPS = ("UserCertificate", "UserSMimeCertificate")
DEFAULT_OWA_POLICY = {
    "Identity": "OwaMailboxPolicy-Default",
    "Name": "OwaMailboxPolicy-Default",
    "IsDefault": True,
    "OWALightEnabled": True,
    "ClassicAttachmentsEnabled": True,
    "WacViewingOnPublicComputersEnabled": True,
}


@dataclass
class Tenant:
    domain: str  # the *.onmicrosoft.com name
    tenant_id: str
    recipients: list[dict[str, Any]]
    smime_config: dict[str, Any]
    users: list[dict[str, Any]]
    organization: dict[str, Any]
    owa_policies: list[dict[str, Any]] = field(default_factory=lambda: [dict(DEFAULT_OWA_POLICY)])
    # Entra groups: id, displayName, securityEnabled, onPremisesSecurityIdentifier and "members"
    # (object ids of users and of nested groups; the emulator's own field, not sent on the wire)
    groups: list[dict[str, Any]] = field(default_factory=list)

    def transitive_groups(self, object_id: str) -> list[dict[str, Any]]:
        """Every group that holds object_id directly or through nested groups (transitiveMemberOf)."""
        found: dict[str, dict[str, Any]] = {}
        frontier = {object_id.lower()}
        while frontier:
            holders = [
                g
                for g in self.groups
                if str(g["id"]).lower() not in found
                and frontier & {str(m).lower() for m in g.get("members", [])}
            ]
            frontier = {str(g["id"]).lower() for g in holders}
            found.update((str(g["id"]).lower(), g) for g in holders)
        return list(found.values())

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self.recipient_index: dict[str, list[int]] = {}
        for i, r in enumerate(self.recipients):
            names = [
                r.get(k) for k in ("Identity", "Name", "Alias", "PrimarySmtpAddress", "UserPrincipalName")
            ]
            names.append(r.get("ExternalDirectoryObjectId"))
            names += [_strip_smtp(a) for a in _as_list(r.get("EmailAddresses"))]
            for n in {str(n).lower() for n in names if n}:
                self.recipient_index.setdefault(n, []).append(i)
        self.user_index: dict[str, int] = {}
        for i, u in enumerate(self.users):
            for key in (u.get("id"), u.get("userPrincipalName")):
                if key:
                    self.user_index[str(key).lower()] = i

    def find_recipients(self, identity: str) -> list[dict[str, Any]]:
        return [self.recipients[i] for i in self.recipient_index.get(identity.strip().lower(), [])]

    def is_tenant(self, name: str) -> bool:
        return name.lower() in (self.domain.lower(), self.tenant_id.lower())


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([] if value is None else [value])


def _strip_smtp(address: Any) -> str:
    text = str(address)
    return text.split(":", 1)[1] if text.lower().startswith("smtp:") else text


def wire_bytes(value: Any) -> Any:
    """A byte-valued property as the REST admin API sends it: a list of base64 strings.

    A value the emulator cannot decode is served as it came, so malformed exports stay malformed.
    """
    if value is None:
        return None
    try:
        return [base64.b64encode(b).decode() for b in decode_byte_list(value)]
    except EncodingError:
        return value


def load_tenant(snapshot_dir: Path) -> Tenant:
    """A tenant from a snapshot folder: exo-*.json, smime-issuing-ca.sst, entra-*.json, snapshot.json."""
    snapshot_dir = Path(snapshot_dir)

    def records(name: str) -> list[dict[str, Any]]:
        path = snapshot_dir / name
        return load_json_records(path) if path.is_file() else []

    recipients = []
    for r in records("exo-recipients.json"):
        r = copy.deepcopy(r)
        for prop in CERT_PROPS:
            if prop in r:
                r[prop] = wire_bytes(r[prop])
        recipients.append(r)
    configs = records("exo-smimeconfig.json")
    smime_config = configs[0] if configs else {"Identity": "SmimeConfig", "Name": "SmimeConfig"}
    sst = snapshot_dir / "smime-issuing-ca.sst"
    if sst.is_file():  # the raw store wins over the JSON copy (docs/snapshot.md)
        smime_config["SMIMECertificateIssuingCA"] = base64.b64encode(sst.read_bytes()).decode()
    orgs = records("entra-organization.json")
    organization = orgs[0] if orgs else {"id": str(uuid.uuid4()), "displayName": "Emulated"}
    meta_path = snapshot_dir / "snapshot.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    domain = str(meta.get("tenant") or "contoso.onmicrosoft.com")
    return Tenant(
        domain=domain,
        tenant_id=str(organization.get("id") or uuid.uuid4()),
        recipients=recipients,
        smime_config=smime_config,
        users=records("entra-users.json"),
        organization=organization,
    )


def synthetic_tenant(count: int, *, domain: str = "synthetic.onmicrosoft.com") -> Tenant:
    """``count`` synced mailbox users with one certificate each (a few reused DER blobs)."""
    blobs = [base64.b64encode(der).decode() for der in _certificates(3)]
    recipients, users = [], []
    synced = (datetime(2026, 11, 20, 5, 35, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for i in range(count):
        oid = str(uuid.UUID(int=0x5EED0000000000000000000000000000 + i))
        alias = f"user{i:05d}"
        smtp = f"{alias}@synthetic.example"
        recipients.append(
            {
                "Identity": alias,
                "Name": alias,
                "Alias": alias,
                "DisplayName": f"User {i:05d}",
                "PrimarySmtpAddress": smtp,
                "EmailAddresses": [f"SMTP:{smtp}"],
                "UserPrincipalName": smtp,
                "ExternalDirectoryObjectId": oid,
                "RecipientTypeDetails": "UserMailbox",
                "IsDirSynced": True,
                "HiddenFromAddressListsEnabled": False,
                "UserCertificate": [blobs[i % len(blobs)]],
                "UserSMimeCertificate": [],
                "WhenChangedUTC": synced,
            }
        )
        users.append(
            {
                "id": oid,
                "displayName": f"User {i:05d}",
                "userPrincipalName": smtp,
                "mail": smtp,
                "mailNickname": alias,
                "proxyAddresses": [f"SMTP:{smtp}"],
                "onPremisesSyncEnabled": True,
                "onPremisesImmutableId": base64.b64encode(uuid.UUID(oid).bytes_le).decode(),
                "onPremisesDistinguishedName": f"CN={alias},OU=Users,DC=synthetic,DC=example",
                "onPremisesSamAccountName": alias,
                "onPremisesLastSyncDateTime": synced,
                "onPremisesProvisioningErrors": [],
                "serviceProvisioningErrors": [],
            }
        )
    org_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, domain))
    org: dict[str, Any] = {
        "id": org_id,
        "displayName": "Synthetic",
        "onPremisesSyncEnabled": True,
        "onPremisesLastSyncDateTime": synced,
        "verifiedDomains": [{"name": domain, "isInitial": True}],
    }
    return Tenant(domain, org_id, recipients, {"Identity": "SmimeConfig", "Name": "SmimeConfig"}, users, org)


def _certificates(n: int) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    out = []
    for i in range(n):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Synthetic {i}")])
        now = datetime(2026, 1, 1, tzinfo=UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        out.append(cert.public_bytes(serialization.Encoding.DER))
    return out
