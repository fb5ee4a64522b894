"""Provider requests: paging guards and URL building (driver.requests, driver.http)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

import driver
from driver import schema
from driver.http import ApiClient
from driver.requests import Requester
from driver.settings import resolve
from driver.throttle import Gate

ACCOUNT = "AC" + "0" * 32


def _requester(handler: Any) -> Requester:
    cls, settings = resolve("", {"AccountSid": ACCOUNT, "AuthToken": "t"})
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
    return Requester(client, provider)


async def _all_pages(requester: Requester) -> list[list[dict[str, Any]]]:
    mapping = requester.provider.tables["Conferences"]
    return [page async for page in requester.pages("Conferences", mapping, {}, [])]


def test_a_next_page_link_that_repeats_raises_instead_of_looping() -> None:
    """A provider bug must not turn into an endless scan or duplicate rows."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200,
            json={
                "conferences": [{"sid": "CF" + "1" * 32}],
                "next_page_uri": f"/2010-04-01/Accounts/{ACCOUNT}/Conferences.json?Page=1",
            },
        )

    with pytest.raises(driver.OperationalError, match="repeats an earlier page"):
        asyncio.run(_all_pages(_requester(handler)))
    assert len(seen) == 2


def test_the_next_page_link_keeps_its_query() -> None:
    urls: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(request.url)
        nxt = (
            None
            if len(urls) > 1
            else "/2010-04-01/Accounts/x/Conferences.json?Page=1&PageToken=PA1"
        )
        return httpx.Response(200, json={"conferences": [], "next_page_uri": nxt})

    asyncio.run(_all_pages(_requester(handler)))
    assert urls[0].params.get("PageSize") == "1000"
    assert urls[1].path == "/2010-04-01/Accounts/x/Conferences.json"
    assert dict(urls[1].params) == {"Page": "1", "PageToken": "PA1"}
