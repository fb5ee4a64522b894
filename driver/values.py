"""Value conversions between the provider's JSON and SQLite.

* API → SQL: every column type has a decoder, so ``typeof()`` is right
  (SQLite applies no affinity to virtual-table values).
* SQL → API: a constraint's right-hand value is converted the way SQLite's
  comparison affinity would convert it, so a pushed filter selects exactly the
  rows SQLite would have kept.
"""

from __future__ import annotations

import email.utils
import functools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final


class _NoMatch:
    """Sentinel: the constraint can never be true, so no request is needed."""

    def __repr__(self) -> str:
        return "NO_MATCH"


NO_MATCH: Final = _NoMatch()

Decoder = Callable[[Any], Any]

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_RFC2822_UTC = re.compile(
    r"^(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) (?:\+0000|GMT|UTC|-0000)$"
)
_SQL_DATETIME = "%Y-%m-%d %H:%M:%S"


@functools.lru_cache(maxsize=8192)
def rfc2822(raw: str) -> str | None:
    """An RFC 2822 timestamp (ISO 8601 also read) as UTC 'YYYY-MM-DD HH:MM:SS'."""
    match = _RFC2822_UTC.match(raw)
    if match and match.group(2) in _MONTHS:
        day, mon, year, hh, mm, ss = match.groups()
        return f"{year}-{_MONTHS[mon]:02d}-{int(day):02d} {hh}:{mm}:{ss}"
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return iso8601(raw)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime(_SQL_DATETIME)


@functools.lru_cache(maxsize=8192)
def iso8601(raw: str) -> str | None:
    """An ISO 8601 timestamp as UTC 'YYYY-MM-DD HH:MM:SS' (None if unreadable)."""
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime(_SQL_DATETIME)


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, dict | list):
        return json.dumps(raw, separators=(",", ":"))
    return str(raw)


def _integer(raw: Any) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        try:
            return int(float(str(raw)))
        except ValueError:
            return None


def _real(raw: Any) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def _boolean(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int | float):
        return 1 if raw else 0
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return 1
    if text in ("false", "0", "no"):
        return 0
    return None


def _datetime(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    return rfc2822(str(raw))


DECODERS: Final[dict[str, Decoder]] = {
    "TEXT": _text,
    "INTEGER": _integer,
    "REAL": _real,
    "BOOLEAN": _boolean,
    "DATETIME": _datetime,
}


def decoder(sql_type: str, read_datetime: Callable[[str], str | None] | None = None) -> Decoder:
    """The API → SQL converter for a declared column type.

    ``read_datetime`` is the provider's timestamp reader (RFC 2822 by default).
    """
    if sql_type == "DATETIME" and read_datetime is not None:
        read = read_datetime

        def from_provider(raw: Any) -> str | None:
            return None if raw is None or raw == "" else read(str(raw))

        return from_provider
    return DECODERS[sql_type]


# --- SQL → API ------------------------------------------------------------------


def sqlite_text(value: Any) -> str | _NoMatch:
    """What SQLite compares against a TEXT-affinity column for ``value``."""
    if value is None or isinstance(value, bytes | bytearray | memoryview):
        return NO_MATCH
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value)}.0"
        return repr(value)
    return NO_MATCH


def sqlite_number(value: Any) -> int | float | _NoMatch:
    """What SQLite compares against a NUMERIC-affinity column for ``value``."""
    if value is None or isinstance(value, bytes | bytearray | memoryview):
        return NO_MATCH
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return NO_MATCH
    return NO_MATCH


def comparable(sql_type: str, value: Any) -> Any:
    """``value`` as SQLite would compare it with a column of ``sql_type`` (or NO_MATCH).

    Used both to build the API parameter and to recheck fetched rows in Python,
    so the two always agree.
    """
    if sql_type == "TEXT":
        return sqlite_text(value)
    if sql_type == "DATETIME":
        # NUMERIC affinity, but stored values are text: only text can ever be equal.
        return value if isinstance(value, str) else NO_MATCH
    number = sqlite_number(value)
    if number is NO_MATCH:
        return NO_MATCH
    if sql_type == "BOOLEAN" and number not in (0, 1):
        return NO_MATCH
    if sql_type == "INTEGER" and isinstance(number, float) and not number.is_integer():
        return NO_MATCH
    return number


def api_param(sql_type: str, value: Any) -> str | _NoMatch:
    """An exact equality value as the API expects it in a query string."""
    converted = comparable(sql_type, value)
    if isinstance(converted, _NoMatch):
        return NO_MATCH
    if sql_type == "BOOLEAN":
        return "true" if converted else "false"
    if isinstance(converted, float) and converted.is_integer():
        return str(int(converted))
    return str(converted)


_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def date_bound(value: Any) -> str | None:
    """The UTC date (YYYY-MM-DD) to push for a DATETIME comparison, or None to push nothing.

    Stored values are 'YYYY-MM-DD HH:MM:SS' text compared as text, so for any
    stored s: s < v implies s[:10] <= v[:10], s > v implies s[:10] >= v[:10],
    and s = v implies s[:10] = v[:10].  Pushing the date prefix of v with the
    API's inclusive date filters therefore always returns a superset; SQLite
    rechecks the exact timestamp.  Values without a valid date prefix (numbers,
    partial dates) push nothing.
    """
    if not isinstance(value, str):
        return None
    match = _DATE_PREFIX.match(value)
    if not match:
        return None
    try:
        datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return match.group(0)
