"""confsql: programmable-voice conferences behind SQL (a PEP 249 module).

>>> import driver
>>> conn = driver.connect("Provider=Sandbox")
>>> conn.cursor().execute("SELECT count(*) > 0 FROM Conferences").fetchone()
(1,)
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ._version import __version__
from .dbapi import Connection, Cursor, translate
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"  # named (:name) parameters with a mapping work too


def connect(dsn: str = "", **props: Any) -> Connection:
    """Open a connection.

    ``dsn`` is an ODBC-style string (``"Provider=Twilio;AccountSid=AC…;AuthToken=…"``);
    ``props`` are the same properties as keywords (``account_sid=…``).
    ``connect("Provider=Sandbox")`` needs no account.
    """
    try:
        return Connection(dsn, **props)
    except Exception as exc:  # every failure leaves as a PEP 249 exception
        err = translate(exc)
        raise err from (None if err is exc else exc)


class _TypeObject:
    """Compares equal to every declared column type it stands for."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.upper() in self.names

    def __hash__(self) -> int:
        return hash(self.names)

    def __repr__(self) -> str:
        return f"<type {'/'.join(sorted(self.names))}>"


STRING = _TypeObject("TEXT")
BINARY = _TypeObject("BLOB")
NUMBER = _TypeObject("INTEGER", "REAL", "BOOLEAN")
DATETIME = _TypeObject("DATETIME")
ROWID = _TypeObject("ROWID")

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _dt.date:
    """A date from seconds since the epoch (UTC)."""
    return _dt.datetime.fromtimestamp(ticks, _dt.UTC).date()


def TimeFromTicks(ticks: float) -> _dt.time:
    """A time of day from seconds since the epoch (UTC)."""
    return _dt.datetime.fromtimestamp(ticks, _dt.UTC).time()


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    """A UTC timestamp from seconds since the epoch."""
    return _dt.datetime.fromtimestamp(ticks, _dt.UTC)


__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "__version__",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
