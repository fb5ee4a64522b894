"""INSERT / UPDATE / DELETE on the tables, mapped onto the stored procedures.

Each write is checked twice: the request the emulator received (same as the
matching EXEC) and the emulator's state afterwards.  Refused statements send
nothing; a WHERE that matches nothing sends nothing and reports rowcount 0.
"""

from __future__ import annotations

from typing import Any

import pytest

import driver
from driver import schema
from driver.emulator import DEMO_ACCOUNT_SID, Emulator
from tests.conftest import received

CATALOG = schema.load()
PARTICIPANT_COLUMNS = [c.name for c in CATALOG.tables["Participants"].columns]
CONFERENCE_COLUMNS = [c.name for c in CATALOG.tables["Conferences"].columns]
PHONE_A = "+18149044818"
PHONE_B = "919602968074"


def writes(emu: Emulator) -> list[tuple[str, str | None, tuple[str, ...]]]:
    """Every request that could change something: (method, operation, path arguments)."""
    return [
        (r.method, r.operation, r.args) for r in emu.requests if r.method not in ("GET", "HEAD")
    ]


def execute(conn: driver.Connection, sql: str, params: Any = None) -> driver.Cursor:
    return conn.cursor().execute(sql, params)


def live(emu: Emulator, conference_sid: str) -> list[dict[str, object]]:
    live_statuses = {"queued", "connecting", "ringing", "connected"}
    return [p for p in emu.participants(conference_sid) if p["status"] in live_statuses]


def by_label(emu: Emulator, conference_sid: str, label: str) -> dict[str, object]:
    return next(p for p in emu.participants(conference_sid) if p["label"] == label)


@pytest.fixture
def room(emu: Emulator) -> dict[str, str]:
    """Live conference 'Room' (alice, bob, carol) and another live one, 'Other' (dave)."""
    conf = emu.create_conference("Room")
    sid = str(conf["sid"])
    out = {"sid": sid}
    for label in ("alice", "bob", "carol"):
        out[label] = str(emu.add_participant(sid, label=label)["call_sid"])
    other = str(emu.create_conference("Other")["sid"])
    out["other"] = other
    out["dave"] = str(emu.add_participant(other, label="dave")["call_sid"])
    emu.requests.clear()
    return out


# --- INSERT ---------------------------------------------------------------------------


def test_insert_places_the_same_request_as_exec(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(
        conn,
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label, Muted) '
        "VALUES (?, ?, ?, 'erin', 1)",
        (room["sid"], PHONE_A, PHONE_B),
    )
    assert cur.rowcount == 1
    assert cur.description is None
    [inserting] = writes(emu)
    execute(
        conn,
        "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Label = 'frank', Muted = 1",
        (room["sid"], PHONE_A, PHONE_B),
    )
    assert inserting == ("POST", "participants", (room["sid"],)) == writes(emu)[-1]
    erin_got = received(emu, room["sid"], "erin")
    assert received(emu, room["sid"], "frank") == {**erin_got, "Label": "frank"}
    assert erin_got == {"From": PHONE_A, "To": PHONE_B, "Label": "erin", "Muted": True}
    erin = by_label(emu, room["sid"], "erin")
    assert erin["muted"] is True and erin["status"] == "queued"


def test_insert_hidden_columns_mapping(conn: driver.Connection, emu: Emulator) -> None:
    execute(
        conn,
        'INSERT INTO Participants (ConferenceSid, "From", "To", WaitTime, StatusCallbackEvent, '
        "EarlyMedia) VALUES ('NewRoom', 'client:a', 'sip:b@example.com', 20, 'ringing answered', 0)",
    )
    [conf] = emu.conferences()
    assert conf["friendly_name"] == "NewRoom"
    (added,) = emu.participants(str(conf["sid"]))
    got = received(emu, str(conf["sid"]), str(added["call_sid"]))
    assert got["Timeout"] == 20 and got["EarlyMedia"] is False  # WaitTime is the Timeout
    assert got["StatusCallbackEvent"] == ["ringing", "answered"]


