"""Small pieces: statement splitting, session commands, type encodings, wire framing."""

from __future__ import annotations

import datetime as dt
import io
import struct

import pytest

from driver.serve import commands, pgtypes, wire
from driver.serve.split import is_blank, positional, split_statements
from driver.serve.statements import prepare


def test_split_respects_quotes_comments_and_dollar_strings() -> None:
    text = "SET a = 1; SELECT ';' AS \"x;y\" -- c;\n; SELECT $q$;$q$; /* ; */ SELECT E'\\';'"
    assert split_statements(text) == [
        "SET a = 1",
        "SELECT ';' AS \"x;y\" -- c;",
        "SELECT $q$;$q$",
        "/* ; */ SELECT E'\\';'",
    ]
    assert split_statements(" ; -- nothing\n") == []
    assert is_blank("/* a */ -- b\n ")


def test_positional_skips_literals() -> None:
    assert positional("SELECT '$1', $2, \"$3\", $1", "$") == ("SELECT '$1', ?, \"$3\", ?", [2, 1])


@pytest.mark.parametrize(
    ("sql", "name", "argument", "value"),
    [
        ("SET extra_float_digits = 3", "set", "extra_float_digits", "3"),
        ("SET SESSION TIME ZONE 'UTC'", "set", "timezone", "UTC"),
        ("set datestyle to 'ISO', 'MDY'", "set", "datestyle", "ISO, MDY"),
        ("SHOW transaction isolation level", "show", "transaction_isolation", ""),
        ("BEGIN", "begin", "", ""),
        ("START TRANSACTION ISOLATION LEVEL READ COMMITTED", "begin", "", ""),
        ("COMMIT", "commit", "", ""),
        ("ROLLBACK", "rollback", "", ""),
        ("ROLLBACK TO SAVEPOINT s1", "rollback_to", "", ""),
        ("SAVEPOINT _pg3_1", "savepoint", "", ""),
        ('DEALLOCATE "_PLAN0x1"', "deallocate", "_PLAN0x1", ""),
        ("DISCARD ALL", "discard", "all", ""),
    ],
)
def test_session_commands(sql: str, name: str, argument: str, value: str) -> None:
    cmd = commands.match(sql)
    assert cmd is not None and (cmd.name, cmd.argument, cmd.value) == (name, argument, value)


def test_non_commands() -> None:
    assert commands.match("SELECT 1") is None
    assert commands.match("SETTLE") is None


def test_statement_kinds() -> None:
    assert prepare("  ").kind == "empty"
    assert prepare("SHOW server_version").kind == "session"
    assert prepare("EXECUTE AddParticipants ConferenceSid = $1").kind == "exec"
    query = prepare('UPDATE "Participants" SET "Muted" = true WHERE "CallSid" = $1')
    assert query.kind == "query" and query.writes and query.command == "UPDATE"


def test_text_encodings() -> None:
    assert pgtypes.encode_text(pgtypes.TIMESTAMP, "2026-01-02 03:04:05") == b"2026-01-02 03:04:05"
    assert pgtypes.encode_text(pgtypes.FLOAT8, float("inf")) == b"Infinity"
    with pytest.raises(pgtypes.ValueMismatch):
        pgtypes.encode_text(pgtypes.INT8, "abc")
    with pytest.raises(pgtypes.ValueMismatch):
        pgtypes.encode_text(pgtypes.BOOL, 2)


def test_binary_encodings() -> None:
    assert pgtypes.encoder(pgtypes.INT8, True)(7) == struct.pack("!q", 7)
    stamp = pgtypes.encoder(pgtypes.TIMESTAMP, True)("2000-01-01 00:00:01")
    assert stamp == struct.pack("!q", 1_000_000)


def test_parameters() -> None:
    assert pgtypes.decode_param(pgtypes.INT4, b"42", False) == 42
    assert pgtypes.decode_param(pgtypes.BOOL, b"\x01", True) is True
    assert pgtypes.decode_param(0, b"text", False) == "text"
    assert pgtypes.decode_param(
        pgtypes.TIMESTAMPTZ, b"2026-01-02 03:04:05+01", False
    ) == dt.datetime(2026, 1, 2, 2, 4, 5)
    assert pgtypes.decode_param(pgtypes.INT8, None, False) is None
    with pytest.raises(pgtypes.BadParameter):
        pgtypes.decode_param(pgtypes.INT8, b"x", False)


def test_wire_framing() -> None:
    msg = wire.message(b"Q", b"SELECT 1\x00")
    assert wire.read_message(io.BytesIO(msg)) == (b"Q", b"SELECT 1\x00")
    with pytest.raises(wire.Disconnected):
        wire.read_message(io.BytesIO(msg[:3]))
    with pytest.raises(wire.ProtocolError):
        wire.read_message(io.BytesIO(b"Q" + struct.pack("!i", 2)))
    with pytest.raises(wire.ProtocolError):
        wire.decode_parse(b"name-without-terminator")
    bind = wire.decode_bind(
        b"\x00s1\x00"
        + struct.pack("!hh", 1, 1)
        + struct.pack("!hi", 1, 1)
        + b"\x01"
        + struct.pack("!h", 0)
    )
    assert (bind.statement, bind.values, bind.param_format(0)) == ("s1", (b"\x01",), 1)


def test_native_types_values_encode_too() -> None:
    aware = dt.datetime(2026, 1, 2, 4, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert pgtypes.encode_text(pgtypes.TIMESTAMP, aware) == b"2026-01-02 03:04:05"
    assert pgtypes.encode_text(pgtypes.BOOL, True) == b"t"
    assert pgtypes.oid_for_value(aware) == pgtypes.TIMESTAMP
