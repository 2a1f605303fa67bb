"""Checks judged directly from built facts (tests/support/builders.py), no demo tenant.

Each verdict comes in a pair: the same user once as it passes and once changed in the one
way that flips the check, asserting what a person would read (status, title, detail).
"""

from __future__ import annotations

from datetime import timedelta

from tests.support.builders import (
    DOMAIN,
    NOW,
    ad_user,
    cert,
    context,
    run_check,
    smime_blob,
    user_facts,
)
from workers.report import Finding


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [(f.check, f.status, f.title) for f in findings]
    return findings[0]


# -- publish.ad_present: is there a usable certificate where Outlook looks? ----------------------


def test_ad_present_passes_for_a_valid_certificate_for_the_users_address() -> None:
    mine = cert(f"alice@{DOMAIN}")
    f = only(run_check("publish.ad_present", user_facts(user_certificate=[mine])))
    assert f.status == "pass" and f.title == "Your certificate is published"
    assert f"alice@{DOMAIN}" in f.detail and "ad.userCertificate" in f.detail
    assert f.certificate == mine.sha256


def test_ad_present_fails_when_the_certificate_names_another_address() -> None:
    theirs = cert(f"bob@{DOMAIN}")
    f = only(run_check("publish.ad_present", user_facts(user_certificate=[theirs])))
    assert f.status == "fail" and f.title == "Outlook picks an unusable certificate"
    assert f"Outlook takes bob@{DOMAIN}" in f.detail and "it is issued for another address" in f.detail


def test_ad_present_fails_when_outlook_picks_an_expired_certificate() -> None:
    expired = cert(f"alice@{DOMAIN}", not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(days=2))
    f = only(run_check("publish.ad_present", user_facts(smime_certificate=[smime_blob([expired], expired)])))
    assert f.status == "fail" and f.title == "Outlook picks an unusable certificate"
    assert f"expired on {NOW - timedelta(days=2):%Y-%m-%d}" in f.detail


def test_ad_present_fails_when_nothing_is_published() -> None:
    f = only(run_check("publish.ad_present", user_facts()))
    assert f.status == "fail" and f.title == "No certificate published"
    assert "nobody can encrypt to them" in f.detail


# -- cert.validity ------------------------------------------------------------------------------


def test_validity_passes_a_certificate_with_a_year_left() -> None:
    f = only(
        run_check("cert.validity", user_facts(user_certificate=[cert(not_after=NOW + timedelta(days=365))]))
    )
    assert f.status == "pass" and f.title == "Certificate valid"
    assert f.detail == f"Valid until {NOW + timedelta(days=365):%Y-%m-%d}."


def test_validity_fails_an_expired_certificate_and_says_when() -> None:
    gone = NOW - timedelta(days=1)
    f = only(run_check("cert.validity", user_facts(user_certificate=[cert(not_after=gone)])))
    assert f.status == "fail" and f.title == "Certificate expired"
    assert f"expired on {gone:%Y-%m-%d}" in f.detail and "Senders cannot encrypt to it" in f.detail


def test_validity_warns_30_days_ahead_and_only_informs_at_60() -> None:
    soon = only(
        run_check("cert.validity", user_facts(user_certificate=[cert(not_after=NOW + timedelta(days=20))]))
    )
    later = only(
        run_check("cert.validity", user_facts(user_certificate=[cert(not_after=NOW + timedelta(days=50))]))
    )
    assert soon.status == "warn" and soon.title == "Certificate expires in 20 days"
    assert later.status == "info" and later.title == "Certificate expires in 50 days"


def test_validity_speaks_german() -> None:
    gone = NOW - timedelta(days=1)
    f = only(
        run_check("cert.validity", user_facts(user_certificate=[cert(not_after=gone)]), context(lang="de"))
    )
    assert f.status == "fail" and f.title == "Zertifikat abgelaufen"
    assert f"ist am {gone:%Y-%m-%d} abgelaufen" in f.detail


# -- publish.smime_precedence: an old "Publish to GAL" hiding the current certificate ---------------


def test_smime_precedence_passes_when_userSMIMECertificate_holds_a_current_certificate() -> None:
    current = cert()
    alice = user_facts(user_certificate=[current], smime_certificate=[smime_blob([current], current)])
    f = only(run_check("publish.smime_precedence", alice))
    assert f.status == "pass" and f.title == "userSMIMECertificate current"


def test_smime_precedence_fails_when_a_stale_blob_hides_the_current_certificate() -> None:
    stale = cert(not_before=NOW - timedelta(days=800), not_after=NOW - timedelta(days=400))
    current = cert()
    alice = user_facts(user_certificate=[current], smime_certificate=[smime_blob([stale], stale)])
    f = only(run_check("publish.smime_precedence", alice))
    assert f.status == "fail" and f.title == "A stale Outlook publication hides your current certificate"
    assert "ad.userSMIMECertificate has values but none is valid" in f.detail
    assert "never falls back to ad.userCertificate" in f.detail
    assert f.certificate == current.sha256


def test_smime_precedence_warns_when_the_newest_certificate_is_only_in_userCertificate() -> None:
    older = cert(not_before=NOW - timedelta(days=300))
    newer = cert(not_before=NOW - timedelta(days=10))
    alice = user_facts(user_certificate=[older, newer], smime_certificate=[smime_blob([older], older)])
    f = only(run_check("publish.smime_precedence", alice))
    assert f.status == "warn" and f.title == "userSMIMECertificate is older than userCertificate"
    assert f.certificate == newer.sha256