def test_write_only_columns_are_hidden(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(conn, "SELECT * FROM Participants WHERE ConferenceSid = ?", (room["sid"],))
    assert cur.description is not None
    assert [d[0] for d in cur.description] == PARTICIPANT_COLUMNS
    for hidden in ("From", "To", "WaitTime", "HoldUrl", "AnnounceUrl", "WaitUrl"):
        assert hidden not in PARTICIPANT_COLUMNS
    cur.fetchall()
    cur = execute(conn, "SELECT * FROM Conferences")
    assert cur.description is not None
    assert [d[0] for d in cur.description] == CONFERENCE_COLUMNS
    assert "AnnounceUrl" not in CONFERENCE_COLUMNS
    cur.fetchall()
    # named explicitly they exist but hold nothing (write-only)
    rows = execute(
        conn, 'SELECT "From", "To", HoldUrl FROM Participants WHERE ConferenceSid = ?',
        (room["sid"],),
    ).fetchall()  # fmt: skip
    assert rows == [(None, None, None)] * 3


def test_multi_row_insert_places_one_call_per_row(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(
        conn,
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label) VALUES '
        "(?, ?, 'client:x', 'x'), (?, ?, 'client:y', 'y'), ('Elsewhere', ?, 'client:z', 'z')",
        (room["sid"], PHONE_A, room["sid"], PHONE_A, PHONE_A),
    )
    assert cur.rowcount == 3
    posts = writes(emu)
    assert len(posts) == 3 and all(m == "POST" for m, _, _ in posts)
    assert [p["label"] for p in live(emu, room["sid"])] == ["alice", "bob", "carol", "x", "y"]
    elsewhere = next(c for c in emu.conferences() if c["friendly_name"] == "Elsewhere")
    assert [p["label"] for p in emu.participants(str(elsewhere["sid"]))] == ["z"]


def test_insert_select_places_one_call_per_row(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(
        conn,
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label) '
        "SELECT ?, ?, 'client:' || Label, 'copy-' || Label FROM Participants "
        "WHERE ConferenceSid = ?",
        (room["other"], PHONE_A, room["sid"]),
    )
    assert cur.rowcount == 3
    assert [p["label"] for p in live(emu, room["other"])] == [
        "dave", "copy-alice", "copy-bob", "copy-carol",
    ]  # fmt: skip


def test_executemany_insert(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    cur = conn.cursor()
    cur.executemany(
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label) VALUES (?, ?, ?, ?)',
        [(room["sid"], PHONE_A, PHONE_B, f"m{i}") for i in range(4)],
    )
    assert cur.rowcount == 4
    assert len(writes(emu)) == 4
    assert [p["label"] for p in live(emu, room["sid"])][-4:] == ["m0", "m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("sql", "error", "needle"),
    [
        ('INSERT INTO Participants (ConferenceSid, "From", "To", Status) '
         "VALUES ('Room', '+15550001111', '+15550001112', 'connected')",
         driver.ProgrammingError, "Status"),
        ('INSERT INTO Participants (ConferenceSid, "From", "To", CallSid) '
         "VALUES ('Room', '+15550001111', '+15550001112', 'CA00')",
         driver.ProgrammingError, "CallSid"),
        ('INSERT INTO Participants (ConferenceSid, "From", "To", Bogus) '
         "VALUES ('Room', '+15550001111', '+15550001112', 1)",
         driver.ProgrammingError, "Bogus"),
        ('INSERT INTO Participants (ConferenceSid, "From") VALUES (\'Room\', \'+15550001111\')',
         driver.ProgrammingError, "To"),
        ('INSERT INTO Participants (ConferenceSid, "From", "To", WaitTime) '
         "VALUES ('Room', '+15550001111', '+15550001112', 3)",
         driver.DataError, "WaitTime"),
        ('INSERT INTO Participants (ConferenceSid, "From", "To", Beep) '
         "VALUES ('Room', '+15550001111', 'nope nope', 'true')",
         driver.DataError, "To"),
        ("INSERT INTO Conferences (Sid) VALUES ('CF00')", driver.NotSupportedError, "INSERT"),
        ("DELETE FROM Conferences", driver.NotSupportedError, "DELETE"),
    ],
)  # fmt: skip
def test_refused_inserts_send_nothing(
    conn: driver.Connection, emu: Emulator, sql: str, error: type[Exception], needle: str
) -> None:
    with pytest.raises(error) as info:
        execute(conn, sql)
    assert needle in str(info.value)
    assert writes(emu) == []


@pytest.mark.parametrize(
    ("bad_row", "error", "needle"),
    [
        ("('Room', '+15550001111', '+15550001112', 'bad', 4)", driver.DataError, "WaitTime"),
        ("('Room', '+15550001111', 'nobody', 'bad', 30)", driver.DataError, "To"),
        ("('Room', '+15550001111', NULL, 'bad', 30)", driver.ProgrammingError, "To"),
        ("('Room', '+15550001111', '+15550001112', 'bad', 'soon')", driver.DataError, "WaitTime"),
    ],
)
def test_multi_row_insert_with_a_bad_row_sends_nothing(
    conn: driver.Connection,
    emu: Emulator,
    room: dict[str, str],
    bad_row: str,
    error: type[Exception],
    needle: str,
) -> None:
    with pytest.raises(error) as info:
        execute(
            conn,
            'INSERT INTO Participants (ConferenceSid, "From", "To", Label, WaitTime) VALUES '
            "('Room', '+15550001111', '+15550001112', 'ok', -30 + 60), "
            "('Room', '+15550001111', '+15550001112', 'ok2', 30), " + bad_row,
        )
    assert needle in str(info.value) and "row 3" in str(info.value)
    assert writes(emu) == []
    assert len(live(emu, room["sid"])) == 3


def test_multi_row_insert_with_bound_bad_row_sends_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.DataError) as info:
        execute(
            conn,
            'INSERT INTO Participants (ConferenceSid, "From", "To", Label, WaitTime) VALUES '
            "(?, '+15550001111', '+15550001112', 'ok', ?), "
            "(?, '+15550001111', '+15550001112', 'bad', ?)",
            (room["sid"], 30, room["sid"], 4),
        )
    assert "WaitTime" in str(info.value)
    assert writes(emu) == []
    assert len(live(emu, room["sid"])) == 3


