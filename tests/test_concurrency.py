"""Concurrency, request economy and the cache (functional checks; timings live in benchmarks/)."""

from __future__ import annotations

import time

import pytest

import driver
from driver.emulator import Emulator
from tests.conftest import Connect

JOIN = (
    "SELECT c.FriendlyName, p.* FROM Conferences c JOIN Participants p "
    "ON p.ConferenceSid = c.Sid WHERE c.Status = 'in-progress'"
)


@pytest.fixture
def live(emu: Emulator) -> list[str]:
    """40 live conferences x 3 participants, plus 5 completed ones."""
    sids = []
    for i in range(40):
        sid = str(emu.create_conference(f"room {i}", "in-progress" if i % 4 else "init")["sid"])
        for j in range(3):
            emu.add_participant(
                sid, label=f"p{j}", muted=bool(j % 2), status="connected" if i % 4 else "ringing"
            )
        sids.append(sid)
    for i in range(5):
        emu.create_conference(f"old {i}", "completed")
    emu.requests.clear()
    return sids


def _rows(
    conn: driver.Connection, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    return conn.cursor().execute(sql, params).fetchall()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM Participants",
        "SELECT * FROM Participants WHERE Muted = 1",
        JOIN,
        "SELECT c.Sid, p.Label FROM Conferences c LEFT JOIN Participants p ON p.ConferenceSid = c.Sid",
        "SELECT * FROM Participants WHERE ConferenceSid IN (SELECT Sid FROM Conferences WHERE Status = 'in-progress')",
        "SELECT p.* FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid WHERE p.Muted = 1",
    ],
)
def test_concurrent_and_sequential_give_the_same_rows(
    connect: Connect, live: list[str], sql: str
) -> None:
    sequential = sorted(_rows(connect(MaxConcurrency=1), sql), key=repr)
    concurrent = sorted(_rows(connect(MaxConcurrency=16), sql), key=repr)
    assert sequential == concurrent and sequential


def test_sequential_really_is_sequential(connect: Connect, live: list[str], emu: Emulator) -> None:
    emu.latency = 0.01
    _rows(connect(MaxConcurrency=1), "SELECT * FROM Participants")
    spans = sorted((r.time, r.time + 0.01) for r in emu.requests)
    assert len(spans) == 42


def test_fanout_runs_concurrently(connect: Connect, live: list[str], emu: Emulator) -> None:
    emu.latency = 0.1
    start = time.monotonic()
    rows = _rows(connect(MaxConcurrency=40), "SELECT * FROM Participants")
    elapsed = time.monotonic() - start
    assert len(rows) == 120
    assert elapsed < 1.5  # 40 lists one after another would take > 4 s


def test_join_costs_about_a_fanout(connect: Connect, live: list[str], emu: Emulator) -> None:
    conn = connect(MaxConcurrency=16)
    _rows(conn, JOIN)
    lists = emu.requests.matching(operation="participants")
    in_progress = sum(1 for c in emu.conferences() if c["status"] == "in-progress")
    assert len(lists) == in_progress  # each inner list once, none wasted
    emu.requests.clear()
    emu.latency = 0.1
    start = time.monotonic()
    _rows(conn, JOIN)
    assert time.monotonic() - start < 1.5  # 30 lists one after another would take > 3 s


def test_failure_cancels_outstanding_requests(
    connect: Connect, live: list[str], emu: Emulator
) -> None:
    emu.latency = 0.2
    emu.faults.add("500", count=1, operation="participants")
    conn = connect(MaxConcurrency=4)
    with pytest.raises(driver.OperationalError):
        _rows(conn, "SELECT * FROM Participants")
    started = len(emu.requests)
    time.sleep(0.6)
    assert len(emu.requests) == started  # nothing kept going after the error
    assert all(r.status is not None for r in emu.requests)


def test_limit_stops_the_fanout(connect: Connect, live: list[str], emu: Emulator) -> None:
    conn = connect(MaxConcurrency=2)
    assert len(_rows(conn, "SELECT * FROM Participants LIMIT 2")) == 2
    assert len(emu.requests) <= 2 + 2 + 2  # the live lists, then at most a couple of child lists


