"""List pages decoded straight into value tuples (driver.providers.listing, Provider.list_page).

The fast path must give the values the ordinary path (``orjson`` into dicts)
gives, and an answer of any other shape must fail exactly as it does there.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

import driver
from driver import schema
from driver.http import ApiClient
from driver.loop import run
from driver.providers.listing import ListDecoder
from driver.requests import Requester
from driver.settings import resolve
from driver.throttle import Gate

FIELDS = ("sid", "friendly_name", "status", "absent", "nested")
ITEMS: list[dict[str, Any]] = [
    {"sid": "CF1", "friendly_name": "Room ü ☃ \\u00e9", "status": "in-progress"},
    {"sid": "CF2", "friendly_name": None, "status": 7, "nested": {"a": [1, 2.5, None, True]}},
    {"sid": "CF3", "friendly_name": "", "status": False, "extra": {"ignored": 1}},
    {"status": 1.5e300, "friendly_name": -0.0, "nested": [], "sid": 18446744073709551615},
    {},
]


def _ordinary(body: bytes, fields: tuple[str, ...]) -> tuple[list[tuple[Any, ...]], Any]:
    page = orjson.loads(body)
    return [tuple(i.get(f) for f in fields) for i in page["conferences"]], page.get("next_page_uri")


@pytest.mark.parametrize("next_uri", [None, "/next?Page=1", 5, ""])
def test_values_are_those_of_the_ordinary_path(next_uri: Any) -> None:
    body = orjson.dumps({"page": 0, "conferences": ITEMS, "next_page_uri": next_uri})
    decoded = ListDecoder("conferences", "next_page_uri", FIELDS).decode(body)
    assert decoded is not None
    values, nxt = decoded
    expected, expected_next = _ordinary(body, FIELDS)
    got = list(values)
    assert got == expected and nxt == expected_next
    assert [list(map(type, v)) for v in got] == [list(map(type, v)) for v in expected]


def test_a_missing_next_field_reads_as_none() -> None:
    decoded = ListDecoder("conferences", "next_page_uri", FIELDS).decode(b'{"conferences":[]}')
    assert decoded is not None and list(decoded[0]) == [] and decoded[1] is None


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"meta": {}}',
        b'{"conferences": null}',
        b'{"conferences": {"sid": "CF1"}}',
        b'{"conferences": [1, 2]}',
        b'{"conferences": [{"sid": "CF1"}, "x"]}',
        b'{"conferences": []',
        b'{"conferences": [{"sid": "\\ud800"}]}',
        b"not json",
    ],
)
def test_other_shapes_are_left_to_the_ordinary_path(body: bytes) -> None:
    assert ListDecoder("conferences", "next_page_uri", FIELDS).decode(body) is None


def _requester(body: bytes) -> tuple[Requester, Any]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    cls, settings = resolve("", {"AccountSid": "AC" + "0" * 32, "AuthToken": "secret"})
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    provider = cls(mapping, settings)
    client = ApiClient(
        "https://api.example.test",
        provider,
        timeout=5,
        gate=Gate(2),
        transport=httpx.MockTransport(handler),
    )
    return Requester(client, provider), mapping.tables["Conferences"]


def _error(coro: Any) -> str:
    with pytest.raises(driver.OperationalError) as info:
        run(coro)
    return str(info.value)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[1]", "not a JSON object"),
        (b"not json", "not a JSON object"),
        (b'{"next_page_uri": null}', "has no 'conferences' list"),
        (b'{"conferences": [1]}', "has no 'conferences' list"),
        (b'{"conferences": {"sid": "CF1"}}', "has no 'conferences' list"),
    ],
)
def test_odd_bodies_fail_alike_on_both_paths(body: bytes, says: str) -> None:
    requester, table = _requester(body)

    async def items() -> None:
        async for _ in requester.pages("Conferences", table, {}, []):
            pass

    async def values() -> None:
        async for _ in requester.values("Conferences", table, {}, [], None, ("sid",)):
            pass

    assert says in _error(items())
    assert _error(values()) == _error(items())


def test_both_paths_read_the_same_page() -> None:
    body = orjson.dumps({"conferences": ITEMS, "next_page_uri": None})
    requester, table = _requester(body)

    async def collect(fast: bool) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        if fast:
            async for page in requester.values("Conferences", table, {}, [], None, FIELDS):
                out.extend(page)
        else:
            async for items in requester.pages("Conferences", table, {}, []):
                out.extend(tuple(i.get(f) for f in FIELDS) for i in items)
        return out

    assert run(collect(True)) == run(collect(False)) == _ordinary(body, FIELDS)[0]
