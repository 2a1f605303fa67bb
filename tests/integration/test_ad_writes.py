"""The remediation writes against Samba AD: exact effect, re-read before/after, refusal on change,
and LDAP errors as sentences (including the right the service account lacks).

Each test works on its own user in OU=Scratch, so the demo users stay as the equivalence
tests expect them.
"""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import ldap3
import pytest
from ldap3.protocol.formatters.formatters import format_sid

from tests.samba import dc as samba
from tests.samba.helpers import READER, SCRATCH_OU, SERVICE_PASSWORD, WRITER, admin_connection, settings_for
from workers.demo_tenant import DATA_DIR
from workers.errors import AdPermissionError, AdWriteConflict, AdWriteError
from workers.sources import parsing
from workers.sources.ad import AdSource

CERTS = [v for _, a in parsing.iter_ldif(DATA_DIR / "ad.ldif") for v in a.get("usercertificate", [])][:3]
SMIME = [v for _, a in parsing.iter_ldif(DATA_DIR / "ad.ldif") for v in a.get("usersmimecertificate", [])][:2]
_counter = itertools.count()
# schemaIDGUIDs of the attribute userCertificate and the class user (identical in every AD forest)
USER_CERTIFICATE_GUID = "bf967a7f-0de6-11d0-a285-00aa003049e2"
USER_CLASS_GUID = "bf967aba-0de6-11d0-a285-00aa003049e2"


@pytest.fixture
def admin(samba_dc: samba.DomainController) -> Iterator[ldap3.Connection]:
    conn = admin_connection(samba_dc)
    yield conn
    conn.unbind()


@pytest.fixture
def make_user(admin: ldap3.Connection) -> Callable[..., str]:
    def make(**attrs: Any) -> str:
        name = f"scratch.{next(_counter)}"
        dn = f"CN={name},{SCRATCH_OU}"
        values = {"sAMAccountName": name, "mail": f"{name}@contoso.example", **attrs}
        assert admin.add(dn, ["top", "person", "organizationalPerson", "user"], values), admin.result
        return dn

    return make


def reread(admin: ldap3.Connection, dn: str, attr: str) -> list[bytes]:
    """An independent read (another connection, Administrator) of what AD now holds."""
    admin.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[attr])
    entry = admin.response[0]["raw_attributes"]
    return sorted(v for k, vs in entry.items() if k.lower() == attr.lower() for v in vs)


