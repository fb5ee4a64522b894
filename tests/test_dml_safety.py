"""Writes that could hang up live calls by accident (issue 12, section 2)."""

from __future__ import annotations

import datetime as dt

import pytest

import driver
from driver.emulator import Emulator
from tests.conftest import Connect


@pytest.fixture
def rooms(emu: Emulator) -> list[str]:
    """Two live rooms; in the first, the first participant ends the conference on exit."""
    sids = []
    for i in range(2):
        sid = str(emu.create_conference(f"room {i}", "in-progress")["sid"])
        emu.add_participant(sid, label="host", end_conference_on_exit=i == 0)
        emu.add_participant(sid, label="guest")
        emu.add_participant(sid, label="other")
        sids.append(sid)
    emu.requests.clear()
    return sids


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM Participants",
        "UPDATE Participants SET Muted = 1",
        "UPDATE Conferences SET Status = 'completed'",
        "  delete from participants ;",
    ],
)
def test_whole_table_writes_are_refused_by_default(
    conn: driver.Connection, rooms: list[str], emu: Emulator, sql: str
) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        conn.cursor().execute(sql)
    text = str(info.value)
    assert "without WHERE" in text and "WHERE 1" in text and "SafeUpdates=false" in text
    assert emu.requests == []  # refused before even reading


def test_where_1_states_the_intent_and_a_404_counts_as_done(
    conn: driver.Connection, rooms: list[str], emu: Emulator
) -> None:
    cur = conn.cursor().execute("DELETE FROM Participants WHERE 1")
    # Deleting the host of room 0 ended that conference: its other two were already gone.
    assert cur.rowcount == 6
    notes = [text for kind, text in cur.messages if kind is driver.Warning]
    assert len(notes) == 2 and all("already gone" in n for n in notes)
    assert conn.cursor().execute("SELECT count(*) FROM Participants").fetchone() == (0,)


def test_safe_updates_can_be_turned_off(connect: Connect, rooms: list[str], emu: Emulator) -> None:
    conn = connect(SafeUpdates=False)
    assert conn.cursor().execute("UPDATE Participants SET Muted = 1").rowcount == 6
    with pytest.raises(driver.ProgrammingError, match="SafeUpdates must be true or false"):
        connect(SafeUpdates="perhaps")


def test_a_failing_row_is_named_not_a_url(
    conn: driver.Connection, rooms: list[str], emu: Emulator
) -> None:
    emu.faults.add("500", operation="participant", method="POST", count=1)
    with pytest.raises(driver.OperationalError) as info:
        conn.cursor().execute(
            "UPDATE Participants SET Hold = 1 WHERE ConferenceSid = ? AND Label = 'guest'",
            (rooms[1],),
        )
    text = str(info.value)
    assert f"UPDATE Participants (ConferenceSid={rooms[1]}, CallSid=CA" in text
    assert f"/{rooms[1]}/" not in text and "http" not in text  # no URL, no path
    assert "may or may not" in text


def test_native_types(connect: Connect, rooms: list[str]) -> None:
    plain = connect().cursor().execute("SELECT Muted, DateCreated FROM Participants").fetchone()
    assert plain is not None and plain[0] in (0, 1) and isinstance(plain[1], str)
    conn = connect(NativeTypes=True)
    one = conn.cursor().execute("SELECT Muted, DateCreated FROM Participants").fetchone()
    every = conn.cursor().execute("SELECT * FROM Participants").fetchall()  # direct path
    assert one is not None
    names = [d[0] for d in conn.cursor().execute("SELECT * FROM Participants").description or ()]
    for muted, created in [
        one,
        *((r[names.index("Muted")], r[names.index("DateCreated")]) for r in every),
    ]:
        assert isinstance(muted, bool)
        assert isinstance(created, dt.datetime) and created.tzinfo is dt.UTC


def test_executemany_failure_says_what_was_already_written(
    conn: driver.Connection, emu: Emulator
) -> None:
    emu.faults.add("500", method="POST", skip=2)  # the third parameter set fails
    sql = "EXEC AddParticipants ConferenceSid = 'many', From = '+15550100', To = ?, Label = ?"
    with pytest.raises(driver.OperationalError) as info:
        conn.cursor().executemany(sql, [(f"+1555020{i}", f"m{i}") for i in range(5)])
    text = str(info.value)
    assert "parameter set 3 failed; the 2 before it were already executed" in text
    assert len(emu.requests.matching("POST")) == 3
