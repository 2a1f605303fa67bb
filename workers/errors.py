"""The product's own exceptions.

Every parser and source raises only these (or subclasses), so callers — the CLI, the
audit loop, the chat bot — can turn any failure into one sentence for a person instead
of a traceback. ``str(error)`` is always that sentence.
"""

from __future__ import annotations


class SmimeDoctorError(Exception):
    """Base of every error we raise on purpose."""


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


class AmbiguousUserError(UserLookupError):
    pass


# -- live Microsoft 365 sources (Exchange Online, Graph, sign-in) --------------------------


class SourceError(SmimeDoctorError):
    """A live source could not give an answer; ``str()`` says which service, what step and what to do."""


class AuthError(SourceError):
    """Signing in as the app failed, or the service refused the app's token or permissions."""


class ThrottledError(SourceError):
    """A service kept throttling (429/503/504) beyond the retry budget."""


class SourceUnreachableError(SourceError):
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


class TransientError(SmimeDoctorError):
    """A source or service failed in a way that may pass (timeout, throttling, restart): retry."""


class ServiceUnavailable(SmimeDoctorError):
    """The queue (Redis) cannot be reached: the asker should try again shortly."""


class AdError(SmimeDoctorError):
    """Active Directory could not answer or refused a request."""


class AdConnectionError(AdError):
    """No domain controller could be reached (or one went away mid-operation)."""


class AdAuditInterrupted(AdConnectionError):
    """A paged read stopped part-way; `delivered` entries had been handed out before it did."""

    def __init__(self, message: str, delivered: int) -> None:
        super().__init__(message)
        self.delivered = delivered


class AdAuthError(AdError):
    """The service account's bind was refused (wrong password, locked, expired, disabled)."""


class AdPermissionError(AdError):
    """The service account lacks a right; the sentence names it."""


class AdWriteConflict(AdError):
    """The object changed since it was read, so a write was refused."""


class AdWriteError(AdError):
    """AD refused a write for another reason (constraint, schema, object gone)."""
