"""Issue 14 A1: abandoning a statement must give back every pooled HTTP request.

80 live conferences with 3 participants each.  ``SELECT * FROM Participants
LIMIT 3`` fans out over all of them and stops after 3 rows, while other
requests are still in flight (20 ms of emulator latency keeps them there).
Each abandoned request once stayed checked out of the pool for ever, until the
pool was exhausted and every statement waited for RetryBudget and failed.

Timeout and RetryBudget are 2 s here only so that a failure shows in seconds;
the leak happens with the defaults as well.  Each test checks two ways: every
statement succeeds (what a user sees), and after each one
:func:`tests.soak.leaks.checked_out` finds no request still held and
:func:`tests.soak.leaks.running_tasks` no task still running (the cause, seen
at its first occurrence).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer

from . import leaks

ROOMS, PEOPLE = 80, 3
ROUNDS = 15  # the leak checks run after every round: the first leaked request shows
JOIN = (
    "SELECT c.FriendlyName, p.CallSid FROM Conferences c "
    "JOIN Participants p ON p.ConferenceSid = c.Sid WHERE c.Status != 'completed'"
)


@pytest.fixture
def rooms(emu: Emulator) -> Iterator[Emulator]:
    for i in range(ROOMS):
        sid = str(emu.create_conference(f"room {i}")["sid"])
        for j in range(PEOPLE):
            emu.add_participant(sid, label=f"p{j}")
    emu.latency = 0.02
    yield emu


def open_conn(server: EmulatorServer, **props: object) -> driver.Connection:
    return driver.connect(
        BaseUrl=server.base_url,
        AccountSid=DEMO_ACCOUNT_SID,
        AuthToken=DEMO_AUTH_TOKEN,
        Timeout=2,
        RetryBudget=2,
        **props,
    )


def assert_nothing_left(conn: driver.Connection, after: str) -> None:
    held = leaks.checked_out(conn)
    assert not held, f"after {after}: {held} HTTP requests still checked out of the pool"
    tasks = leaks.running_tasks()
    assert not tasks, f"after {after}: {tasks} tasks still running on the driver's loop"


def test_limit_loop_keeps_the_connection(server: EmulatorServer, rooms: Emulator) -> None:
    with open_conn(server) as conn:
        for round_ in range(ROUNDS):
            rows = conn.cursor().execute("SELECT * FROM Participants LIMIT 3").fetchall()
            assert len(rows) == 3
            assert_nothing_left(conn, f"LIMIT 3, round {round_}")
            count = conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall()
            assert count == [(ROOMS,)], f"round {round_}"
            assert_nothing_left(conn, f"count(*), round {round_}")


@pytest.mark.parametrize("how", ["close", "drop"])
def test_half_read_join_then_more(server: EmulatorServer, rooms: Emulator, how: str) -> None:
    import gc

    with open_conn(server) as conn:
        for round_ in range(6):
            cur = conn.cursor().execute(JOIN)
            assert len(cur.fetchmany(2)) == 2
            if how == "close":
                cur.close()
            del cur
            gc.collect()
            assert_nothing_left(conn, f"a half-read join ({how}), round {round_}")
            count = conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall()
            assert count == [(ROOMS,)], f"round {round_}"


def test_failed_inner_lookup_at_max_concurrency_1(server: EmulatorServer, rooms: Emulator) -> None:
    with open_conn(server, MaxConcurrency=1) as conn:
        for round_ in range(3):
            rooms.faults.add("500", path_contains="/Participants", count=1)
            with pytest.raises(driver.OperationalError):
                conn.cursor().execute(JOIN).fetchall()
            assert_nothing_left(conn, f"a failed inner lookup, round {round_}")
            count = conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall()
            assert count == [(ROOMS,)], f"round {round_}"