def test_dml_check_validates_bound_rows() -> None:
    from driver import dml

    sql = (
        'INSERT INTO Participants (ConferenceSid, "From", "To", Label, WaitTime) VALUES '
        "(?, ?, '+15550001112', 'ok', ?), (:c, '+15550001111', '+15550001112', 'bad', 4)"
    )
    dml.check(sql, CATALOG, ("Room", PHONE_A, 30))  # mixed styles: left to SQLite
    positional = sql.replace(":c", "?")
    with pytest.raises(driver.DataError, match=r"WaitTime.*row 2 of 2"):
        dml.check(positional, CATALOG, ("Room", PHONE_A, 30, "Room"))
    from driver.providers.twilio import TWILIO_FORMATS

    with pytest.raises(driver.DataError, match=r"From.*row 1 of 2"):
        dml.check(positional, CATALOG, ("Room", "not a phone", 30, "Room"), formats=TWILIO_FORMATS)
    named = (
        'INSERT INTO Participants (ConferenceSid, "From", "To", Muted) VALUES '
        "(:c, :f, :t, :m), (:c, :f, :t, 'perhaps')"
    )
    with pytest.raises(driver.DataError, match=r"Muted.*row 2 of 2"):
        dml.check(named, CATALOG, {"c": "Room", "f": PHONE_A, "t": PHONE_B, "m": True})
    dml.check(named.replace("'perhaps'", "FALSE"), CATALOG,
              {"c": "Room", "f": PHONE_A, "t": PHONE_B, "m": True})  # fmt: skip


# --- UPDATE Participants ---------------------------------------------------------------


