"""SQLSTATE codes for every failure a client can see, mapped from the PEP 249 classes.

>>> classify(errors.NotSupportedError("no"))[0]
'0A000'
"""

from __future__ import annotations

from .. import errors
from .pgtypes import BadParameter, ValueMismatch
from .translate import PgSyntaxError, Untranslatable

QUERY_CANCELED = "57014"
READ_ONLY = "25006"
FEATURE_NOT_SUPPORTED = "0A000"
SYNTAX_ERROR = "42601"
PROTOCOL_VIOLATION = "08P01"
INVALID_PASSWORD = "28P01"
INVALID_AUTHORIZATION = "28000"
TOO_MANY_CONNECTIONS = "53300"
INVALID_PARAMETER_VALUE = "22023"
UNDEFINED_OBJECT = "42704"
INVALID_SQL_STATEMENT_NAME = "26000"
INVALID_CURSOR_NAME = "34000"
CONNECTION_FAILURE = "08006"


class ServeError(Exception):
    """An error the server itself raises, with its SQLSTATE."""

    def __init__(self, sqlstate: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.hint = hint


def _programming(message: str) -> str:
    lowered = message.lower()
    if "syntax error" in lowered or "incomplete input" in lowered:
        return SYNTAX_ERROR
    if "no such table" in lowered or "unknown table" in lowered:
        return "42P01"  # undefined_table
    if "no such column" in lowered or "unknown column" in lowered:
        return "42703"  # undefined_column
    if "no such function" in lowered or "wrong number of arguments" in lowered:
        return "42883"  # undefined_function
    if "unknown procedure" in lowered:
        return "42883"
    if "ambiguous" in lowered:
        return "42702"
    return "42000"  # syntax_error_or_access_rule_violation


def classify(exc: BaseException) -> tuple[str, str, str | None]:
    """(SQLSTATE, message, hint) for an exception raised while serving a statement."""
    if isinstance(exc, ServeError):
        return exc.sqlstate, exc.message, exc.hint
    message = str(exc) or type(exc).__name__
    if isinstance(exc, PgSyntaxError):
        return SYNTAX_ERROR, message, None
    if isinstance(exc, Untranslatable):
        return FEATURE_NOT_SUPPORTED, message, "confsql serve speaks the Postgres subset in README"
    if isinstance(exc, BadParameter):
        return "22P02", message, None
    if isinstance(exc, ValueMismatch):
        return "22000", f"a value does not fit its column's type: {message}", "CAST the column"
    if isinstance(exc, errors.OperationalError) and "cancelled" in message:
        return QUERY_CANCELED, "canceling statement due to user request", None
    if isinstance(exc, errors.NotSupportedError):
        return FEATURE_NOT_SUPPORTED, message, None
    if isinstance(exc, errors.ProgrammingError):
        return _programming(message), message, None
    if isinstance(exc, errors.DataError):
        return "22000", message, None
    if isinstance(exc, errors.IntegrityError):
        return "23000", message, None
    if isinstance(exc, errors.OperationalError):
        return "58000", message, None  # system_error: the provider or the network
    if isinstance(exc, errors.InterfaceError):
        return "55000", message, None
    if isinstance(exc, errors.InternalError):
        return "XX000", message, None
    if isinstance(exc, errors.Error):
        return "58000", message, None
    return "XX000", f"internal error in confsql serve: {type(exc).__name__}: {message}", None
