"""Telnyx page-number paging that never returns a short, repeated or padded answer.

Telnyx lists are pages of an offset window (``page[number]``, ``page[size]``
up to 250) with ``meta.total_pages`` and ``meta.total_results``; the
``page[after]`` cursor exists in the spec, but no answer carries a value for
it.  Over a list that changes while it is read, offset pages skip or repeat
rows.  So one *pass* reads page 1, then every other page concurrently (as
many at once as the connection's request gate admits), handing on each row
the first time its id is seen; and it counts as complete only if every page
reported the same totals and the pass saw exactly ``total_results`` distinct
ids.  Otherwise the list
is read again, handing on only ids not yet seen, until a pass holds still;
after :data:`MAX_PASSES` the scan raises rather than answer short.

A LIMIT that asked for fewer rows than a full page first reads one page of
that size: when that is all the consumer takes, nothing else is fetched.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import orjson

from .. import loop
from ..errors import OperationalError
from ..schema import TableMapping
from .base import Item

if TYPE_CHECKING:
    from ..http import ApiClient
    from .base import Provider

MAX_PASSES = 4  # whole reads of a list that keeps changing before the scan gives up


class Totals(NamedTuple):
    """What one page said about the whole list."""

    pages: int
    results: int


@dataclass
class Lister:
    """Reads numbered pages of one list."""

    provider: Provider
    client: ApiClient
    url: str
    query: list[tuple[str, str]]
    mapping: TableMapping
    what: str
    id_field: str

    async def page(self, number: int, size: int, fresh: bool) -> tuple[list[Item], Totals]:
        """Page ``number`` (1-based) of ``size`` items, and the totals it reports.

        ``fresh`` skips the connection's answer cache (CacheTtl): a list read
        again because it changed must not be answered from the first read.
        """
        params = [*self.query, ("page[number]", str(number)), ("page[size]", str(size))]
        if fresh and self.client.cache_ttl > 0:
            body = await self._uncached(params)
        else:
            answer = await self.client.json("GET", self.url, params=params, what=self.what)
            assert answer is not None
            body = answer
        items = self.provider.items(body, self.mapping, self.what)
        return items, _totals(body, number, self.what)

    async def _uncached(self, params: list[tuple[str, str]]) -> Item:
        response = await self.client.request("GET", self.url, params=params, what=self.what)
        try:
            body = orjson.loads(response.content) if response.status_code == 200 else None
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            raise OperationalError(
                f"{self.what}: the provider answered {response.status_code} without a JSON "
                "object where 200 with one was expected; the answer was not used"
            )
        return body


@dataclass
class Pass:
    """One read of the whole list: the ids it saw and the totals its pages reported."""

    ids: set[str] = field(default_factory=set)
    totals: set[Totals] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        """Every page agreed on the totals, and exactly that many distinct rows were seen."""
        return len(self.totals) == 1 and len(self.ids) == next(iter(self.totals)).results


async def scan_pages(
    provider: Provider,
    client: ApiClient,
    url: str,
    query: list[tuple[str, str]],
    mapping: TableMapping,
    page_size: int,
    what: str,
) -> AsyncIterator[list[Item]]:
    """Every row of the list exactly once (see the module docstring)."""
    paging = provider.mapping.paging
    full = int(paging.get("max_page_size", 250))
    id_field = str(paging.get("id_field", "id"))
    lister = Lister(provider, client, url, query, mapping, what, id_field)
    seen: set[str] = set()
    size = min(max(page_size, 1), full)
    if size < full:  # a LIMIT: one small page may be all the consumer reads
        probe = Pass()
        async for items in _read(lister, size, seen, probe, first_only=True):
            yield items
        if probe.complete and next(iter(probe.totals)).pages <= 1:
            return
    for number in range(MAX_PASSES):
        one = Pass()
        async for items in _read(lister, full, seen, one, fresh=number > 0):
            yield items
        if one.complete:
            return
    raise OperationalError(
        f"{what}: the list kept changing while it was read: Telnyx pages by position, so rows "
        f"shift between pages, and none of {MAX_PASSES} reads saw it hold still. The scan "
        "stopped rather than return rows that may be missing; try again, or narrow the query "
        "with a filter the provider applies (e.g. Status or FriendlyName)."
    )


async def _read(
    lister: Lister,
    size: int,
    seen: set[str],
    one: Pass,
    first_only: bool = False,
    fresh: bool = False,
) -> AsyncIterator[list[Item]]:
    """One pass: page 1, then the others concurrently; yields rows whose id is new."""
    items, totals = await lister.page(1, size, fresh)
    one.totals.add(totals)
    new = _new(lister, items, seen, one)
    del items
    if new:
        yield new
    if first_only or totals.pages <= 1:
        return
    numbers: Iterator[int] = iter(range(2, totals.pages + 1))
    gate = lister.client.gate
    running: dict[asyncio.Task[tuple[list[Item], Totals]], int] = {}

    def start(count: int) -> None:
        for number in itertools.islice(numbers, max(0, count)):
            running[asyncio.ensure_future(lister.page(number, size, fresh))] = number

    def top_up() -> None:
        """As many pages in flight as the connection's gate admits right now."""
        start(max(1, int(gate.limit)) - len(running))

    top_up()
    try:
        while running:
            done, _ = await asyncio.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
            finished = sorted(done, key=running.__getitem__)
            for task in finished:
                del running[task]
            top_up()  # every freed slot refilled now, not one per page the consumer takes
            for task in finished:
                page, reported = task.result()  # a failed page fails the scan
                one.totals.add(reported)
                new = _new(lister, page, seen, one)
                del page
                if new:
                    yield new
    finally:
        await loop.cancel_and_wait(list(running))


def _new(lister: Lister, items: list[Item], seen: set[str], one: Pass) -> list[Item]:
    """The items whose id was not handed on before (every id joins the pass's count)."""
    out: list[Item] = []
    for item in items:
        key = item.get(lister.id_field)
        if not isinstance(key, str) or not key:
            raise OperationalError(
                f"{lister.what}: an item of the provider's answer has no '{lister.id_field}', "
                "so confsql cannot tell rows apart across pages"
            )
        one.ids.add(key)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _totals(body: Item, number: int, what: str) -> Totals:
    """``meta.total_pages`` and ``meta.total_results`` (an answer without them is refused)."""
    meta = body.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    pages, results, page_number = (
        meta.get(k) for k in ("total_pages", "total_results", "page_number")
    )
    if not all(_count(v) for v in (pages, results)):
        raise OperationalError(
            f"{what}: the provider's answer lacks meta.total_pages and meta.total_results, so "
            "confsql cannot tell whether the list is complete; no rows are returned short"
        )
    if page_number is not None and page_number != number:
        raise OperationalError(
            f"{what}: asked for page {number}, the provider answered page {page_number}; "
            "stopping rather than return rows from the wrong place"
        )
    assert isinstance(pages, int) and isinstance(results, int)
    return Totals(pages, results)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