def test_update_mutes_every_matching_participant(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(conn, "UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ?", (room["sid"],))
    assert cur.rowcount == 3
    posts = writes(emu)
    assert len(posts) == 3
    assert all(p["muted"] is True for p in live(emu, room["sid"]))
    assert by_label(emu, room["other"], "dave")["muted"] is False


def test_update_one_participant_by_call_sid(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(
        conn,
        "UPDATE Participants SET Muted = 1, Hold = 1 WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], room["bob"]),
    )
    assert cur.rowcount == 1
    assert writes(emu) == [("POST", "participant", (room["sid"], room["bob"]))]
    assert [(p["label"], p["muted"], p["hold"]) for p in live(emu, room["sid"])] == [
        ("alice", False, False), ("bob", True, True), ("carol", False, False),
    ]  # fmt: skip


def test_update_by_label_and_other_filters(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    execute(
        conn,
        "UPDATE Participants SET Hold = 1, HoldUrl = 'https://example.com/h.mp3', "
        "HoldMethod = 'get' WHERE ConferenceSid = ? AND Label IN ('alice', 'carol')",
        (room["sid"],),
    )
    assert len(writes(emu)) == 2
    for label in ("alice", "carol"):
        got = received(emu, room["sid"], label)
        assert (got["HoldUrl"], got["HoldMethod"]) == ("https://example.com/h.mp3", "GET")
    assert [p["hold"] for p in live(emu, room["sid"])] == [True, False, True]
    cur = execute(conn, "UPDATE Participants SET Hold = 0 WHERE Hold = 1")  # every live conf
    assert cur.rowcount == 2
    assert all(p["hold"] is False for p in live(emu, room["sid"]))


def test_update_coaching_and_end_conference_on_exit(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    execute(
        conn,
        "UPDATE Participants SET Coaching = 1, CallSidToCoach = ?, EndConferenceOnExit = 1 "
        "WHERE ConferenceSid = ? AND CallSid = ?",
        (room["alice"], room["sid"], room["bob"]),
    )
    bob = by_label(emu, room["sid"], "bob")
    assert bob["coaching"] is True and bob["call_sid_to_coach"] == room["alice"]
    assert bob["end_conference_on_exit"] is True
    rows = execute(
        conn,
        "SELECT Coaching, CallSidToCoach, EndConferenceOnExit FROM Participants "
        "WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], room["bob"]),
    ).fetchall()
    assert rows == [(1, room["alice"], 1)]
    execute(
        conn,
        "UPDATE Participants SET Coaching = 0 WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], room["bob"]),
    )
    bob = by_label(emu, room["sid"], "bob")
    assert bob["coaching"] is False and bob["call_sid_to_coach"] is None


def test_update_coaching_without_call_to_coach_sends_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.DataError) as info:
        execute(
            conn, "UPDATE Participants SET Coaching = 1 WHERE ConferenceSid = ?", (room["sid"],)
        )
    assert "CallSidToCoach" in str(info.value)
    assert writes(emu) == []


def test_update_write_only_announce_and_wait(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    execute(
        conn,
        "UPDATE Participants SET AnnounceUrl = 'https://example.com/a.xml', "
        "AnnounceMethod = 'GET', WaitUrl = '', WaitMethod = 'post' "
        "WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], room["carol"]),
    )
    assert writes(emu) == [("POST", "participant", (room["sid"], room["carol"]))]
    carol = received(emu, room["sid"], room["carol"])
    assert carol["AnnounceUrl"] == "https://example.com/a.xml" and carol["AnnounceMethod"] == "GET"
    assert carol["WaitUrl"] == "" and carol["WaitMethod"] == "POST"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE Participants SET Status = 'complete' WHERE ConferenceSid = ?",
        "UPDATE Participants SET Label = 'x' WHERE ConferenceSid = ?",
        "UPDATE Participants SET Muted = 1, QueueTime = 5 WHERE ConferenceSid = ?",
        "UPDATE Participants SET CallSid = 'CA00' WHERE ConferenceSid = ?",
        "UPDATE Participants SET StartConferenceOnEnter = 0 WHERE ConferenceSid = ?",
        "UPDATE Participants SET \"From\" = '+15550001111' WHERE ConferenceSid = ?",
    ],
)
def test_update_read_only_column_sends_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], sql: str
) -> None:
    column = sql.split("SET ")[1].split(" = ")[0].split(", ")[-1].strip('"')
    with pytest.raises(driver.ProgrammingError) as info:
        execute(conn, sql, (room["sid"],))
    assert column in str(info.value)
    assert writes(emu) == []