def test_s1_and_s2_request_counts(conn: driver.Connection, emu: Emulator) -> None:
    emu.seed_bulk(conferences=5000)
    emu.requests.clear()
    assert len(_rows(conn, "SELECT * FROM Conferences")) == 5000
    assert len(emu.requests) == 5
    emu.requests.clear()
    assert len(_rows(conn, "SELECT * FROM Conferences LIMIT 10")) == 10
    assert len(emu.requests) == 1 and emu.wire.page_size(emu.requests[0]) == 10


def test_sid_in_list_is_concurrent_and_complete(
    connect: Connect, live: list[str], emu: Emulator
) -> None:
    emu.latency = 0.1
    marks = ", ".join("?" for _ in live)
    start = time.monotonic()
    got = _rows(
        connect(MaxConcurrency=40),
        f"SELECT Sid FROM Conferences WHERE Sid IN ({marks})",
        tuple(live),
    )
    assert sorted(s for (s,) in got) == sorted(live)
    assert time.monotonic() - start < 1.5


def test_cache_respects_ttl_and_writes(connect: Connect, live: list[str], emu: Emulator) -> None:
    conn = connect(CacheTtl=0.5)
    sql = "SELECT Sid FROM Conferences WHERE Status = 'init'"
    first = _rows(conn, sql)
    _rows(conn, sql)
    assert len(emu.requests) == 1 and conn.stats.cache_hits == 1
    time.sleep(0.6)
    _rows(conn, sql)
    assert len(emu.requests) == 2
    conn.cursor().execute(
        "EXEC AddParticipants ConferenceSid = 'new room', From = '+15550001', To = '+15550002'"
    )
    emu.requests.clear()
    _rows(conn, sql)  # the write emptied the cache
    assert len(emu.requests) == 1
    assert len(first) == 10


def test_cache_is_off_by_default(conn: driver.Connection, live: list[str], emu: Emulator) -> None:
    _rows(conn, "SELECT Sid FROM Conferences")
    _rows(conn, "SELECT Sid FROM Conferences")
    assert len(emu.requests) == 2


def test_429_under_concurrency_backs_off_and_completes(
    connect: Connect, live: list[str], emu: Emulator
) -> None:
    emu.faults.add("429", count=5, operation="participants")
    emu.faults.add("429", count=3, retry_after=0.05, operation="participants")
    conn = connect(MaxConcurrency=8)
    assert len(_rows(conn, "SELECT * FROM Participants")) == 120
    assert conn.stats.retries == 8


def test_join_prefetch_failure_raises(connect: Connect, live: list[str], emu: Emulator) -> None:
    emu.faults.add("500", count=1, operation="participants", conference=live[-1])
    conn = connect(MaxConcurrency=8)
    with pytest.raises(driver.OperationalError) as info:
        _rows(conn, JOIN)
    assert info.value.status == 500
    assert len(_rows(conn, JOIN)) == 90  # the next run is complete


def test_fanout_starts_children_before_later_parent_pages(connect: Connect, emu: Emulator) -> None:
    """Over 1,000 live conferences the parent list has two pages; children need not wait."""
    emu.seed_bulk(conferences=1001, participants_per=1, status="in-progress")
    emu.latency = 0.1
    emu.requests.clear()
    rows = _rows(connect(MaxConcurrency=64), "SELECT CallSid FROM Participants")
    assert len(rows) == len(set(rows)) == 1001
    second_page = next(filter(emu.wire.later_page, emu.requests.matching(operation="conferences")))
    first_child = emu.requests.matching(operation="participants")[0]
    # The first child went out before the second parent page could have been answered.
    assert first_child.time < second_page.time + emu.latency


def test_join_takes_finished_prefetch_answers_without_the_event_loop(
    connect: Connect, live: list[str], emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inner lookups whose prefetch already finished are served straight from it."""
    from driver.scan import Scanner

    served: list[int] = []
    original = Scanner.ready

    def spy(self: Scanner, *args: object) -> object:
        pages = original(self, *args)  # type: ignore[arg-type]
        if pages is not None:
            served.append(sum(len(p) for p in pages))
        return pages

    monkeypatch.setattr(Scanner, "ready", spy)
    conn = connect(MaxConcurrency=16)
    emu.latency = 0.02
    joined = _rows(
        conn, "SELECT p.* FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid"
    )
    direct = _rows(conn, "SELECT * FROM Participants")
    assert served, "no inner lookup was served from a finished prefetch"
    assert sorted(joined, key=repr) == sorted(direct, key=repr)
