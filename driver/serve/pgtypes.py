"""Postgres types: which OID a result column gets, and how values travel (text or binary).

confsql's five column types map onto Postgres as::

    TEXT -> text (25)    INTEGER -> int8 (20)    BOOLEAN -> bool (16)
    DATETIME -> timestamp (1114)    REAL -> float8 (701)

A value that does not fit its column's announced type is a
:class:`ValueMismatch` (reported as SQLSTATE 22000), never a garbled row.

>>> encode_text(BOOL, 1), encode_text(INT8, 42), encode_text(FLOAT8, 0.5)
(b't', b'42', b'0.5')
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import struct
import uuid
from collections.abc import Callable
from typing import Any

BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 18, 19, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, UNKNOWN, BPCHAR, VARCHAR = 114, 700, 701, 705, 1042, 1043
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, NUMERIC, UUID = (
    1082,
    1083,
    1114,
    1184,
    1186,
    1700,
    2950,
)
TEXT_ARRAY, INT8_ARRAY, INT2_ARRAY, BOOL_ARRAY, FLOAT8_ARRAY = 1009, 1016, 1005, 1000, 1022
INT2VECTOR, OIDVECTOR = 22, 30

# Name, size, array OID and category of the types the catalog lists (pg_type rows).
TYPES: dict[int, tuple[str, int, int, str]] = {
    BOOL: ("bool", 1, BOOL_ARRAY, "B"),
    BYTEA: ("bytea", -1, 1001, "U"),
    CHAR: ("char", 1, 1002, "Z"),
    NAME: ("name", 64, 1003, "S"),
    INT8: ("int8", 8, INT8_ARRAY, "N"),
    INT2: ("int2", 2, INT2_ARRAY, "N"),
    INT4: ("int4", 4, 1007, "N"),
    TEXT: ("text", -1, TEXT_ARRAY, "S"),
    OID: ("oid", 4, 1028, "N"),
    JSON: ("json", -1, 199, "U"),
    FLOAT4: ("float4", 4, 1021, "N"),
    FLOAT8: ("float8", 8, FLOAT8_ARRAY, "N"),
    VARCHAR: ("varchar", -1, 1015, "S"),
    DATE: ("date", 4, 1182, "D"),
    TIMESTAMP: ("timestamp", 8, 1115, "D"),
    TIMESTAMPTZ: ("timestamptz", 8, 1185, "D"),
    NUMERIC: ("numeric", -1, 1231, "N"),
    UUID: ("uuid", 16, 2951, "U"),
    INT2VECTOR: ("int2vector", -1, 1006, "A"),
    OIDVECTOR: ("oidvector", -1, 1013, "A"),
    TEXT_ARRAY: ("_text", -1, 0, "A"),
    INT8_ARRAY: ("_int8", -1, 0, "A"),
    INT2_ARRAY: ("_int2", -1, 0, "A"),
    BOOL_ARRAY: ("_bool", -1, 0, "A"),
    FLOAT8_ARRAY: ("_float8", -1, 0, "A"),
}

FORMAT_NAMES = {
    BOOL: "boolean",
    INT8: "bigint",
    INT4: "integer",
    INT2: "smallint",
    TEXT: "text",
    FLOAT8: "double precision",
    TIMESTAMP: "timestamp without time zone",
    VARCHAR: "character varying",
    NAME: "name",
    OID: "oid",
    CHAR: '"char"',
    DATE: "date",
}

# confsql column types (schema/) and the catalog's own declared types.
DECLTYPE_OIDS: dict[str, int] = {
    "TEXT": TEXT,
    "INTEGER": INT8,
    "BOOLEAN": BOOL,
    "DATETIME": TIMESTAMP,
    "REAL": FLOAT8,
    "BIGINT": INT8,
    "INT": INT8,
    "OID": OID,
    "NAME": NAME,
    "CHAR": CHAR,
    "INT2": INT2,
    "INT4": INT4,
    "DATE": DATE,
    "TEXT[]": TEXT_ARRAY,
    "INT2[]": INT2_ARRAY,
    "INT8[]": INT8_ARRAY,
    "INT2VECTOR": INT2VECTOR,
    "OIDVECTOR": OIDVECTOR,
}

# sqlglot's type names (from type annotation of an expression) to OIDs.
_ANNOTATED = {
    "BIGINT": INT8,
    "INT": INT8,
    "SMALLINT": INT8,
    "TINYINT": INT8,
    "UBIGINT": INT8,
    "BOOLEAN": BOOL,
    "DOUBLE": FLOAT8,
    "FLOAT": FLOAT8,
    "DECIMAL": FLOAT8,
    "TEXT": TEXT,
    "VARCHAR": TEXT,
    "CHAR": TEXT,
    "NCHAR": TEXT,
    "NVARCHAR": TEXT,
    "TIMESTAMP": TIMESTAMP,
    "TIMESTAMPTZ": TIMESTAMP,
    "DATETIME": TIMESTAMP,
    "DATE": DATE,
}


def oid_for_decltype(decltype: str | None) -> int | None:
    """OID for a column's declared type, if it is one we know."""
    if not decltype:
        return None
    return DECLTYPE_OIDS.get(decltype.split()[0].upper())