def test_update_bad_value_sends_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    with pytest.raises(driver.DataError) as info:
        execute(conn, "UPDATE Participants SET Muted = 'loud' WHERE ConferenceSid = ?",
                (room["sid"],))  # fmt: skip
    assert "Muted" in str(info.value)
    assert writes(emu) == []


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ? AND CallSid = ?",
         ("sid", "CA" + "0" * 32)),
        ("UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ? AND Label = 'nobody'",
         ("sid",)),
        ("UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ? AND Hold = 1", ("sid",)),
        ("DELETE FROM Participants WHERE ConferenceSid = ? AND CallSid = ?",
         ("sid", "CA" + "0" * 32)),
        ("DELETE FROM Participants WHERE ConferenceSid = ? AND Muted = 1", ("sid",)),
        ("UPDATE Conferences SET Status = 'completed' WHERE Sid = ?", ("CF" + "0" * 32,)),
        ("UPDATE Conferences SET Status = 'completed' WHERE FriendlyName = 'Nobody'", ()),
    ],
)  # fmt: skip
def test_where_matching_nothing_sends_nothing(
    conn: driver.Connection, emu: Emulator, room: dict[str, str], sql: str, params: tuple[str, ...]
) -> None:
    params = tuple(room["sid"] if p == "sid" else p for p in params)
    cur = execute(conn, sql, params)
    assert cur.rowcount == 0
    assert writes(emu) == []
    assert len(live(emu, room["sid"])) == 3


