"""The Postgres wire protocol (version 3.0): reading frontend messages, building backend ones.

Only framing and field layout live here; what a message *means* is decided in
:mod:`driver.serve.client`.  Every reader raises :class:`ProtocolError` on a
malformed message, never ``struct.error`` or ``IndexError``.

>>> decode_query(b"SELECT 1\\x00")
'SELECT 1'
>>> ready_for_query(b"I")
b'Z\\x00\\x00\\x00\\x05I'
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_MESSAGE = 64 * 1024 * 1024  # a larger frame is an attack or a bug, not a query


class ProtocolError(Exception):
    """The client broke the protocol; the connection is closed after reporting it."""


class Disconnected(Exception):
    """The client went away (end of stream)."""


# --- reading ---------------------------------------------------------------------


def read_exact(stream: BinaryIO, size: int) -> bytes:
    """Exactly ``size`` bytes, or :class:`Disconnected`."""
    data = stream.read(size)
    if data is None or len(data) < size:
        raise Disconnected
    return data


@dataclass(frozen=True)
class Startup:
    """The first message: a protocol version (or a special request code) and its body."""

    code: int
    body: bytes


def read_startup(stream: BinaryIO) -> Startup:
    """A startup-phase message (no type byte): SSLRequest, CancelRequest or StartupMessage."""
    (length,) = struct.unpack("!i", read_exact(stream, 4))
    if length < 8 or length > 10_000:
        raise ProtocolError(f"invalid startup packet length {length}")
    (code,) = struct.unpack("!i", read_exact(stream, 4))
    return Startup(code, read_exact(stream, length - 8))


def startup_parameters(body: bytes) -> dict[str, str]:
    """``user``, ``database``, ``application_name``, ... from a StartupMessage body."""
    parts = body.split(b"\x00")
    params: dict[str, str] = {}
    for i in range(0, len(parts) - 1, 2):
        if not parts[i]:
            break
        params[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return params


def read_message(stream: BinaryIO) -> tuple[bytes, bytes]:
    """One regular message: its type byte and its payload."""
    head = stream.read(1)
    if not head:
        raise Disconnected
    (length,) = struct.unpack("!i", read_exact(stream, 4))
    if length < 4 or length > MAX_MESSAGE:
        raise ProtocolError(f"invalid message length {length}")
    return head, read_exact(stream, length - 4)


class Reader:
    """Cursor over one message's payload."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ProtocolError("message is shorter than its fields")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def int16(self) -> int:
        """A signed 16-bit integer."""
        return int(struct.unpack("!h", self._take(2))[0])

    def int32(self) -> int:
        """A signed 32-bit integer."""
        return int(struct.unpack("!i", self._take(4))[0])

    def uint32(self) -> int:
        """An unsigned 32-bit integer (type OIDs)."""
        return int(struct.unpack("!I", self._take(4))[0])

    def byte(self) -> bytes:
        """One byte."""
        return self._take(1)

    def bytes(self, size: int) -> bytes:
        """``size`` raw bytes."""
        return self._take(size)

    def cstring(self) -> str:
        """A NUL-terminated UTF-8 string."""
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolError("string is not NUL-terminated")
        text = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("string is not valid UTF-8") from None


def decode_query(payload: bytes) -> str:
    """The SQL text of a Query ('Q') message."""
    return Reader(payload).cstring()


@dataclass(frozen=True)
class Parse:
    """'P': name a statement and give its parameter types (0 = let the server decide)."""

    name: str
    sql: str
    param_oids: tuple[int, ...]


def decode_parse(payload: bytes) -> Parse:
    """Decode a Parse message."""
    r = Reader(payload)
    name, sql = r.cstring(), r.cstring()
    count = r.int16()
    return Parse(name, sql, tuple(r.uint32() for _ in range(max(count, 0))))


@dataclass(frozen=True)
class Bind:
    """'B': bind parameter values to a statement, creating a portal."""

    portal: str
    statement: str
    param_formats: tuple[int, ...]
    values: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]

    def param_format(self, index: int) -> int:
        """Format code (0 text, 1 binary) of parameter ``index``."""
        if not self.param_formats:
            return 0
        return self.param_formats[0] if len(self.param_formats) == 1 else self.param_formats[index]


