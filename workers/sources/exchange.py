"""Exchange Online through the REST admin API the ExchangeOnlineManagement module uses.

Every cmdlet is ``POST {base}/adminapi/beta/{tenant}/InvokeCommand`` with
``{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}``; lists page through
``@odata.nextLink`` by posting the same body again. Records come back exactly as the API
returns them (the same dicts an ``exo-recipients.json`` export holds), so
``workers.sources.parsing`` reads them unchanged. Byte values arrive as base64 strings;
integer arrays are accepted by the parser too.

Thread-safe: single-recipient calls may run concurrently; the tenant-wide ``Get-SmimeConfig``
is fetched once and cached.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from workers.certs.encoding import decode_bytes
from workers.errors import (
    AuthError,
    ExchangeError,
    MalformedResponseError,
    RecipientNotFoundError,
    SourceError,
    SyncedRecipientWriteError,
)
from workers.sources.m365_auth import EXCHANGE_SCOPE, Answer, M365Http, RetryPolicy, TokenProvider

EXCHANGE_BASE_URL = "https://outlook.office365.com"
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
MAX_PAGE_SIZE = 1000

CERT_PROPERTIES = ("UserCertificate", "UserSMimeCertificate")
#: What the checks read from a recipient (docs/snapshot.md §1), plus a few names that help people.
RECIPIENT_PROPERTIES = (
    "Identity",
    "Name",
    "Alias",
    "DisplayName",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "UserPrincipalName",
    "ExternalDirectoryObjectId",
    "RecipientType",
    "RecipientTypeDetails",
    "IsDirSynced",
    "HiddenFromAddressListsEnabled",
    *CERT_PROPERTIES,
    "WhenChangedUTC",
)

_NOT_FOUND_TYPES = ("ManagementObjectNotFoundException", "RecipientNotFoundException")
_SYNCED_HINTS = ("out of the current user's write scope", "synchronized from your on-premises", "dirsync")


class ExchangeSource:
    """Exchange Online cmdlets for one tenant (GUID or ``*.onmicrosoft.com``), app-only.

    ``base_url`` defaults to ``https://outlook.office365.com``; tests point it at the emulator
    and pass ``session_factory`` (sessions that trust the emulator's CA).
    """

    def __init__(
        self,
        tenant: str,
        tokens: TokenProvider,
        *,
        base_url: str = EXCHANGE_BASE_URL,
        session_factory: Callable[[], requests.Session] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        self.tenant = tenant
        self.base_url = base_url.rstrip("/")
        self.endpoint = f"{self.base_url}/adminapi/beta/{quote(tenant, safe='')}/InvokeCommand"
        self.page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        self.http = M365Http(
            "Exchange Online",
            tokens,
            EXCHANGE_SCOPE,
            session_factory=session_factory,
            timeout=timeout,
            retry=retry,
        )
        self._headers = {
            "X-AnchorMailbox": f"APP:{SYSTEM_MAILBOX}@{tenant}",
            "Prefer": f"odata.maxpagesize={self.page_size}",
            "Content-Type": "application/json; charset=utf-8",
        }
        self._smime_config: dict[str, Any] | None = None
        self._smime_lock = threading.Lock()

    # -- the wire ----------------------------------------------------------------------
    def iter_cmdlet(
        self, cmdlet: str, parameters: dict[str, Any] | None = None, *, select: tuple[str, ...] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Run a cmdlet and yield every object of every page. Raises only our errors."""
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        url = self.endpoint + (f"?$select={','.join(select)}" if select else "")
        identity = (parameters or {}).get("Identity")
        what = f"running {cmdlet}" + (f" for {identity!r}" if identity else "")
        while url:
            answer = self.http.send("POST", url, what=what, json_body=body, headers=self._headers)
            if answer.status == 204:
                return
            if answer.status >= 400:
                raise _error_from(answer, cmdlet, identity)
            data = _json_object(answer, what)
            values = data.get("value", [] if "@odata.context" in data else None)
            if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
                raise MalformedResponseError(
                    f"Exchange Online answered {what} without a list of objects in 'value'; "
                    "the response does not follow the REST admin API format."
                )
            yield from values
            next_link = data.get("@odata.nextLink")
            url = self._checked_next_link(next_link, what) if next_link else ""

    def invoke(
        self, cmdlet: str, parameters: dict[str, Any] | None = None, *, select: tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        return list(self.iter_cmdlet(cmdlet, parameters, select=select))

    def _checked_next_link(self, link: Any, what: str) -> str:
        """Follow a next link only to the same service: the bearer token goes with it."""
        if not isinstance(link, str) or urlsplit(link).netloc != urlsplit(self.base_url).netloc:
            raise MalformedResponseError(
                f"Exchange Online answered {what} with a next-page link that does not point back to "
                f"{urlsplit(self.base_url).netloc}; refusing to follow it."
            )
        return link

    def _single(
        self, cmdlet: str, identity: str, select: tuple[str, ...] | None, extra: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        try:
            found = self.invoke(cmdlet, {"Identity": identity, **(extra or {})}, select=select)
        except RecipientNotFoundError:
            return None
        if len(found) > 1:
            raise ExchangeError(
                f"Exchange Online found {len(found)} objects for {identity!r} with {cmdlet}; "
                "name the recipient by its primary SMTP address or ExternalDirectoryObjectId.",
                cmdlet=cmdlet,
            )
        return found[0] if found else None

    # -- recipients ------------------------------------------------------------------------
    def get_recipient(self, identity: str) -> dict[str, Any] | None:
        """One recipient of any type with its certificates, or None if none has that name.

        One request, unless Get-Recipient leaves the certificate properties out for a mailbox
        or mail user; then the full object comes from Get-Mailbox / Get-MailUser.
        """
        found = self._single(
            "Get-Recipient", identity, RECIPIENT_PROPERTIES, {"Properties": list(CERT_PROPERTIES)}
        )
        if found is None or not _lacks_certificates(found):
            return found
        full = (self.get_mailbox if _is_mailbox(found) else self.get_mail_user)(identity)
        return full or found

    def get_mailbox(self, identity: str) -> dict[str, Any] | None:
        return self._single("Get-Mailbox", identity, RECIPIENT_PROPERTIES)

    def get_mail_user(self, identity: str) -> dict[str, Any] | None:
        return self._single("Get-MailUser", identity, RECIPIENT_PROPERTIES)

    def iter_recipients(self) -> Iterator[dict[str, Any]]:
        """Every recipient with its certificates, 1,000 per request.

        Should Get-Recipient leave the certificate properties out, mailboxes and mail users
        are read again with Get-Mailbox / Get-MailUser and take the place of their reduced copies.
        """
        recipients = list(
            self.iter_cmdlet(
                "Get-Recipient",
                {"ResultSize": "Unlimited", "Properties": list(CERT_PROPERTIES)},
                select=RECIPIENT_PROPERTIES,
            )
        )
        if any(_lacks_certificates(r) for r in recipients):
            full = {str(r.get("Identity")): r for r in [*self.iter_mailboxes(), *self.iter_mail_users()]}
            recipients = [full.get(str(r.get("Identity")), r) for r in recipients]
        yield from recipients

    def iter_mailboxes(self) -> Iterator[dict[str, Any]]:
        return self.iter_cmdlet("Get-Mailbox", {"ResultSize": "Unlimited"}, select=RECIPIENT_PROPERTIES)

    def iter_mail_users(self) -> Iterator[dict[str, Any]]:
        return self.iter_cmdlet("Get-MailUser", {"ResultSize": "Unlimited"}, select=RECIPIENT_PROPERTIES)

    # -- tenant and client settings -------------------------------------------------------------
    def get_smime_config(self) -> dict[str, Any]:
        """The tenant's Get-SmimeConfig object (cached after the first call)."""
        with self._smime_lock:
            if self._smime_config is None:
                found = self.invoke("Get-SmimeConfig")
                if not found:
                    raise MalformedResponseError("Exchange Online answered Get-SmimeConfig with no object.")
                self._smime_config = found[0]
            return self._smime_config

    def get_cas_mailbox(self, identity: str) -> dict[str, Any] | None:
        return self._single("Get-CASMailbox", identity, None)

    def get_owa_mailbox_policy(self, identity: str | None = None) -> list[dict[str, Any]]:
        """One OWA mailbox policy by name, or all of them."""
        try:
            return self.invoke("Get-OwaMailboxPolicy", {"Identity": identity} if identity else {})
        except RecipientNotFoundError:
            return []

    # -- remediation -----------------------------------------------------------------------------
    def clear_certificates(
        self,
        identity: str,
        *,
        user_certificate: bool = True,
        user_smime_certificate: bool = True,
        recipient_type: str = "UserMailbox",
    ) -> None:
        """-UserCertificate $null / -UserSMimeCertificate $null for a cloud-only recipient, with
        Set-Mailbox, or Set-MailUser for a mail user (``recipient_type``: its RecipientTypeDetails).

        A directory-synced recipient raises ``SyncedRecipientWriteError``: the values live in
        on-premises AD and must be removed there. An unknown one raises ``RecipientNotFoundError``.
        """
        params: dict[str, Any] = {"Identity": identity}
        if user_certificate:
            params["UserCertificate"] = None
        if user_smime_certificate:
            params["UserSMimeCertificate"] = None
        if len(params) == 1:
            return
        self.invoke(set_cmdlet_for(recipient_type), params)

    def set_certificates(
        self, identity: str, values: dict[str, list[bytes]], *, recipient_type: str = "UserMailbox"
    ) -> None:
        """-UserCertificate / -UserSMimeCertificate set to exactly ``values`` (base64 on the wire;
        ``$null`` for an empty list) for a cloud-only mailbox (Set-Mailbox) or mail user
        (Set-MailUser), by ``recipient_type`` (RecipientTypeDetails). Only the properties named change.

        Callers compare before writing (re-read with get_mailbox / get_recipient). A synced
        recipient raises ``SyncedRecipientWriteError``; an unknown one ``RecipientNotFoundError``.
        """

        params: dict[str, Any] = {"Identity": identity}
        for prop, vs in values.items():
            if prop not in CERT_PROPERTIES:
                raise ValueError(f"{prop} is not a certificate property")
            params[prop] = [base64.b64encode(v).decode() for v in vs] or None
        if len(params) == 1:
            return
        self.invoke(set_cmdlet_for(recipient_type), params)

    def get_smime_issuing_ca(self) -> bytes:
        """SMIMECertificateIssuingCA as Exchange Online has it now (SST bytes; b"" when empty), read
        afresh with Get-SmimeConfig (the cached config is replaced)."""

        found = self.invoke("Get-SmimeConfig")
        if not found:
            raise MalformedResponseError("Exchange Online answered Get-SmimeConfig with no object.")
        with self._smime_lock:
            self._smime_config = found[0]
        raw = found[0].get("SMIMECertificateIssuingCA")
        return b"" if raw in (None, "", []) else decode_bytes(raw)

    def set_smime_issuing_ca(self, sst: bytes) -> None:
        """Set-SmimeConfig -SMIMECertificateIssuingCA (the SST as base64; ``$null`` for an empty store).
        Callers compare before writing (get_smime_issuing_ca)."""

        with self._smime_lock:
            self._smime_config = None
        self.invoke(
            "Set-SmimeConfig", {"SMIMECertificateIssuingCA": base64.b64encode(sst).decode() if sst else None}
        )


_MAIL_USER_TYPES = ("MailUser", "GuestMailUser")


def set_cmdlet_for(recipient_type: str) -> str:
    """The cmdlet that writes a recipient's certificate properties: Set-MailUser for mail users
    (and guests), Set-Mailbox for mailboxes (and, as before, anything else: Exchange Online
    then names what it refuses)."""
    return "Set-MailUser" if recipient_type in _MAIL_USER_TYPES else "Set-Mailbox"


def _is_mailbox(record: dict[str, Any]) -> bool:
    kind = str(record.get("RecipientTypeDetails") or "")
    return kind.endswith("Mailbox") and kind != "GroupMailbox"


def _lacks_certificates(record: dict[str, Any]) -> bool:
    """A mailbox or mail user whose record came without the certificate properties at all."""
    kind = str(record.get("RecipientTypeDetails") or "")
    if not (_is_mailbox(record) or kind in _MAIL_USER_TYPES):
        return False
    return not any(prop in record for prop in CERT_PROPERTIES)


def _json_object(answer: Answer, what: str) -> dict[str, Any]:
    try:
        data = json.loads(answer.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        kind = answer.content_type.split(";")[0] or "no content type"
        raise MalformedResponseError(
            f"Exchange Online answered {what} with something that is not JSON ({kind}, {len(answer.body)} bytes); "
            "a proxy or an outage page may be in the way."
        ) from None
    if not isinstance(data, dict):
        raise MalformedResponseError(f"Exchange Online answered {what} with JSON that is not an object.")
    return data


def _error_from(answer: Answer, cmdlet: str, identity: Any) -> SourceError:
    """Turn an error answer into one of our errors with a sentence a person can act on."""
    about = f" for {identity!r}" if identity else ""
    code = exc_type = text = ""
    try:
        data = json.loads(answer.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or "")
        text = str(error.get("message") or "")
        details = error.get("details")
        if isinstance(details, list):
            for detail in details:
                message = detail.get("message") if isinstance(detail, dict) else None
                if isinstance(message, str) and message.count("|") >= 2:
                    code, exc_type, text = message.split("|", 2)
                    break
    exc_type = exc_type or answer.headers.get("X-ExceptionType", "")
    short_type = exc_type.rsplit(".", 1)[-1]
    if answer.status == 401:
        return AuthError(
            f"Exchange Online refused the app's token while running {cmdlet}{about} (HTTP 401). "
            "Check that the app has the Exchange.ManageAsApp application permission with admin consent."
        )
    if answer.status == 403:
        return AuthError(
            f"Exchange Online denied {cmdlet}{about} (HTTP 403{': ' + text if text else ''}). "
            "Assign the app's service principal an Entra role that allows it "
            "(Global Reader to diagnose, Exchange Administrator for remediations)."
        )
    if any(t in short_type for t in _NOT_FOUND_TYPES):
        return RecipientNotFoundError(
            f"Exchange Online has no object{about} ({cmdlet}).",
            cmdlet=cmdlet,
            code=code,
            exception_type=exc_type,
        )
    if cmdlet.startswith("Set-") and any(h in text.lower() for h in _SYNCED_HINTS):
        return SyncedRecipientWriteError(
            f"Exchange Online will not change{about}: the recipient is synchronised from on-premises Active "
            "Directory. Remove the values from userCertificate/userSMIMECertificate on the AD account instead "
            "and let Entra Connect export the change (Start-ADSyncSyncCycle -PolicyType Delta).",
            cmdlet=cmdlet,
            code=code,
            exception_type=exc_type,
        )
    if text:
        return ExchangeError(
            f"Exchange Online could not run {cmdlet}{about}: {text.strip()[:400]}"
            + (f" ({short_type})" if short_type else ""),
            cmdlet=cmdlet,
            code=code,
            exception_type=exc_type,
        )
    return MalformedResponseError(
        f"Exchange Online answered {cmdlet}{about} with HTTP {answer.status} and no readable error; "
        "try again later or check the service health in the Microsoft 365 admin center."
    )
