"""ConferenceEvents on a DB-API connection: EventsDb attached read-only, or a clear error."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

import driver
from driver.events.record import EventRecord
from driver.events.store import EventStore
from driver.shell import main as shell_main
from tests.conftest import Connect


def _record(n: int, event: str = "participant-join", **extra: object) -> EventRecord:
    fields: dict[str, object] = {
        "call_sid": f"CA{n}",
        "label": f"p{n}",
        "muted": False,
        "hold": False,
        "sequence_number": n,
        **extra,
    }
    return EventRecord(
        f"CF1/{n}",
        "Twilio",
        "CF1",
        event,
        f"2024-01-01 00:00:{n:02d}",
        "{}",
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "events.db"
    store = EventStore(path)
    store.add([_record(n) for n in range(1, 4)] + [_record(4, "participant-mute", muted=True)])
    store.close()
    return path


def test_without_events_db_the_error_says_how_to_enable_it(conn: driver.Connection) -> None:
    for sql in (
        "SELECT * FROM ConferenceEvents",
        "SELECT count(*) FROM ConferenceEvents WHERE 0",
        "SELECT * FROM Conferences c JOIN ConferenceEvents e ON e.ConferenceSid = c.Sid",
    ):
        with pytest.raises(driver.NotSupportedError) as info:
            conn.cursor().execute(sql)
        assert "EventsDb" in str(info.value) and "confsql listen" in str(info.value)
    # one failure stays one failure
    assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall() == [(0,)]
    listed = conn.cursor().execute(
        "SELECT count(*) FROM sys_tablecolumns WHERE TableName = 'ConferenceEvents'"
    )
    assert listed.fetchall() == [(15,)]


def test_rows_types_and_columns(connect: Connect, recorded: Path) -> None:
    conn = connect(EventsDb=str(recorded))
    cur = conn.cursor().execute("SELECT * FROM ConferenceEvents ORDER BY SequenceNumber")
    assert cur.description is not None
    star = [d[0] for d in cur.description]
    rows = cur.fetchall()
    listed = [
        r[0]
        for r in conn.cursor().execute(
            "SELECT ColumnName FROM sys_tablecolumns WHERE TableName = 'ConferenceEvents'"
        )
    ]
    assert star == listed
    assert [d[1] for d in cur.description][8:13] == [
        "DATETIME", "INTEGER", "BOOLEAN", "BOOLEAN", "BOOLEAN"
    ]  # fmt: skip
    assert len(rows) == 4
    typed = conn.cursor().execute(
        "SELECT typeof(Muted), typeof(Timestamp), typeof(SequenceNumber), typeof(Coaching) "
        "FROM ConferenceEvents WHERE Event = 'participant-mute'"
    )
    assert typed.fetchall() == [("integer", "text", "integer", "null")]


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("ConferenceSid = 'CF1'", "ConferenceEvents_ConferenceSid"),
        ("Event = 'participant-join'", "ConferenceEvents_Event"),
        ("Timestamp >= '2024-01-01 00:00:02'", "ConferenceEvents_Timestamp"),
    ],
)
def test_filters_use_indexes(connect: Connect, recorded: Path, where: str, index: str) -> None:
    conn = connect(EventsDb=str(recorded))
    plan = conn.cursor().execute(f"EXPLAIN QUERY PLAN SELECT * FROM ConferenceEvents WHERE {where}")
    assert index in " ".join(str(r) for r in plan.fetchall())


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO ConferenceEvents (EventId, Provider) VALUES ('x', 'Twilio')",
        "UPDATE ConferenceEvents SET Muted = 1",
        "DELETE FROM ConferenceEvents",
        "DELETE FROM confsql_events.ConferenceEvents",
    ],
)
def test_read_only(connect: Connect, recorded: Path, sql: str) -> None:
    conn = connect(EventsDb=str(recorded))
    with pytest.raises(driver.DatabaseError):
        conn.cursor().execute(sql)
    assert conn.cursor().execute("SELECT count(*) FROM ConferenceEvents").fetchall() == [(4,)]


def test_new_events_show_up_in_the_next_query(connect: Connect, recorded: Path) -> None:
    conn = connect(EventsDb=str(recorded))
    assert conn.cursor().execute("SELECT count(*) FROM ConferenceEvents").fetchall() == [(4,)]
    store = EventStore(recorded)
    store.add([_record(5)])
    store.close()
    assert conn.cursor().execute("SELECT count(*) FROM ConferenceEvents").fetchall() == [(5,)]


def test_missing_file_starts_empty(connect: Connect, tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    conn = connect(EventsDb=str(path))
    assert conn.cursor().execute("SELECT * FROM ConferenceEvents").fetchall() == []
    assert path.exists()  # the receiver started later writes into it


def test_not_an_events_database(connect: Connect, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    apsw.Connection(str(path)).execute("CREATE TABLE t(x)")
    with pytest.raises(driver.OperationalError, match="not a confsql events database"):
        connect(EventsDb=str(path))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(driver.OperationalError, match="EventsDb"):
        connect(EventsDb=str(garbage))


def test_odd_characters_in_the_path(connect: Connect, tmp_path: Path) -> None:
    folder = tmp_path / "a ?#%& b"
    folder.mkdir()
    conn = connect(EventsDb=str(folder / "ev.db"))
    assert conn.cursor().execute("SELECT count(*) FROM ConferenceEvents").fetchall() == [(0,)]


def test_shell_reads_events(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = shell_main(
        [
            "--sandbox",
            "--events-db",
            str(recorded),
            "--mode",
            "csv",
            "SELECT Label FROM ConferenceEvents WHERE Event = 'participant-mute'",
        ]
    )
    assert status == 0
    assert capsys.readouterr().out.split() == ["Label", "p4"]