def test_remove_exact_certificate_values(
    ad: AdSource, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    dn = make_user(userCertificate=CERTS[:3], userSMIMECertificate=SMIME[:1])
    result = ad.remove_certificate_values(dn, {"userCertificate": [CERTS[1]]})
    assert sorted(result.before["userCertificate"]) == sorted(CERTS[:3])
    assert sorted(result.after["userCertificate"]) == sorted([CERTS[0], CERTS[2]])
    assert reread(admin, dn, "userCertificate") == sorted([CERTS[0], CERTS[2]])
    assert reread(admin, dn, "userSMIMECertificate") == SMIME[:1]  # nothing else touched
    result = ad.remove_certificate_values(
        dn, {"userCertificate": [CERTS[0]], "userSMIMECertificate": SMIME[:1]}
    )
    assert result.after == {"userCertificate": [CERTS[2]], "userSMIMECertificate": []}


def test_remove_refused_when_the_value_went_away_in_between(
    ad: AdSource, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    dn = make_user(userCertificate=CERTS[:2])
    planned = ad.read(dn)[1]["usercertificate"]  # what the approver saw
    admin.modify(dn, {"userCertificate": [(ldap3.MODIFY_DELETE, [CERTS[0]])]})  # someone else acts
    with pytest.raises(AdWriteConflict, match="changed since it was read"):
        ad.remove_certificate_values(dn, {"userCertificate": planned})
    assert reread(admin, dn, "userCertificate") == [CERTS[1]]  # untouched


def test_clear_smime_certificates(
    ad: AdSource, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    dn = make_user(userCertificate=CERTS[:1], userSMIMECertificate=SMIME[:2])
    seen = ad.read(dn)[1]["usersmimecertificate"]
    admin.modify(dn, {"userSMIMECertificate": [(ldap3.MODIFY_ADD, [CERTS[2]])]})  # a new value arrives
    with pytest.raises(AdWriteConflict, match="1 were expected|2 were expected"):
        ad.clear_smime_certificates(dn, seen)
    result = ad.clear_smime_certificates(dn, seen + [CERTS[2]])
    assert result.after["userSMIMECertificate"] == [] and len(result.before["userSMIMECertificate"]) == 3
    assert reread(admin, dn, "userSMIMECertificate") == []
    assert reread(admin, dn, "userCertificate") == CERTS[:1]


def test_set_mail_nickname_compare_and_set(
    ad: AdSource, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    dn = make_user()
    result = ad.set_mail_nickname(dn, "nora.n", expected=None)
    assert result.before == {"mailNickname": []} and result.after == {"mailNickname": [b"nora.n"]}
    with pytest.raises(AdWriteConflict, match="mailNickname is 'nora.n'"):
        ad.set_mail_nickname(dn, "other", expected=None)
    result = ad.set_mail_nickname(dn, "nora.nickless", expected="nora.n")
    assert reread(admin, dn, "mailNickname") == [b"nora.nickless"]


def test_value_beyond_the_schema_limit_is_a_sentence(ad: AdSource, make_user: Callable[..., str]) -> None:
    """Exchange's rangeUpper for mailNickname is 64. AD answers constraintViolation, Samba
    invalidAttributeSyntax; both become a sentence that names the attribute and says nothing changed."""
    dn = make_user()
    with pytest.raises(AdWriteError, match="mailNickname on .*Nothing was changed"):
        ad.set_mail_nickname(dn, "x" * 65, expected=None)
    assert ad.read(dn)[1].get("mailnickname") is None


def test_lowercase_addresses_keeps_the_primary_marker(
    ad: AdSource, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    proxies = ["SMTP:Max.Mixed@Contoso.example", "smtp:MAX@contoso.example", "X500:/o=Contoso/cn=Max"]
    dn = make_user(proxyAddresses=proxies)
    admin.modify(dn, {"mail": [(ldap3.MODIFY_REPLACE, ["Max.Mixed@Contoso.example"])]})
    result = ad.lowercase_addresses(dn, "Max.Mixed@Contoso.example", proxies)
    assert result.after["mail"] == [b"max.mixed@contoso.example"]
    assert sorted(result.after["proxyAddresses"]) == sorted(
        [b"SMTP:max.mixed@contoso.example", b"smtp:max@contoso.example", b"X500:/o=Contoso/cn=Max"]
    )
    assert reread(admin, dn, "mail") == [b"max.mixed@contoso.example"]
    with pytest.raises(AdWriteConflict):  # what was approved is no longer what is there
        ad.lowercase_addresses(dn, "Max.Mixed@Contoso.example", proxies)


def test_missing_right_names_the_right_and_the_dsacls_command(
    samba_dc: samba.DomainController, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    dn = make_user(userCertificate=CERTS[:1])
    settings = settings_for(samba_dc, user=f"{READER}@contoso.example", password=SERVICE_PASSWORD)
    with AdSource(settings) as reader:
        assert reader.read(dn)[1]["usercertificate"] == CERTS[:1]  # reading is allowed
        with pytest.raises(AdPermissionError) as err:
            reader.remove_certificate_values(dn, {"userCertificate": CERTS[:1]})
    text = str(err.value)
    assert "lacks the right 'Write userCertificate'" in text
    assert f'dsacls "{SCRATCH_OU}" /I:S /G "{READER}@contoso.example:WP;userCertificate;user"' in text
    assert reread(admin, dn, "userCertificate") == CERTS[:1]


def test_documented_delegation_is_enough_and_no_more(
    samba_dc: samba.DomainController, admin: ldap3.Connection, make_user: Callable[..., str]
) -> None:
    """docs/ad.md's `dsacls ... WP;userCertificate;user` on the OU, done with samba-tool: the writer may
    remove certificates below that OU and still may not touch another attribute."""
    admin.search(
        f"CN={WRITER},CN=Users,{samba_dc.base_dn}", "(objectClass=*)", ldap3.BASE, attributes=["objectSid"]
    )
    sid = format_sid(admin.response[0]["raw_attributes"]["objectSid"][0])
    ace = f"(OA;CIIO;WP;{USER_CERTIFICATE_GUID};{USER_CLASS_GUID};{sid})"
    subprocess.run(
        ["samba-tool", "dsacl", "set", f"--objectdn={SCRATCH_OU}", f"--sddl={ace}", "-s", str(samba_dc.smb_conf),
         "-H", str(samba_dc.directory / "private" / "sam.ldb")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    dn = make_user(userCertificate=CERTS[:2])
    settings = settings_for(samba_dc, user=f"{WRITER}@contoso.example", password=SERVICE_PASSWORD)
    with AdSource(settings) as writer:
        result = writer.remove_certificate_values(dn, {"userCertificate": CERTS[:1]})
        assert result.after["userCertificate"] == [CERTS[1]]
        with pytest.raises(AdPermissionError, match="Write mailNickname"):
            writer.set_mail_nickname(dn, "nick", expected=None)
