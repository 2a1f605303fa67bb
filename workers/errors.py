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
