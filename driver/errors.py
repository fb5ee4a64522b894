"""PEP 249 exception hierarchy.

Every failure that leaves confsql is one of these.  Provider failures carry
``status`` (HTTP status), ``code`` (the provider's error code: an integer
for Twilio, a string for Telnyx) and
``more_info`` (a documentation link) when the provider supplied them.
"""

from __future__ import annotations


class Warning(Exception):
    """Important warnings, e.g. data truncation."""


class Error(Exception):
    """Base class of every confsql error."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | str | None = None,
        more_info: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.more_info = more_info


class InterfaceError(Error):
    """Misuse of the driver itself (e.g. a closed cursor)."""


class DatabaseError(Error):
    """Errors reported by the provider or the SQL engine."""


class DataError(DatabaseError):
    """A value is of the wrong type or out of range."""


class OperationalError(DatabaseError):
    """Connection, authentication, network or rate-limit problems."""


class IntegrityError(DatabaseError):
    """A relational-integrity rule was broken."""


class InternalError(DatabaseError):
    """confsql reached a state it should not (a bug: please report it)."""


class ProgrammingError(DatabaseError):
    """Bad SQL, unknown table/procedure/parameter, wrong parameter count."""


class NotSupportedError(DatabaseError):
    """The statement or feature is not supported by the provider."""


__all__ = [
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Warning",
]