def test_rollback_is_a_no_op(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    execute(conn, "UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ? AND CallSid = ?",
            (room["sid"], room["alice"]))  # fmt: skip
    conn.rollback()
    conn.commit()
    assert by_label(emu, room["sid"], "alice")["muted"] is True
    assert len(writes(emu)) == 1


# --- DELETE ----------------------------------------------------------------------------


def test_delete_participant(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    cur = execute(
        conn,
        "DELETE FROM Participants WHERE ConferenceSid = ? AND CallSid = ?",
        (room["sid"], room["bob"]),
    )
    assert cur.rowcount == 1
    assert writes(emu) == [("DELETE", "participant", (room["sid"], room["bob"]))]
    assert emu.requests[-1].status == 204
    assert [p["label"] for p in live(emu, room["sid"])] == ["alice", "carol"]
    bob = by_label(emu, room["sid"], "bob")
    assert bob["status"] == "complete"


def test_delete_several(conn: driver.Connection, emu: Emulator, room: dict[str, str]) -> None:
    cur = execute(
        conn,
        "DELETE FROM Participants WHERE ConferenceSid = ? AND Label != 'alice'",
        (room["sid"],),
    )
    assert cur.rowcount == 2
    assert [(m, op) for m, op, _ in writes(emu)] == [("DELETE", "participant")] * 2
    assert [p["label"] for p in live(emu, room["sid"])] == ["alice"]


# --- UPDATE Conferences ------------------------------------------------------------------


def test_update_conference_status_completed_ends_it(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(conn, "UPDATE Conferences SET Status = 'completed' WHERE Sid = ?", (room["sid"],))
    assert cur.rowcount == 1
    assert writes(emu) == [("POST", "conference", (room["sid"],))]
    conf = emu.conference(room["sid"])
    assert conf["status"] == "completed"
    assert conf["reason_conference_ended"] == "conference-ended-via-api"
    assert live(emu, room["sid"]) == []
    assert emu.conference(room["other"])["status"] == "in-progress"


def test_update_conference_announce_write_only(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    execute(
        conn,
        "UPDATE Conferences SET AnnounceUrl = 'https://example.com/all.xml', "
        "AnnounceMethod = 'get' WHERE FriendlyName = 'Other'",
    )
    assert writes(emu) == [("POST", "conference", (room["other"],))]
    options = emu.state.conferences[room["other"]].options
    assert options["AnnounceUrl"] == "https://example.com/all.xml"
    assert options["AnnounceMethod"] == "GET"
    assert emu.conference(room["other"])["status"] == "in-progress"


@pytest.mark.parametrize(
    ("sql", "error", "needle"),
    [
        ("UPDATE Conferences SET FriendlyName = 'x' WHERE Sid = ?", driver.ProgrammingError,
         "FriendlyName"),
        ("UPDATE Conferences SET Region = 'ie1' WHERE Sid = ?", driver.ProgrammingError, "Region"),
        ("UPDATE Conferences SET Status = 'in-progress' WHERE Sid = ?", driver.DataError,
         "completed"),
        ("UPDATE Conferences SET AnnounceUrl = 'ftp://x' WHERE Sid = ?", driver.DataError,
         "AnnounceUrl"),
    ],
)  # fmt: skip
def test_update_conference_refusals_send_nothing(
    conn: driver.Connection,
    emu: Emulator,
    room: dict[str, str],
    sql: str,
    error: type[Exception],
    needle: str,
) -> None:
    with pytest.raises(error) as info:
        execute(conn, sql, (room["sid"],))
    assert needle in str(info.value)
    assert writes(emu) == []
    assert emu.conference(room["sid"])["status"] == "in-progress"


def test_select_after_writes_reflects_state(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    execute(conn, "UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ? AND Label = 'carol'",
            (room["sid"],))  # fmt: skip
    rows = execute(
        conn,
        "SELECT Label, Muted, AccountSid FROM Participants WHERE ConferenceSid = ? ORDER BY Label",
        (room["sid"],),
    ).fetchall()
    assert rows == [
        ("alice", 0, DEMO_ACCOUNT_SID),
        ("bob", 0, DEMO_ACCOUNT_SID),
        ("carol", 1, DEMO_ACCOUNT_SID),
    ]


def test_write_targets_from_an_empty_subquery(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(
        conn,
        "UPDATE Participants SET Muted = 1 WHERE ConferenceSid IN "
        "(SELECT Sid FROM Conferences WHERE FriendlyName = 'Nobody')",
    )
    assert cur.rowcount == 0
    assert writes(emu) == []


def test_write_targets_from_a_subquery(
    conn: driver.Connection, emu: Emulator, room: dict[str, str]
) -> None:
    cur = execute(
        conn,
        "UPDATE Participants SET Muted = 1 WHERE ConferenceSid IN "
        "(SELECT Sid FROM Conferences WHERE FriendlyName = 'Other')",
    )
    assert cur.rowcount == 1
    assert by_label(emu, room["other"], "dave")["muted"] is True
    assert not any(p["muted"] for p in live(emu, room["sid"]))


def test_partial_multi_row_write_says_what_was_already_written(
    conn: driver.Connection, emu: Emulator
) -> None:
    sid = str(emu.create_conference("partial", "in-progress")["sid"])
    first = emu.add_participant(sid, label="one")
    second = emu.add_participant(sid, label="two")
    emu.faults.add("500", count=1, method="POST", path_contains=str(second["call_sid"]))
    with pytest.raises(driver.OperationalError) as info:
        conn.cursor().execute("UPDATE Participants SET Muted = 1 WHERE ConferenceSid = ?", (sid,))
    assert "1 earlier row(s) of this statement were already written" in str(info.value)
    muted = {p["label"]: p["muted"] for p in emu.participants(sid)}
    assert muted == {"one": True, "two": False} and first["label"] == "one"


def test_update_without_preparse_sends_only_changed_columns(
    conn: driver.Connection, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driver import dbapi
    from driver.statement import WriteContext

    sid = str(emu.create_conference("fallback", "in-progress")["sid"])
    emu.add_participant(sid, label="solo")
    before = received(emu, sid, "solo")
    monkeypatch.setattr(dbapi.dml, "check", lambda *a, **k: WriteContext())
    emu.requests.clear()
    cur = conn.cursor().execute(
        "UPDATE Participants SET Hold = 1, HoldUrl = 'https://example.com/h' WHERE ConferenceSid = ?",
        (sid,),
    )
    assert cur.rowcount == 1
    assert len(writes(emu)) == 1
    assert received(emu, sid, "solo") == {**before, "HoldUrl": "https://example.com/h"}
    (solo,) = emu.participants(sid)
    assert solo["hold"] is True and solo["muted"] is False and solo["coaching"] is False
