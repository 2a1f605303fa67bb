#!/usr/bin/python3
"""Direct writes into a Samba AD database, run with the *system* Python (it needs Samba's bindings).

Why not over LDAP: a few things a test tenant needs cannot be done over the wire — keeping
the demo's ``objectGUID`` (Samba honours it only with the relax control, which its LDAP
server does not accept) and giving users the demo's ``whenChanged`` (always stamped by the
replication module). Locally, SamDB takes the relax control, and ``whenChanged`` is patched
in the partition file with no modules loaded. Samba-tool does the same while a DC runs.

Usage (paths absolute):
    samdb_tool.py extend-schema SMB_CONF
    samdb_tool.py load-tenant SMB_CONF AD_LDIF AD_CONFIG_LDIF PASSWORD
    samdb_tool.py bulk-users SMB_CONF OU_DN COUNT CERT_DER_FILE
"""

from __future__ import annotations

import base64
import os
import sys

import ldb  # type: ignore[import-not-found]
from samba.auth import system_session  # type: ignore[import-not-found]
from samba.param import LoadParm  # type: ignore[import-not-found]
from samba.samdb import SamDB  # type: ignore[import-not-found]

# Test OIDs under the documentation arc 1.3.6.1.4.1.32473 (RFC 5612), not Exchange's own.
OID_BASE = "1.3.6.1.4.1.32473.1.77"
STRING = ("2.5.5.12", "64")  # Unicode string, as Exchange defines these
BOOLEAN = ("2.5.5.8", "1")
# (name, syntax, rangeUpper) — Exchange's own limits: mailNickname 64, extensionAttributeN 1024.
EXCHANGE_ATTRS = [("mailNickname", STRING, 64), ("msExchHideFromAddressLists", BOOLEAN, None)] + [
    (f"extensionAttribute{i}", STRING, 1024) for i in range(1, 16)
]
SYSTEM_STAMPED = {"whenchanged", "whencreated", "memberof", "objectguid"}
# The schema's rangeUpper for the certificate attributes; the demo has one oversized value on
# purpose (publish.attr_size), which only a raw write can store.
RANGE_UPPER = 32768
Patch = tuple[str, dict[str, list[bytes]]]  # dn, attribute -> values to replace raw


def open_samdb(conf: str) -> tuple[SamDB, LoadParm]:
    lp = LoadParm()
    lp.load(conf)
    db = SamDB(url=os.path.join(lp.get("private dir"), "sam.ldb"), session_info=system_session(), lp=lp)
    return db, lp


def extend_schema(conf: str) -> None:
    """Add the Exchange attributes the product reads, as optional attributes of class user."""
    db, _ = open_samdb(conf)
    schema_dn = str(db.get_schema_basedn())
    for n, (name, (syntax, om), upper) in enumerate(EXCHANGE_ATTRS, start=1):
        range_upper = f"rangeUpper: {upper}\n" if upper else ""
        db.add_ldif(
            f"""dn: CN={name},{schema_dn}
objectClass: top
objectClass: attributeSchema
cn: {name}
lDAPDisplayName: {name}
attributeID: {OID_BASE}.{n}
attributeSyntax: {syntax}
oMSyntax: {om}
isSingleValued: TRUE
searchFlags: 1
{range_upper}schemaIDGUID:: {base64.b64encode(os.urandom(16)).decode()}
"""
        )
    _schema_update_now(db)
    mods = "".join(f"mayContain: {name}\n" for name, _, _ in EXCHANGE_ATTRS)
    db.modify_ldif(f"dn: CN=User,{schema_dn}\nchangetype: modify\nadd: mayContain\n{mods}-\n")
    _schema_update_now(db)


def _schema_update_now(db: SamDB) -> None:
    db.modify_ldif("dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n-\n")


def _parse(db: SamDB, path: str) -> list[ldb.Message]:
    with open(path, "rb") as f:
        text = f.read().decode("utf-8-sig")
    return [msg for _, msg in db.parse_ldif(text)]


def _ensure_parents(db: SamDB, dn: ldb.Dn, stop: str) -> None:
    """Create missing OU=/CN= containers between the partition root and dn."""
    parent = dn.parent()
    if str(parent).lower() == stop.lower() or _exists(db, parent):
        return
    _ensure_parents(db, parent, stop)
    rdn_name = parent.get_rdn_name()
    cls = "organizationalUnit" if rdn_name.upper() == "OU" else "container"
    db.add({"dn": str(parent), "objectClass": cls})


def _exists(db: SamDB, dn: ldb.Dn) -> bool:
    try:
        return len(db.search(dn, scope=ldb.SCOPE_BASE, attrs=["dn"])) == 1
    except ldb.LdbError:
        return False


def _copy(msg: ldb.Message, dn: ldb.Dn, skip: set[str]) -> ldb.Message:
    out = ldb.Message(dn)
    for name in msg:
        if name.lower() == "dn":
            continue
        key = name.split(";", 1)[0]
        if key.lower() in skip:
            continue
        values = [bytes(v) for v in msg[name]]
        if key in out:
            values = [bytes(v) for v in out[key]] + values
        out[key] = ldb.MessageElement(values, ldb.FLAG_MOD_ADD, key)
    return out