def oid_for_annotation(type_name: str | None) -> int | None:
    """OID for a sqlglot type name such as ``BIGINT`` or ``ARRAY<TEXT>``."""
    if not type_name:
        return None
    name = type_name.upper()
    if name.endswith("[]") or name.startswith("ARRAY"):
        element = name[:-2] if name.endswith("[]") else name[6:-1]
        inner = _ANNOTATED.get(element)
        return {INT8: INT8_ARRAY, BOOL: BOOL_ARRAY, FLOAT8: FLOAT8_ARRAY}.get(
            inner or 0, TEXT_ARRAY
        )
    return _ANNOTATED.get(name)


def oid_for_value(value: Any) -> int | None:
    """OID that fits a Python value from SQLite (None when the value says nothing)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT8
    if isinstance(value, float):
        return FLOAT8
    if isinstance(value, str):
        return TEXT
    if isinstance(value, bytes):
        return BYTEA
    if isinstance(value, dt.datetime):
        return TIMESTAMP
    return None


def type_size(oid: int) -> int:
    """typlen for a RowDescription."""
    return TYPES.get(oid, ("", -1, 0, ""))[1]


class ValueMismatch(Exception):
    """A value cannot be sent as its column's announced type."""


def _text_int(value: Any) -> bytes:
    if isinstance(value, int):
        return str(int(value)).encode()
    if isinstance(value, float) and value.is_integer():
        return str(int(value)).encode()
    raise ValueMismatch(f"{value!r} is not an integer")


def _text_bool(value: Any) -> bytes:
    if value in (0, 1) and not isinstance(value, str):
        return b"t" if value else b"f"
    raise ValueMismatch(f"{value!r} is not a boolean (0 or 1)")


def _float_text(number: float) -> bytes:
    if math.isnan(number):
        return b"NaN"
    if math.isinf(number):
        return b"Infinity" if number > 0 else b"-Infinity"
    return repr(number).encode()


def _text_float(value: Any) -> bytes:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _float_text(float(value))
    raise ValueMismatch(f"{value!r} is not a number")


def _timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):  # NativeTypes=true: aware, in UTC
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed
    raise ValueMismatch(f"{value!r} is not a timestamp")


def _text_timestamp(value: Any) -> bytes:
    return _timestamp(value).isoformat(sep=" ").encode()


def _text_date(value: Any) -> bytes:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10]).isoformat().encode()
        except ValueError:
            pass
    raise ValueMismatch(f"{value!r} is not a date")


def _text_any(value: Any) -> bytes:
    if isinstance(value, bytes):
        return b"\\x" + value.hex().encode()
    if isinstance(value, float):
        return _float_text(value)
    return str(value).encode()


TEXT_ENCODERS: dict[int, Callable[[Any], bytes]] = {
    INT8: _text_int,
    INT2: _text_int,
    INT4: _text_int,
    OID: _text_int,
    BOOL: _text_bool,
    FLOAT8: _text_float,
    TIMESTAMP: _text_timestamp,
    DATE: _text_date,
}

_EPOCH_2000 = dt.datetime(2000, 1, 1)


def _binary_timestamp(value: Any) -> bytes:
    delta = _timestamp(value) - _EPOCH_2000
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return struct.pack("!q", micros)


def _binary_int(fmt: str) -> Callable[[Any], bytes]:
    def encode(value: Any) -> bytes:
        return struct.pack(fmt, int(_text_int(value)))

    return encode


BINARY_ENCODERS: dict[int, Callable[[Any], bytes]] = {
    INT8: _binary_int("!q"),
    INT4: _binary_int("!i"),
    INT2: _binary_int("!h"),
    OID: _binary_int("!I"),
    BOOL: lambda v: b"\x01" if _text_bool(v) == b"t" else b"\x00",
    FLOAT8: lambda v: struct.pack("!d", float(_text_float(v).decode().replace("Infinity", "inf"))),
    TIMESTAMP: _binary_timestamp,
    BYTEA: lambda v: v if isinstance(v, bytes) else str(v).encode(),
}


