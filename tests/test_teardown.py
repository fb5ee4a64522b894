"""Every way a statement can be abandoned leaves nothing behind (issue 14, A1 and D).

After each kind of abandonment — LIMIT satisfied early, a cursor closed or
dropped half-read, a failed page, a failed inner lookup of a join, an
interrupt or a close from another thread — the checks below use counters,
not timing: no HTTP exchange of the statement is still running, no task is
left on the I/O loop, every pooled HTTP connection is idle again, and the
next statement on the same connection runs normally.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

import httpx
import pytest

import driver
from driver import loop
from driver.emulator import Emulator
from tests.conftest import Connect

JOIN = "SELECT c.Sid, p.CallSid FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid"


@pytest.fixture
def rooms(emu: Emulator) -> int:
    """80 live conferences x 3 participants (the issue's reproducer)."""
    for i in range(80):
        sid = str(emu.create_conference(f"room {i}", "in-progress")["sid"])
        for _ in range(3):
            emu.add_participant(sid, status="connected")
    emu.requests.clear()
    return 80


def checked_out(conn: driver.Connection) -> int:
    """Pooled HTTP connections not idle (httpcore's own view of the pool)."""
    clients: list[httpx.AsyncClient] = conn.session.client._clients
    busy = 0
    for client in clients:
        pool = client._transport._pool  # type: ignore[attr-defined]
        busy += sum(1 for c in pool.connections if not c.is_idle() and not c.is_closed())
        busy += len(pool._requests)
    return busy


def assert_clean(conn: driver.Connection, rooms: int) -> None:
    """Nothing of the abandoned statement is left, and the next one works."""
    assert conn.session.client.in_flight == 0
    assert loop.live_tasks() == 0
    assert checked_out(conn) == 0
    assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (rooms,)


def test_limit_satisfied_early_many_times(connect: Connect, rooms: int) -> None:
    conn = connect()  # default properties, as in the issue
    for _ in range(20):
        rows = conn.cursor().execute("SELECT * FROM Participants LIMIT 3").fetchall()
        assert len(rows) == 3
        assert_clean(conn, rooms)


@pytest.mark.parametrize("sql", ["SELECT * FROM Participants", JOIN])
def test_cursor_closed_half_read(connect: Connect, rooms: int, emu: Emulator, sql: str) -> None:
    conn = connect()
    emu.latency = 0.02  # requests are in flight when the cursor is closed
    for _ in range(10):
        cur = conn.cursor().execute(sql)
        assert cur.fetchone() is not None
        cur.close()
        assert_clean(conn, rooms)


@pytest.mark.parametrize("sql", ["SELECT * FROM Participants", JOIN])
def test_cursor_dropped_half_read(connect: Connect, rooms: int, emu: Emulator, sql: str) -> None:
    conn = connect()
    emu.latency = 0.02
    gc.disable()  # dropped means freed by reference counting, not by a later collection
    try:
        for _ in range(10):
            assert conn.cursor().execute(sql).fetchone() is not None
            assert_clean(conn, rooms)
    finally:
        gc.enable()


def test_failed_page_mid_scan(connect: Connect, rooms: int, emu: Emulator) -> None:
    conn = connect(RetryBudget=0)
    for _ in range(10):
        emu.faults.add("500", operation="participants", count=1)
        with pytest.raises(driver.OperationalError):
            conn.cursor().execute("SELECT * FROM Participants").fetchall()
        assert_clean(conn, rooms)


def test_failed_inner_lookup_of_a_join_at_concurrency_one(
    connect: Connect, rooms: int, emu: Emulator
) -> None:
    conn = connect(MaxConcurrency=1, RetryBudget=0)
    for _ in range(5):
        emu.faults.add("500", operation="participants", count=1)
        with pytest.raises(driver.OperationalError):
            conn.cursor().execute(JOIN).fetchall()
        assert_clean(conn, rooms)


def test_half_read_join_then_closed_repeatedly(connect: Connect, rooms: int) -> None:
    conn = connect()
    for _ in range(10):
        cur = conn.cursor().execute(JOIN)
        cur.fetchmany(5)
        cur.close()
        assert_clean(conn, rooms)


def _in_thread(action: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def test_interrupt_from_another_thread(connect: Connect, rooms: int, emu: Emulator) -> None:
    conn = connect()
    emu.latency = 0.2
    for _ in range(3):
        timer = threading.Timer(0.3, conn.interrupt)
        timer.start()
        started = time.monotonic()
        with pytest.raises(driver.OperationalError, match="cancelled"):
            conn.cursor().execute("SELECT * FROM Participants").fetchall()
        assert time.monotonic() - started < 5
        timer.join()
        emu.latency = 0.0
        assert_clean(conn, rooms)
        emu.latency = 0.2


def test_close_from_another_thread_while_a_statement_runs(
    connect: Connect, rooms: int, emu: Emulator
) -> None:
    emu.latency = 0.05
    for _ in range(5):
        conn = connect()
        errors: list[BaseException] = []

        def read(conn: driver.Connection = conn, errors: list[BaseException] = errors) -> None:
            try:
                conn.cursor().execute("SELECT * FROM Participants").fetchall()
            except BaseException as exc:
                errors.append(exc)

        thread = _in_thread(read)
        time.sleep(0.1)
        conn.close()  # from this thread, while the other one runs the statement
        thread.join(10)
        assert not thread.is_alive()
        assert all(isinstance(e, driver.Error) for e in errors), errors
        with pytest.raises(driver.InterfaceError):
            conn.cursor()
        assert conn.session.client.in_flight == 0
    emu.latency = 0.0
    assert loop.live_tasks() == 0


def test_second_thread_is_refused_while_a_statement_runs(
    connect: Connect, rooms: int, emu: Emulator
) -> None:
    conn = connect()
    emu.latency = 0.2
    started = threading.Event()
    outcome: list[object] = []

    def read() -> None:
        started.set()
        outcome.append(len(conn.cursor().execute("SELECT * FROM Participants").fetchall()))

    thread = _in_thread(read)
    started.wait()
    time.sleep(0.1)
    with pytest.raises(driver.ProgrammingError, match="one thread at a time"):
        conn.cursor().execute("SELECT 1")
    thread.join(30)
    assert outcome == [rooms * 3]
    emu.latency = 0.0
    assert_clean(conn, rooms)


def test_sequential_use_from_another_thread_is_fine(connect: Connect, rooms: int) -> None:
    conn = connect()
    results: list[object] = []
    thread = _in_thread(
        lambda: results.append(
            conn.cursor().execute("SELECT count(*) FROM Participants").fetchone()
        )
    )
    thread.join(30)
    assert results == [(rooms * 3,)]
    assert_clean(conn, rooms)