def load_tenant(conf: str, ad_ldif: str, config_ldif: str, password: str) -> None:
    """Users (demo objectGUIDs kept), their groups, and the PKI objects of the configuration partition."""
    db, lp = open_samdb(conf)
    domain_dn = str(db.domain_dn())
    config_dn = str(db.get_config_basedn())
    patches: list[Patch] = []
    groups: dict[str, list[str]] = {}
    pwd = f'"{password}"'.encode("utf-16-le")
    db.transaction_start()
    try:
        for msg in _parse(db, ad_ldif):
            dn = msg.dn
            _ensure_parents(db, dn, domain_dn)
            new = _copy(msg, dn, {"whenchanged", "whencreated", "memberof"})
            raw: dict[str, list[bytes]] = {}
            for attr in ("whenChanged", "whenCreated"):
                if attr in msg:
                    raw[attr] = [bytes(msg[attr][0])]
            for attr in ("userCertificate", "userSMIMECertificate"):
                if attr in new and any(len(bytes(v)) > RANGE_UPPER for v in new[attr]):
                    raw[attr] = [bytes(v) for v in new[attr]]
                    del new[attr]
            patches.append((str(dn), raw))
            if "user" in {str(v).lower() for v in msg["objectClass"]}:
                new["unicodePwd"] = ldb.MessageElement(pwd, ldb.FLAG_MOD_ADD, "unicodePwd")
            db.add(new, controls=["relax:0"])
            for group in msg.get("memberOf", []) if "memberOf" in msg else []:
                groups.setdefault(str(group), []).append(str(dn))
        for group, members in groups.items():
            gdn = ldb.Dn(db, group)
            _ensure_parents(db, gdn, domain_dn)
            db.add({"dn": group, "objectClass": "group", "member": members})
        for msg in _parse(db, config_ldif):
            dn = msg.dn
            _ensure_parents(db, dn, config_dn)
            new = _copy(msg, dn, SYSTEM_STAMPED)
            classes = {str(v).lower() for v in msg["objectClass"]}
            if "certificationauthority" in classes:
                # mustContain of the class; AD CS writes a placeholder byte where it has no CRL.
                for attr in ("authorityRevocationList", "certificateRevocationList"):
                    if attr not in new:
                        new[attr] = ldb.MessageElement([b"\x00"], ldb.FLAG_MOD_ADD, attr)
                if "cACertificate" not in new:
                    new["cACertificate"] = ldb.MessageElement([b"\x00"], ldb.FLAG_MOD_ADD, "cACertificate")
            if _exists(db, dn):
                db.delete(dn)
            db.add(new, controls=["relax:0"])
        db.transaction_commit()
    except Exception:
        db.transaction_cancel()
        raise
    _raw_patch(lp, domain_dn, patches)


def _raw_patch(lp: LoadParm, partition: str, patches: list[Patch]) -> None:
    """Replace values straight in the partition file, no modules: whenChanged/whenCreated as in
    the source LDIF, and values beyond rangeUpper."""
    path = os.path.join(lp.get("private dir"), "sam.ldb.d", partition.upper() + ".ldb")
    raw = ldb.Ldb(path, options=["modules:"])
    raw.transaction_start()
    for dn, attrs in patches:
        msg = ldb.Message(ldb.Dn(raw, dn))
        for attr, values in attrs.items():
            msg[attr] = ldb.MessageElement(values, ldb.FLAG_MOD_REPLACE, attr)
        if len(msg) > 0:
            raw.modify(msg)
    raw.transaction_commit()


def bulk_users(conf: str, ou_dn: str, count: int, cert_file: str) -> None:
    """COUNT mail users with one certificate each, in one transaction (benchmarks)."""
    db, _ = open_samdb(conf)
    with open(cert_file, "rb") as f:
        der = f.read()
    db.transaction_start()
    try:
        _ensure_parents(db, ldb.Dn(db, "CN=x," + ou_dn), str(db.domain_dn()))
        for i in range(count):
            name = f"bench.{i:06d}"
            db.add(
                {
                    "dn": f"CN={name},{ou_dn}",
                    "objectClass": ["top", "person", "organizationalPerson", "user"],
                    "sAMAccountName": name,
                    "userPrincipalName": f"{name}@contoso.example",
                    "mail": f"{name}@contoso.example",
                    "mailNickname": name,
                    "displayName": f"Bench User {i}",
                    "proxyAddresses": [
                        f"SMTP:{name}@contoso.example",
                        f"smtp:{name}@contoso.mail.onmicrosoft.com",
                    ],
                    "userCertificate": [der],
                }
            )
        db.transaction_commit()
    except Exception:
        db.transaction_cancel()
        raise


def main(argv: list[str]) -> int:
    cmd, *args = argv
    if cmd == "extend-schema":
        extend_schema(*args)
    elif cmd == "load-tenant":
        load_tenant(*args)
    elif cmd == "bulk-users":
        bulk_users(args[0], args[1], int(args[2]), args[3])
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