def decode_bind(payload: bytes) -> Bind:
    """Decode a Bind message."""
    r = Reader(payload)
    portal, statement = r.cstring(), r.cstring()
    formats = tuple(r.int16() for _ in range(max(r.int16(), 0)))
    values: list[bytes | None] = []
    for _ in range(max(r.int16(), 0)):
        size = r.int32()
        values.append(None if size < 0 else r.bytes(size))
    if len(formats) not in (0, 1, len(values)):
        raise ProtocolError("Bind has a format code count that matches no parameter count")
    results = tuple(r.int16() for _ in range(max(r.int16(), 0)))
    return Bind(portal, statement, formats, tuple(values), results)


def decode_target(payload: bytes) -> tuple[str, str]:
    """Describe/Close: ('S' statement or 'P' portal, name)."""
    r = Reader(payload)
    kind = r.byte().decode("latin-1")
    if kind not in ("S", "P"):
        raise ProtocolError(f"Describe/Close target must be S or P, not {kind!r}")
    return kind, r.cstring()


def decode_execute(payload: bytes) -> tuple[str, int]:
    """Execute: (portal name, maximum rows; 0 = all)."""
    r = Reader(payload)
    return r.cstring(), r.int32()


# --- writing ---------------------------------------------------------------------


def message(kind: bytes, body: bytes = b"") -> bytes:
    """Frame ``body`` as a backend message of type ``kind``."""
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str) -> bytes:
    """``text`` as a NUL-terminated UTF-8 string."""
    return text.encode("utf-8") + b"\x00"


def auth_ok() -> bytes:
    """AuthenticationOk."""
    return message(b"R", struct.pack("!i", 0))


def auth_sasl(mechanisms: Sequence[str]) -> bytes:
    """AuthenticationSASL listing the mechanisms offered."""
    return message(b"R", struct.pack("!i", 10) + b"".join(cstr(m) for m in mechanisms) + b"\x00")


def auth_sasl_continue(data: bytes) -> bytes:
    """AuthenticationSASLContinue (server-first-message)."""
    return message(b"R", struct.pack("!i", 11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    """AuthenticationSASLFinal (server-final-message)."""
    return message(b"R", struct.pack("!i", 12) + data)


def parameter_status(name: str, value: str) -> bytes:
    """ParameterStatus: a run-time parameter the client should know."""
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(process_id: int, secret: int) -> bytes:
    """BackendKeyData: what a CancelRequest for this session must quote."""
    return message(b"K", struct.pack("!iI", process_id, secret))


def ready_for_query(status: bytes) -> bytes:
    """ReadyForQuery with the transaction status (I idle, T in a block, E failed block)."""
    return message(b"Z", status)


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    type_oid: int
    type_size: int = -1
    format: int = 0


def row_description(fields: Iterable[Field]) -> bytes:
    """RowDescription."""
    items = list(fields)
    body = bytearray(struct.pack("!h", len(items)))
    for f in items:
        body += cstr(f.name)
        body += struct.pack("!IhIhih", 0, 0, f.type_oid, f.type_size, -1, f.format)
    return message(b"T", bytes(body))


def data_row(values: Sequence[bytes | None]) -> bytes:
    """DataRow from already-encoded values (None is SQL NULL)."""
    parts = [struct.pack("!h", len(values))]
    for v in values:
        if v is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(struct.pack("!i", len(v)))
            parts.append(v)
    return message(b"D", b"".join(parts))


def parameter_description(oids: Sequence[int]) -> bytes:
    """ParameterDescription."""
    return message(
        b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!I", o) for o in oids)
    )


def command_complete(tag: str) -> bytes:
    """CommandComplete with its tag (``SELECT 3``, ``INSERT 0 1``, ``SET`` ...)."""
    return message(b"C", cstr(tag))


def _fields(severity: str, sqlstate: str, text: str, detail: str | None, hint: str | None) -> bytes:
    body = b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(sqlstate) + b"M" + cstr(text)
    if detail:
        body += b"D" + cstr(detail)
    if hint:
        body += b"H" + cstr(hint)
    return body + b"\x00"


def error_response(
    sqlstate: str,
    text: str,
    *,
    severity: str = "ERROR",
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """ErrorResponse carrying severity, SQLSTATE and message."""
    return message(b"E", _fields(severity, sqlstate, text, detail, hint))


def notice_response(sqlstate: str, text: str, *, severity: str = "WARNING") -> bytes:
    """NoticeResponse (a warning the client shows but that does not fail the statement)."""
    return message(b"N", _fields(severity, sqlstate, text, None, None))


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY = message(b"I")
