"""The one exception tree. Each subclass means one behaviour, decided in one place.

    CdrIngestError
     ├── ConfigError      refuse to start (names the variable)
     ├── AuthError        receiver: 401
     ├── PayloadError     receiver: 400 (malformed) or 422 (not a CDR); worker: quarantine, no retry
     └── TransientError   receiver: 503; worker: re-raise so RQ's Retry applies

HTTP statuses are chosen only in ``receiver/errors.py``; retry-or-quarantine only in ``workers/jobs.py``.
"""


class CdrIngestError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(CdrIngestError):
    """A setting is missing or invalid; the process must not start."""


class AuthError(CdrIngestError):
    """The request is not from the vendor it claims to be from."""


class PayloadError(CdrIngestError):
    """The payload cannot become a CDR.

    ``malformed`` is true when the body is not even valid JSON/form (400); otherwise it is a
    well-formed body that is not a CDR of that vendor (422).
    """

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


class TransientError(CdrIngestError):
    """A dependency (Redis, the store, the spool) failed; trying again later may work."""
