"""The product's own exceptions.

Every parser and source raises only these (or subclasses), so callers — the CLI, the
audit loop, the chat bot — can turn any failure into one sentence for a person instead
of a traceback. ``str(error)`` is always that sentence, and it may reach an end user: it
names no host, port, URL or setting. What an operator needs besides (which domain
controller, which setting) is ``error.admin_detail``: logged, and shown on admin-facing
output (``admin_text``), never in a chat answer (``user_sentence``).
"""

from __future__ import annotations

import re

# What an end user is never shown: URLs, IPv4 addresses (not OIDs), host:port, Kerberos
# service principals (case-insensitive) and environment variable names such as
# SMIME_DOCTOR_AD_SERVERS or KRB5_CONFIG (upper case with an underscore, case-sensitive).
_TECHNICAL = re.compile(
    r"\b[a-z][a-z0-9+.-]*://"
    r"|(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\.?\d)"
    r"|\b(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{1,5}\b"
    r"|\bldap/[\w.-]+",
    re.IGNORECASE,
)
_ENV_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")


class SmimeDoctorError(Exception):
    """Base of every error we raise on purpose.

    ``admin_detail``: the technical version (hosts, ports, setting names) for the log and for
    operators; also attached as an exception note, so tracebacks and test matches see it.
    """

    admin_detail: str | None = None

    def __init__(self, *args: object, admin_detail: str | None = None) -> None:
        super().__init__(*args)
        if admin_detail:
            self.admin_detail = " ".join(admin_detail.split())  # one line
            self.add_note(self.admin_detail)


def admin_text(exc: BaseException) -> str:
    """One line for the log and for operators: the sentence, and the technical detail if any."""
    sentence = str(exc) or type(exc).__name__
    detail = getattr(exc, "admin_detail", None)
    return f"{sentence} [{detail}]" if detail and detail != sentence else sentence


def leaks_technical_detail(text: str) -> bool:
    """Whether ``text`` holds something for operators only (see _TECHNICAL)."""
    return bool(_TECHNICAL.search(text) or _ENV_NAME.search(text))


GENERIC = {
    "ad": {
        "en": "Active Directory could not answer this right now. Please try again later; "
        "if it persists, an administrator can find the reason in the log.",
        "de": "Active Directory konnte das gerade nicht beantworten. Bitte später erneut versuchen; "
        "bleibt es so, findet ein Administrator den Grund im Protokoll.",
    },
    "m365": {
        "en": "Microsoft 365 could not answer this right now. Please try again later; "
        "if it persists, an administrator can find the reason in the log.",
        "de": "Microsoft 365 konnte das gerade nicht beantworten. Bitte später erneut versuchen; "
        "bleibt es so, findet ein Administrator den Grund im Protokoll.",
    },
    "other": {
        "en": "This could not be answered right now. Please try again later; "
        "if it persists, an administrator can find the reason in the log.",
        "de": "Das konnte gerade nicht beantwortet werden. Bitte später erneut versuchen; "
        "bleibt es so, findet ein Administrator den Grund im Protokoll.",
    },
}


def user_sentence(exc: BaseException, lang: str = "en") -> str:
    """What an end user is told about ``exc``: its sentence, unless that names a host, port, URL
    or setting (an error raised before this rule, or text a service sent) — then a plain
    sentence for its kind of source; the detail is for the log (``admin_text``)."""
    sentence = " ".join(str(exc).split())
    if sentence and not leaks_technical_detail(sentence):
        return sentence
    kind = "ad" if isinstance(exc, AdError) else "m365" if isinstance(exc, SourceError) else "other"
    return GENERIC[kind]["de" if lang == "de" else "en"]


class InputError(SmimeDoctorError):
    """Input could not be used (exit code 2 on the command line)."""


class CertificateError(InputError):
    """Bytes are not a usable X.509 certificate."""


class Pkcs7Error(InputError):
    """Bytes are not PKCS#7 SignedData carrying certificates."""


class SstError(InputError):
    """Bytes are not a Microsoft serialized certificate store."""


class EncodingError(InputError):
    """A byte value in an export is neither base64 nor an array of 0-255 integers."""


