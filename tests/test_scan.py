"""Scan internals: the row maker and the concurrent page merge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from driver import schema
from driver.http import ApiClient
from driver.planner import unconstrained_plan
from driver.requests import Requester
from driver.scan import Row, RowMaker, Scanner, bind_plan, merge
from driver.session import Session
from driver.settings import resolve
from driver.statement import Prefetch
from driver.throttle import Gate

ACCOUNT = "AC" + "0" * 32


@pytest.fixture(scope="module")
def maker() -> RowMaker:
    catalog = schema.load()
    session = Session(catalog, *resolve("Provider=Sandbox", {}))
    table = catalog.table("Participants")
    assert table is not None
    return RowMaker(table, session.provider.tables["Participants"])


def _item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "account_sid": "AC" + "0" * 32,
        "call_sid": "CA" + "1" * 32,
        "label": "agent",
        "call_sid_to_coach": None,
        "coaching": False,
        "conference_sid": "CF" + "2" * 32,
        "date_created": "Fri, 20 Nov 2026 12:00:00 +0000",
        "date_updated": "Fri, 20 Nov 2026 12:01:00 +0000",
        "end_conference_on_exit": True,
        "muted": False,
        "hold": None,
        "start_conference_on_enter": True,
        "status": "connected",
        "queue_time": "12",
        "uri": "/x.json",
    }
    item.update(overrides)
    return item


def test_rows_hold_what_sqlite_would_return(maker: RowMaker) -> None:
    (row,) = maker.rows([_item()])
    table = schema.load().table("Participants")
    assert table is not None
    by_name = dict(zip((c.name for c in table.columns), row, strict=True))
    assert by_name["Muted"] == 0 and type(by_name["Muted"]) is int
    assert by_name["EndConferenceOnExit"] == 1 and type(by_name["EndConferenceOnExit"]) is int
    assert by_name["Hold"] is None
    assert by_name["QueueTime"] == 12
    assert by_name["DateCreated"] == "2026-11-20 12:00:00"
    assert by_name["Status"] == "connected"


def test_equal_strings_in_a_page_are_one_object(maker: RowMaker) -> None:
    items = [_item(call_sid=f"CA{i:032d}", status="connec" + "ted") for i in range(3)]
    rows = maker.rows(items)
    assert len({id(r[4]) for r in rows}) == 1  # Status
    assert len({id(r[1]) for r in rows}) == 3  # CallSid differs
    assert len({id(r[12]) for r in rows}) == 1  # DateCreated decoded once


def test_missing_fields_and_odd_types(maker: RowMaker) -> None:
    item = _item(label=17, muted="true", date_created="not a date")
    del item["status"]
    (row,) = maker.rows([item])
    assert row[3] == "17" and row[5] == 1 and row[12] is None and row[4] is None


def test_rows_from_values_are_the_rows_from_items(maker: RowMaker) -> None:
    """The fast path (tuples of the maker's fields) builds exactly the rows of the dict path."""
    items = [
        _item(),
        _item(label=17, muted="true", date_created="not a date", hold=True),
        _item(status=None, call_sid_to_coach="CA" + "3" * 32, queue_time=None, coaching=1),
        {"call_sid": "CA" + "4" * 32},  # everything else left out
    ]
    values = [tuple(item.get(f) for f in maker.fields) for item in items]
    from_items, from_values = maker.rows(items), maker.from_values(iter(values))
    assert from_values == from_items
    assert [list(map(type, r)) for r in from_values] == [list(map(type, r)) for r in from_items]
    shared = maker.from_values(values[:1] * 3)
    assert len({id(r[4]) for r in shared}) == 1  # equal strings shared here too


async def _pages(count: int, size: int, log: dict[str, int]) -> AsyncIterator[list[int]]:
    for _ in range(count):
        log["in_flight"] += 1
        log["peak_in_flight"] = max(log["peak_in_flight"], log["in_flight"])
        await asyncio.sleep(0.001)
        log["in_flight"] -= 1
        log["held"] += size
        if log["rows"] >= log["first_wave"]:  # past the first wave: page sizes are known
            log["peak_held"] = max(log["peak_held"], log["held"])
        yield list(range(size))


async def _consume(streams: int, count: int, size: int, width: int, slow: float) -> dict[str, int]:
    log = {"in_flight": 0, "peak_in_flight": 0, "held": 0, "peak_held": 0, "rows": 0}
    log["first_wave"] = width * size
    async for batch in merge((_pages(count, size, log) for _ in range(streams)), width, 3000):
        log["held"] -= len(batch)
        log["rows"] += len(batch)
        await asyncio.sleep(slow)
    return log


def test_large_pages_are_not_piled_up_for_a_slow_consumer() -> None:
    log = asyncio.run(_consume(streams=40, count=2, size=1000, width=16, slow=0.01))
    assert log["rows"] == 80_000
    # Fetched but not yet consumed: within the budget plus the page that crossed it.
    assert log["peak_held"] <= 3000 + 1000


def test_small_pages_use_every_slot() -> None:
    log = asyncio.run(_consume(streams=100, count=1, size=10, width=16, slow=0.0))
    assert log["rows"] == 1000
    assert log["peak_in_flight"] == 16


async def _one_page(size: int) -> AsyncIterator[list[int]]:
    await asyncio.sleep(0)
    yield list(range(size))


async def _drain(streams: int, size: int, width: int, budget: int) -> int:
    total = 0
    async for batch in merge((_one_page(size) for _ in range(streams)), width, budget):
        total += len(batch)
    return total


@pytest.mark.parametrize("budget", [1000, 1500, 2000, 3000])
def test_streams_that_end_without_a_page_never_stall_the_merge(budget: int) -> None:
    """A stream's final (empty) step counts as in flight; ending it must wake waiters."""
    total = asyncio.run(asyncio.wait_for(_drain(60, 1000, 16, budget), timeout=10))
    assert total == 60_000


def test_a_parent_listed_twice_is_read_once() -> None:
    """A conference can move from init to in-progress between the two live lists."""
    conf = "CF" + "1" * 32
    other = "CF" + "2" * 32

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/Conferences.json"):
            status = request.url.params.get("Status")
            sids = [conf] if status == "init" else [conf, other]
            return httpx.Response(200, json={"conferences": [{"sid": s} for s in sids]})
        sid = path.split("/")[-2]
        item = {"call_sid": "CA" + sid[2:], "conference_sid": sid, "account_sid": ACCOUNT}
        return httpx.Response(200, json={"participants": [item]})

    catalog = schema.load()
    cls, settings = resolve("", {"AccountSid": ACCOUNT, "AuthToken": "t"})
    mapping_of = catalog.provider(cls.mapping_name)
    table = catalog.table("Participants")
    assert mapping_of is not None and table is not None
    provider = cls(mapping_of, settings)
    client = ApiClient(
        "https://api.example.test", provider, timeout=5, gate=Gate(4),
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    scanner = Scanner(catalog, Requester(client, provider), 4)
    mapping = provider.tables["Participants"]
    plan = unconstrained_plan(mapping)
    assert plan.access == "fanout"

    async def rows() -> list[Row]:
        pages = scanner.scan(table, plan, bind_plan(table, mapping, plan, ()), Prefetch())
        return [row async for page in pages for row in page]

    found = asyncio.run(rows())
    assert sorted(r[0] for r in found) == [conf, other]