def encode_text(oid: int, value: Any) -> bytes:
    """One value in text format (tests and doctests)."""
    return encoder(oid, False)(value)


def encoder(oid: int, binary: bool) -> Callable[[Any], bytes]:
    """The function turning a SQLite value into the wire bytes of ``oid``."""
    if binary:
        found = BINARY_ENCODERS.get(oid)
        if found is None and oid not in (TEXT, VARCHAR, NAME, CHAR, UNKNOWN, BPCHAR):
            raise ValueMismatch(f"binary output of type {oid} is not supported; ask for text")
        return found or (lambda v: _text_any(v))
    return TEXT_ENCODERS.get(oid, _text_any)


# --- parameters ---------------------------------------------------------------------


class BadParameter(Exception):
    """A Bind value that cannot be read as its declared type (SQLSTATE 22P02)."""


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("t", "true", "y", "yes", "on", "1"):
        return True
    if lowered in ("f", "false", "n", "no", "off", "0"):
        return False
    raise BadParameter(f"invalid input syntax for type boolean: {text!r}")


def _parse_timestamp(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadParameter(f"invalid input syntax for type timestamp: {text!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _parse_number(kind: Callable[[str], Any], label: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text.strip())
        except (ValueError, decimal.InvalidOperation):
            raise BadParameter(f"invalid input syntax for type {label}: {text!r}") from None

    return parse


_TEXT_PARAMS: dict[int, Callable[[str], Any]] = {
    INT2: _parse_number(int, "smallint"),
    INT4: _parse_number(int, "integer"),
    INT8: _parse_number(int, "bigint"),
    OID: _parse_number(int, "oid"),
    FLOAT4: _parse_number(float, "real"),
    FLOAT8: _parse_number(float, "double precision"),
    NUMERIC: _parse_number(lambda s: float(decimal.Decimal(s)), "numeric"),
    BOOL: _parse_bool,
    TIMESTAMP: _parse_timestamp,
    TIMESTAMPTZ: _parse_timestamp,
    DATE: lambda s: s.strip(),
}


def _numeric_binary(data: bytes) -> float:
    ndigits, weight, sign, _dscale = struct.unpack("!hhHh", data[:8])
    if sign == 0xC000:
        return math.nan
    digits = struct.unpack(f"!{ndigits}h", data[8 : 8 + 2 * ndigits])
    total = decimal.Decimal(0)
    for i, d in enumerate(digits):
        total += decimal.Decimal(d).scaleb(4 * (weight - i))
    return float(-total if sign == 0x4000 else total)


def _binary_timestamp_in(data: bytes) -> dt.datetime:
    (micros,) = struct.unpack("!q", data)
    return _EPOCH_2000 + dt.timedelta(microseconds=micros)


_BINARY_PARAMS: dict[int, Callable[[bytes], Any]] = {
    BOOL: lambda b: b != b"\x00",
    INT2: lambda b: struct.unpack("!h", b)[0],
    INT4: lambda b: struct.unpack("!i", b)[0],
    INT8: lambda b: struct.unpack("!q", b)[0],
    OID: lambda b: struct.unpack("!I", b)[0],
    FLOAT4: lambda b: struct.unpack("!f", b)[0],
    FLOAT8: lambda b: struct.unpack("!d", b)[0],
    NUMERIC: _numeric_binary,
    TIMESTAMP: _binary_timestamp_in,
    TIMESTAMPTZ: _binary_timestamp_in,
    DATE: lambda b: (
        dt.date(2000, 1, 1) + dt.timedelta(days=struct.unpack("!i", b)[0])
    ).isoformat(),
    BYTEA: bytes,
    UUID: lambda b: str(uuid.UUID(bytes=b)),
}


def decode_param(oid: int, data: bytes | None, binary: bool) -> Any:
    """A Bind parameter value as the Python value the DB-API should receive."""
    if data is None:
        return None
    if binary:
        if oid in (TEXT, VARCHAR, NAME, BPCHAR, UNKNOWN, CHAR, JSON, 0):
            return data.decode("utf-8")
        parse_binary = _BINARY_PARAMS.get(oid)
        if parse_binary is None:
            raise BadParameter(f"binary parameters of type {oid} are not supported; send text")
        try:
            return parse_binary(data)
        except (struct.error, ValueError, IndexError):
            raise BadParameter(f"malformed binary value for type {oid}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadParameter("parameter is not valid UTF-8") from None
    parse_text = _TEXT_PARAMS.get(oid)
    return text if parse_text is None else parse_text(text)
