"""Redis (approvals, audit trail, job queue, conversations) cannot be reached: the asker is told.

Caught where a chat message or a button click enters (the chat core, the transports' approval
clicks), never per command.
"""

from __future__ import annotations

import logging

from workers.errors import ServiceUnavailable

UNAVAILABLE = {
    "en": "The service is unavailable right now; please try again in a minute.",
    "de": "Der Dienst ist gerade nicht erreichbar; bitte in einer Minute erneut versuchen.",
}

log = logging.getLogger("smime_doctor.dispatch")


def _outage_errors() -> tuple[type[Exception], ...]:
    try:
        from redis.exceptions import (
            ConnectionError as RedisConnectionError,  # deferred: Redis is optional (the embedded mode runs without it)
        )
        from redis.exceptions import (
            TimeoutError as RedisTimeoutError,  # deferred: Redis is optional (the embedded mode runs without it)
        )
    except ImportError:  # embedded mode needs no redis package
        return (ServiceUnavailable,)
    return (ServiceUnavailable, RedisConnectionError, RedisTimeoutError)


OUTAGE: tuple[type[Exception], ...] = _outage_errors()


def log_outage(where: str, exc: BaseException) -> None:
    """One line naming only the exception's type (its text names hosts; a URL could carry a password)."""
    log.warning("%s: Redis or the job queue is unreachable (%s); told the user", where, type(exc).__name__)
