"""The events database: durable settings, schema from schema/, dedup, version check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import apsw
import pytest

from driver.events.record import EventRecord
from driver.events.store import SCHEMA_VERSION, EventStore, StoreError
from driver.events.writer import BatchWriter


def _event(n: int, provider: str = "Twilio") -> EventRecord:
    return EventRecord(f"CF1/{n}", provider, "CF1", "participant-join", "2024-01-01 00:00:00", "{}")


def test_wal_and_full_sync(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    try:
        db = store._db
        assert db.execute("PRAGMA journal_mode").fetchall()[0][0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchall()[0][0] == 2  # FULL
        indexes = {r[1] for r in db.execute('PRAGMA index_list("ConferenceEvents")')}
        assert {
            "ConferenceEvents_ConferenceSid",
            "ConferenceEvents_Event",
            "ConferenceEvents_Timestamp",
        } <= indexes
    finally:
        store.close()


def test_add_reports_new_and_duplicate(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    try:
        assert store.add([_event(1), _event(2), _event(1)]) == [True, True, False]
        assert store.add([_event(1, "SignalWire"), _event(2)]) == [True, False]
    finally:
        store.close()
    reopened = EventStore(tmp_path / "e.db")  # reopening keeps everything
    try:
        assert reopened.add([_event(3), _event(1)]) == [True, False]
    finally:
        reopened.close()


def test_other_versions_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    db = apsw.Connection(str(path))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="use a new EventsDb file"):
        EventStore(path)


def test_unopenable_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        EventStore(tmp_path / "missing-dir" / "e.db")


def test_batch_writer_groups_concurrent_adds(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    calls: list[int] = []
    add = store.add

    def counting(records: list[EventRecord]) -> list[bool]:
        calls.append(len(records))
        return add(records)

    store.add = counting  # type: ignore[method-assign]
    writer = BatchWriter(store)

    async def burst() -> list[bool]:
        return list(await asyncio.gather(*(writer.add(_event(n % 150)) for n in range(300))))

    try:
        results = asyncio.run(burst())
    finally:
        writer.close()
    assert results.count(True) == 150
    assert sum(calls) == 300 and len(calls) < 300  # fewer transactions than events


def test_batch_writer_failure_fails_the_batch_only(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    writer = BatchWriter(store)
    failing = [True]
    add = store.add

    def flaky(records: list[EventRecord]) -> list[bool]:
        if failing:
            failing.clear()
            raise StoreError("disk full")
        return add(records)

    store.add = flaky  # type: ignore[method-assign]

    async def run() -> None:
        with pytest.raises(StoreError):
            await writer.add(_event(1))
        assert await writer.add(_event(1)) is True  # nothing of the failed batch was kept

    try:
        asyncio.run(run())
    finally:
        writer.close()