# -- sync.mailnickname --------------------------------------------------------------------------


def test_mailnickname_set_passes_and_names_it() -> None:
    f = only(run_check("sync.mailnickname", user_facts("no.nickname")))
    assert f.status == "pass" and f.title == "mailNickname set"
    assert f.detail == "mailNickname is 'no.nickname'."


def test_mailnickname_empty_fails_and_suggests_the_mail_local_part() -> None:
    user = user_facts("no.nickname", ad=ad_user("no.nickname", mail_nickname="  "))
    f = only(run_check("sync.mailnickname", user))
    assert f.status == "fail" and f.title == "mailNickname is empty"
    assert "syncs no Exchange attribute" in f.detail and "certificates included" in f.detail
    assert "suggested value 'no.nickname'" in f.remedy


def test_mailnickname_is_not_judged_for_a_cloud_only_recipient() -> None:
    f = only(run_check("sync.mailnickname", user_facts("cloud.only", ad=None)))
    assert f.status == "pass" and f.title == "Cloud-only recipient"


# -- addr.* -------------------------------------------------------------------------------------


def test_lowercase_addresses_pass() -> None:
    f = only(run_check("addr.lowercase", user_facts("mixed.case")))
    assert f.status == "pass" and f.title == "Addresses lower case"


def test_upper_case_mail_and_proxy_address_warn_and_are_named() -> None:
    upper = f"Mixed.Case@{DOMAIN}"
    user = user_facts("mixed.case", ad=ad_user("mixed.case", mail=upper, proxy_addresses=[f"SMTP:{upper}"]))
    f = only(run_check("addr.lowercase", user))
    assert f.status == "warn" and f.title == "Upper case in mail addresses"
    assert f.detail.startswith(f"{upper} contain upper case")
    assert f.evidence["addresses"] == [upper]  # one address, though mail and the proxy both carry it


def test_smtp_prefix_case_is_never_judged() -> None:
    user = user_facts(
        "alice", ad=ad_user("alice", proxy_addresses=[f"SMTP:alice@{DOMAIN}", f"smtp:a@{DOMAIN}"])
    )
    assert only(run_check("addr.lowercase", user)).status == "pass"


def test_mail_equal_to_the_primary_address_passes() -> None:
    f = only(run_check("addr.mail_is_primary", user_facts("alice")))
    assert f.status == "pass" and f.title == "mail is the primary address"


def test_mail_differing_from_the_primary_address_warns_with_both() -> None:
    ad = ad_user("alice", mail=f"alice.old@{DOMAIN}", proxy_addresses=[f"SMTP:alice@{DOMAIN}"])
    f = only(run_check("addr.mail_is_primary", user_facts("alice", ad=ad)))
    assert f.status == "warn" and f.title == "mail is not the primary address"
    assert f"AD mail is alice.old@{DOMAIN}, the primary SMTP address is alice@{DOMAIN}." in f.detail


# -- cert.end_entity ----------------------------------------------------------------------------


def test_end_entity_certificate_passes() -> None:
    f = only(run_check("cert.end_entity", user_facts(user_certificate=[cert()])))
    assert f.status == "pass" and f.title == "End-entity certificate"


def test_ca_certificate_on_a_user_fails() -> None:
    f = only(run_check("cert.end_entity", user_facts(user_certificate=[cert(is_ca=True)])))
    assert f.status == "fail" and f.title == "CA certificate published on a user"
    assert "basicConstraints cA=TRUE" in f.detail and "Clients refuse to encrypt to it" in f.detail


# -- sync.errors: the cause as Entra states it, not the first bytes of its XML ---------------------
def test_provisioning_errors_show_the_cause_inside_the_xml() -> None:
    from workers.checks.sync_exo import _error_text

    xml = (
        '<ServiceInstance Name="exchange/EURPR05A012-DB0" xmlns="http://schemas.microsoft.com/online/'
        'directoryservices/change/2008/11"><ObjectErrors><ErrorRecord><ErrorCode>ExA77C31</ErrorCode>'
        "<ErrorParameters><ErrorParameter>The proxy address &quot;SMTP:a@contoso.example&quot; is already "
        "being used by the proxy addresses or LegacyExchangeDN.</ErrorParameter></ErrorParameters>"
        "</ErrorRecord></ObjectErrors></ServiceInstance>"
    )
    text = _error_text({"@odata.type": "#microsoft.graph.serviceProvisioningXmlError", "errorDetail": xml})
    assert text == (
        'ExA77C31: The proxy address "SMTP:a@contoso.example" is already being used by the proxy '
        "addresses or LegacyExchangeDN."
    )
    on_prem = {"category": "PropertyConflict", "propertyCausingError": "ProxyAddresses", "value": "smtp:a@x"}
    assert _error_text(on_prem) == "PropertyConflict, ProxyAddresses, smtp:a@x"
    hostile = {"errorDetail": "<ErrorParameter>" + "x" * 50_000 + "<!ENTITY a '&a;'>" * 1000}
    assert len(_error_text(hostile)) <= 300  # bounded, no pattern runs on unbounded input