class SnapshotError(InputError):
    """A snapshot directory or one of its files cannot be read."""


class LdifError(SnapshotError):
    """An LDIF export is malformed."""


class JsonExportError(SnapshotError):
    """A JSON export (Exchange Online or Graph) is malformed."""


class UserLookupError(InputError):
    """A user name matched nobody or more than one directory object."""

    def __init__(self, message: str, query: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.query = query
        self.candidates = candidates or []


class UnknownUserError(UserLookupError):
    pass


class InvalidNameError(UserLookupError):
    """A name given for a directory lookup cannot name anybody (too long): refused before any query."""


class AmbiguousUserError(UserLookupError):
    pass


# -- live Microsoft 365 sources (Exchange Online, Graph, sign-in) --------------------------


class Retryable(SmimeDoctorError):
    """Trying again later may work (a source unreachable, throttling, restarting). The one
    classification that chat jobs (workers/jobs.py) and executions (workers/remediation/execute.py)
    retry on; every other error is final and becomes the asker's sentence at once."""


class SourceError(SmimeDoctorError):
    """A live source could not give an answer; ``str()`` says which service, what step and what to do."""


class AuthError(SourceError):
    """Signing in as the app failed, or the service refused the app's token or permissions."""


class ThrottledError(SourceError, Retryable):
    """A service kept throttling (429/503/504) beyond the retry budget."""


class SourceUnreachableError(SourceError, Retryable):
    """A Microsoft 365 endpoint could not be reached at all (network, DNS, TLS, timeouts)."""


class MalformedResponseError(SourceError):
    """A service answered with something that is not the documented wire format."""


class ExchangeError(SourceError):
    """Exchange Online refused a cmdlet; ``code`` and ``exception_type`` come from ``error.details``."""

    def __init__(self, message: str, *, cmdlet: str = "", code: str = "", exception_type: str = "") -> None:
        super().__init__(message)
        self.cmdlet = cmdlet
        self.code = code
        self.exception_type = exception_type


class RecipientNotFoundError(ExchangeError):
    """The identity named no Exchange Online recipient."""


class SyncedRecipientWriteError(ExchangeError):
    """Exchange Online refuses to change a directory-synced recipient: the fix belongs in on-premises AD."""


class GraphError(SourceError):
    """Microsoft Graph refused a request; ``code`` is Graph's ``error.code``."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class SourceUnavailable(Retryable):
    """Every source failed for this lookup. The sentence names the services only; what each said
    is the admin detail (and each failure was logged with its own detail as it happened)."""

    @classmethod
    def of(cls, errors: dict[str, str]) -> SourceUnavailable:
        names = ", ".join(SOURCE_NAMES.get(k, k) for k in errors)
        return cls(
            f"The directory cannot be asked right now ({names} did not answer). Please try again in a few minutes.",
            admin_detail="; ".join(f"{k}: {v}" for k, v in errors.items()),
        )


SOURCE_NAMES = {"ad": "Active Directory", "exo": "Exchange Online", "entra": "Entra ID"}


class ServiceUnavailable(SmimeDoctorError):
    """The queue (Redis) cannot be reached: the asker should try again shortly."""


class AdError(SmimeDoctorError):
    """Active Directory could not answer or refused a request."""


class AdConnectionError(AdError, Retryable):
    """No domain controller could be reached (or one went away mid-operation)."""


class AdAuditInterrupted(AdConnectionError):
    """A paged read stopped part-way; `delivered` entries had been handed out before it did."""

    def __init__(self, message: str, delivered: int, *, admin_detail: str | None = None) -> None:
        super().__init__(message, admin_detail=admin_detail)
        self.delivered = delivered


class AdAuthError(AdError):
    """The service account's bind was refused (wrong password, locked, expired, disabled)."""


class AdPermissionError(AdError):
    """The service account lacks a right; the sentence names it."""


class AdWriteConflict(AdError):
    """The object changed since it was read, so a write was refused."""


class AdWriteError(AdError):
    """AD refused a write for another reason (constraint, schema, object gone)."""
