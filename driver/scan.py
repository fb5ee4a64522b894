"""Execute a :class:`~driver.planner.Plan`: provider requests → pages of typed rows.

A scan is an async generator of pages (lists of row tuples).  Independent
requests (IN lists, the live-conference fan-out) run concurrently, bounded by
the connection's ``MaxConcurrency``; pages stream out as they arrive, and a
failure anywhere cancels the rest and raises.  Exact constraints are also
rechecked here in Python, so a provider that filters loosely can never add
rows SQLite was told it need not check.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import operator
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, TypeVar

from . import loop
from .errors import DataError
from .planner import Plan, path_inputs
from .requests import Requester
from .schema import Catalog, Table, TableMapping
from .statement import Prefetch
from .values import NO_MATCH, api_param, comparable, date_bound, decoder

# Items a scan may hold before the consumer takes them (about 8 full pages).
MAX_HELD_ITEMS = 8000
# Longest value sent in a URL (a filter or a path segment); URLs have practical limits.
MAX_FILTER_VALUE = 2048

Row = tuple[Any, ...]
Page = list[Row]
Item = dict[str, Any]
MakeRows = Callable[[Iterable[Any]], Page]
T = TypeVar("T")


@dataclass(frozen=True)
class Bound:
    """The plan's pushed constraints with their values, converted for the API."""

    eq: Mapping[str, list[Any]]  # column -> comparable values (already deduplicated)
    params: Mapping[str, list[str]]  # query parameter -> alternatives (IN gives several)
    dates: Mapping[str, str]  # query parameter -> single date bound
    limit: int | None
    offset: int
    empty: bool  # some exact constraint can never hold: no request at all


def bind_plan(table: Table, mapping: TableMapping, plan: Plan, args: Sequence[Any]) -> Bound:
    """Attach Filter's argument values to the plan's constraints."""
    eq: dict[str, list[Any]] = {}
    params: dict[str, list[str]] = {}
    dates: dict[str, str] = {}
    empty = False
    for p in plan.pushed:
        col = table.column(p.column)
        assert col is not None
        raw = args[p.arg]
        if p.op in ("=", "IN") and col.type != "DATETIME":
            values = list(raw) if p.op == "IN" else [raw]
            converted = _unique(comparable(col.type, v) for v in values)
            converted = [v for v in converted if v is not NO_MATCH]
            if col.values:
                converted = [v for v in converted if v in col.values]
            if not converted:
                empty = True
                continue
            for value in converted:
                if isinstance(value, str) and len(value) > MAX_FILTER_VALUE:
                    raise DataError(
                        f"{table.name}: the value compared with {p.column} is {len(value):,} "
                        f"characters long; at most {MAX_FILTER_VALUE:,} can be sent to the "
                        "provider in a filter"
                    )
            eq[p.column] = converted
            name = mapping.filters.get(f"{p.column} =")
            if name:
                params[name] = [
                    mapping.to_api(col.name, str(api_param(col.type, v))) for v in converted
                ]
        else:
            if p.op == "IN":
                continue  # a set of timestamps: SQLite rechecks, push nothing
            bound = date_bound(raw) if col.type == "DATETIME" else None
            name = mapping.filters.get(f"{p.column} {p.op}")
            if bound is None or name is None:
                continue  # superset constraint: pushing nothing is still correct
            previous = dates.get(name)
            if previous is not None:
                # Two bounds on one parameter: keep the tighter (both are rechecked).
                bound = max(bound, previous) if p.op in (">", ">=") else min(bound, previous)
            dates[name] = bound
    limit = _nonneg(args[plan.limit_arg]) if plan.limit_arg is not None else None
    offset = _nonneg(args[plan.offset_arg]) if plan.offset_arg is not None else 0
    if plan.limit_arg is not None and limit is None:
        limit = None  # negative LIMIT means "no limit" in SQLite
    return Bound(eq=eq, params=params, dates=dates, limit=limit, offset=offset or 0, empty=empty)


def _nonneg(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _unique(values: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


class RowMaker:
    """Turns pages of provider items into typed row tuples for one table.

    This runs for every row of every scan, so it is compiled once per scan
    into one loop, in two forms: :attr:`rows` takes items as dicts (all fields
    read with a single ``itemgetter`` call), :attr:`from_values` takes tuples
    of the values of :attr:`fields`, in that order (what a list page decodes
    to on the fast path, :mod:`driver.providers.listing`).  Text that already
    is ``str`` passes through (equal strings within a page are shared, which
    keeps large results small: a page's rows repeat the account, the
    conference, a status), timestamps are decoded once per distinct value a
    page, JSON booleans become 1 / 0, and everything else goes through the
    column type's decoder in :mod:`driver.values`.  Every value is already
    what SQLite would hand back for it, so :mod:`driver.direct` can return
    these rows as they are.
    """

    def __init__(
        self,
        table: Table,
        mapping: TableMapping,
        read_datetime: Callable[[str], str | None] | None = None,
    ) -> None:
        columns = [mapping.fields.get(c.name) for c in table.columns]
        # The provider fields the rows need, each once, in column order.
        self.fields: tuple[str, ...] = tuple(dict.fromkeys(f for f in columns if f is not None))
        names = {f: f"f{i}" for i, f in enumerate(self.fields)}
        getter: Callable[[Item], Any] = (
            operator.itemgetter(*self.fields)
            if len(self.fields) != 1
            else _one_getter(self.fields[0])  # itemgetter of one key returns the bare value
        )
        env: dict[str, Any] = {"getter": getter, "fields": self.fields}
        parts: list[str] = []
        caches: list[str] = []
        for i, (col, field) in enumerate(zip(table.columns, columns, strict=True)):
            if field is None:
                parts.append("None")
                continue
            v = names[field]
            env[f"d{i}"] = decoder(col.type, read_datetime)
            if col.name in mapping.values:  # the provider's spelling -> the SQL vocabulary
                env[f"m{i}"] = dict(mapping.values[col.name]).get
                parts.append(f"(m{i}({v}, {v}) if {v}.__class__ is str else d{i}({v}))")
                continue
            if col.type == "TEXT":  # equal strings in one page become one object
                caches.append(f"    s{i} = {{}}.setdefault\n")
                parts.append(
                    f"(s{i}({v}, {v}) if {v}.__class__ is str else None if {v} is None "
                    f"else d{i}({v}))"
                )
            elif col.type == "DATETIME":  # each distinct timestamp is decoded once a page
                caches.append(f"    c{i} = {{}}\n    g{i} = c{i}.get\n")
                parts.append(
                    f"((g{i}({v}) or c{i}.setdefault({v}, d{i}({v}))) if {v}.__class__ is str "
                    f"else d{i}({v}))"
                )
            elif col.type == "BOOLEAN":  # as SQLite would return it: 1 / 0 / NULL
                parts.append(f"(1 if {v} is True else 0 if {v} is False else d{i}({v}))")
            else:
                parts.append(f"d{i}({v})")
        unpack = ", ".join(names[f] for f in self.fields) + ","
        row = f"        append(({', '.join(parts)},))\n"
        head = "    out = []\n    append = out.append\n" + "".join(caches)
        source = (
            "def make_rows(items):\n" + head + "    for item in items:\n"
            "        try:\n"
            f"            {unpack} = getter(item)\n"
            "        except KeyError:  # a field the provider left out reads as NULL\n"
            f"            {unpack} = [item.get(f) for f in fields]\n"
            f"{row}"
            "    return out\n"
            "def from_values(values):\n" + head + f"    for {unpack} in values:\n"
            f"{row}"
            "    return out\n"
        )
        exec(source, env)
        self.rows: Callable[[list[Item]], list[Row]] = env["make_rows"]
        self.from_values: Callable[[Iterable[tuple[Any, ...]]], list[Row]] = env["from_values"]


def _one_getter(field: str) -> Callable[[Item], tuple[Any]]:
    def get(item: Item) -> tuple[Any]:
        return (item[field],)

    return get


def _prefetch_slot(
    table: Table, mapping: TableMapping, bound: Bound, page_size: int | None
) -> tuple[tuple[Any, ...], str, str] | None:
    """(prefetch group, parent key column, key) of a lookup by one parent key, if any."""
    spec = mapping.fanout
    if not spec:
        return None
    into = str(spec["into"])
    values = bound.eq.get(into)
    if not values or len(values) != 1:
        return None
    signature = (
        table.name,
        tuple((k, tuple(v)) for k, v in sorted(bound.params.items())),
        tuple(bound.dates.items()),
        page_size,
    )
    return signature, into, str(values[0])


def _matcher(table: Table, eq: Mapping[str, list[Any]]) -> Callable[[Row], bool] | None:
    """Python recheck of exact equality constraints (SQLite omitted them)."""
    if not eq:
        return None
    checks = [(i, set(eq[c.name])) for i, c in enumerate(table.columns) if c.name in eq]

    def match(row: Row) -> bool:
        return all(row[i] in wanted for i, wanted in checks)

    return match


class Scanner:
    """Runs plans for one connection."""

    def __init__(self, catalog: Catalog, requester: Requester, max_concurrency: int) -> None:
        self.catalog = catalog
        self.requester = requester
        self.max_concurrency = max_concurrency
        self._parents = self._fanout_parents()
        self._makers: dict[str, RowMaker] = {}

    def _row_maker(self, table: Table, mapping: TableMapping) -> RowMaker:
        """One compiled row maker per table (a join calls Filter once per outer row)."""
        maker = self._makers.get(table.name)
        if maker is None:
            read = self.requester.provider.decode_datetime
            maker = self._makers[table.name] = RowMaker(table, mapping, read)
        return maker

    def _fanout_parents(self) -> dict[str, list[tuple[str, str, str, set[str]]]]:
        """parent table -> [(child table, key column, filter column, live values)]."""
        out: dict[str, list[tuple[str, str, str, set[str]]]] = {}
        for child, mapping in self.requester.provider.tables.items():
            spec = mapping.fanout
            if not spec:
                continue
            for col, values in dict(spec.get("filter", {})).items():
                out.setdefault(str(spec["table"]), []).append(
                    (child, str(spec["column"]), str(col), set(values))
                )
        return out

    def _record_hints(self, table: Table, rows: Page, prefetch: Prefetch) -> None:
        for child, key, status, live in self._parents.get(table.name, ()):
            names = [c.name for c in table.columns]
            k, s = names.index(key), names.index(status)
            keys = prefetch.hints.setdefault(child, {})
            for row in rows:
                if row[s] in live:
                    keys[row[k]] = None

    def mapping(self, table: str) -> TableMapping:
        """The provider mapping of a table."""
        return self.requester.provider.tables[table]

    async def scan(
        self, table: Table, plan: Plan, bound: Bound, prefetch: Prefetch
    ) -> AsyncIterator[Page]:
        """Yield pages of rows for ``plan``; honours a pushed LIMIT/OFFSET.

        ``prefetch`` is the statement's join prefetch state.
        """
        if bound.empty or plan.access == "impossible":
            return
        mapping = self.mapping(table.name)
        maker = self._row_maker(table, mapping)
        match = _matcher(table, bound.eq)
        skip = bound.offset
        remaining = bound.limit
        if remaining == 0:
            return
        page_size = None if remaining is None else remaining + skip
        # aclosing: when the consumer stops early, requests still running are
        # cancelled now, not whenever the abandoned generator is collected.
        source = self._rows(table, mapping, plan, bound, page_size, maker, prefetch)
        async with contextlib.aclosing(source) as pages:
            async for rows in pages:
                if match is not None:
                    rows = [r for r in rows if match(r)]
                if skip:
                    cut = min(skip, len(rows))
                    rows, skip = rows[cut:], skip - cut
                if remaining is not None:
                    rows = rows[:remaining]
                    remaining -= len(rows)
                if rows:
                    if table.name in self._parents:
                        self._record_hints(table, rows, prefetch)
                    yield rows
                if remaining == 0:
                    return

    def _rows(
        self,
        table: Table,
        mapping: TableMapping,
        plan: Plan,
        bound: Bound,
        page_size: int | None,
        maker: RowMaker,
        prefetch: Prefetch,
    ) -> AsyncGenerator[Page, None]:
        """Pages of rows.  Each page becomes rows as soon as it arrives, inside the
        task that fetched it, so only rows (never parsed JSON) wait for SQLite.
        List pages arrive as tuples of the row maker's fields (no dict per item)."""
        if plan.access == "fetch":
            return self._fetches(table, mapping, bound, maker)
        if plan.access == "fanout":
            return self._fanout(table, mapping, bound, page_size, maker)
        prefetched = self._prefetch_for(table, mapping, bound, page_size, maker, prefetch)
        if prefetched is not None:
            return _replay(prefetched)
        streams = self._list_streams(table, mapping, bound, [{}], page_size, maker.fields)
        return merge((_mapped(s, maker.from_values) for s in streams), self.max_concurrency)

    def _prefetch_for(
        self,
        table: Table,
        mapping: TableMapping,
        bound: Bound,
        page_size: int | None,
        maker: RowMaker,
        prefetch: Prefetch,
    ) -> asyncio.Task[list[Page]] | None:
        """Serve a join's inner lookup from a concurrent prefetch, when one applies.

        In ``Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid`` SQLite
        asks for one conference's participants at a time.  The outer scan has
        already recorded the live conference keys it produced (``hints``); on the
        first lookup of a recorded key we start the child lists of every recorded
        key at once (bounded by MaxConcurrency) with the same query, and each
        later lookup takes its answer from there.  Keys that were not recorded
        (or repeat) are fetched on demand as usual.
        """
        slot = _prefetch_slot(table, mapping, bound, page_size)
        if slot is None:
            return None
        signature, into, key = slot
        hinted = prefetch.hints.get(table.name, {})
        group = prefetch.started.get(signature, {})
        if key not in group and key not in hinted:
            return None
        group = prefetch.started.setdefault(signature, group)
        if key not in group:
            queries = self._query_sets(bound)
            for k in hinted:
                if k not in group:
                    pages = self._child_lists(table, mapping, into, k, queries, page_size, maker)
                    group[k] = asyncio.ensure_future(_collect(pages))
            hinted.clear()
        return group.pop(key, None)

    def ready(
        self, table: Table, plan: Plan, bound: Bound, prefetch: Prefetch
    ) -> list[Page] | None:
        """A join's inner lookup whose prefetch has already finished, or None.

        SQLite's thread calls this before starting a scan, to take finished
        answers without a round trip through the event loop.  It only reads
        finished tasks, and the prefetch state changes only while that thread
        waits on the loop, so nothing else touches it meanwhile.
        """
        if plan.access != "list" or bound.empty or bound.limit is not None or bound.offset:
            return None
        slot = _prefetch_slot(table, self.mapping(table.name), bound, None)
        group = prefetch.started.get(slot[0]) if slot else None
        task = group.get(slot[2]) if group and slot else None
        if task is None or not task.done() or task.cancelled() or task.exception():
            return None  # not there yet, or failed: the scan waits for it or raises
        assert group is not None and slot is not None
        del group[slot[2]]
        match = _matcher(table, bound.eq)
        pages = [[r for r in page if match(r)] if match else page for page in task.result()]
        pages = [page for page in pages if page]
        if table.name in self._parents:
            for page in pages:
                self._record_hints(table, page, prefetch)
        return pages

    def _child_lists(
        self,
        table: Table,
        mapping: TableMapping,
        into: str,
        key: str,
        queries: list[list[tuple[str, str]]],
        page_size: int | None,
        maker: RowMaker,
    ) -> AsyncIterator[Page]:
        """Row pages of one parent's child lists (one list per query set)."""
        streams = [
            _mapped(
                self.requester.values(table.name, mapping, {into: key}, q, page_size, maker.fields),
                maker.from_values,
            )
            for q in queries
        ]
        return streams[0] if len(streams) == 1 else merge(streams, self.max_concurrency)

    def _query_sets(self, bound: Bound) -> list[list[tuple[str, str]]]:
        """One query per combination of IN alternatives (the API takes one value each)."""
        names = list(bound.params)
        combos = itertools.product(*(bound.params[n] for n in names))
        dates = list(bound.dates.items())
        return [list(zip(names, combo, strict=True)) + dates for combo in combos]

    def _list_streams(
        self,
        table: Table,
        mapping: TableMapping,
        bound: Bound,
        parents: Iterable[Mapping[str, str]],
        page_size: int | None,
        fields: tuple[str, ...],
    ) -> Iterable[AsyncIterator[Iterable[Any]]]:
        """The list streams of a scan; their pages are tuples of ``fields``' values."""
        needs = path_inputs(mapping.list)
        path_sets = [
            dict(zip(needs, combo, strict=True))
            for combo in itertools.product(*(self._path_values(table, n, bound) for n in needs))
        ]
        queries = self._query_sets(bound)
        for parent in parents:
            for path in path_sets:
                for query in queries:
                    yield self.requester.values(
                        table.name, mapping, {**path, **parent}, query, page_size, fields
                    )

    def _path_values(self, table: Table, name: str, bound: Bound) -> list[str]:
        col = table.column(name)
        if col is None or name not in bound.eq:
            return [""]  # filled by the fan-out parent
        mapping = self.mapping(table.name)
        return [mapping.to_api(name, str(api_param(col.type, v))) for v in bound.eq[name]]

    async def _fetches(
        self, table: Table, mapping: TableMapping, bound: Bound, maker: RowMaker
    ) -> AsyncGenerator[Page, None]:
        needs = path_inputs(mapping.fetch)
        choices: list[list[str]] = []
        for name in needs:
            source = next(c for c in (name, *mapping.fetch_by.get(name, ())) if c in bound.eq)
            choices.append(self._path_values(table, source, bound))
        keys = [dict(zip(needs, combo, strict=True)) for combo in itertools.product(*choices)]

        async def one(key: Mapping[str, str]) -> AsyncIterator[Page]:
            item = await self.requester.fetch(table.name, mapping, key)
            if item is not None:
                yield maker.rows([item])

        async with contextlib.aclosing(merge((one(k) for k in keys), self.max_concurrency)) as m:
            async for rows in m:
                yield rows

    async def _fanout(
        self,
        table: Table,
        mapping: TableMapping,
        bound: Bound,
        page_size: int | None,
        maker: RowMaker,
    ) -> AsyncGenerator[Page, None]:
        """No parent key given: list the parent table and, as its pages arrive, each
        parent's children (a parent listed twice, e.g. init then in-progress while the
        lists ran, is read once)."""
        spec = mapping.fanout
        assert spec is not None
        parent_table = self.catalog.table(str(spec["table"]))
        assert parent_table is not None
        parent_mapping = self.mapping(parent_table.name)
        key_field = parent_mapping.fields[str(spec["column"])]
        parent_query = [
            [(parent_mapping.filters[f"{col} ="], parent_mapping.to_api(col, v))]
            for col, values in dict(spec.get("filter", {})).items()
            for v in values
        ] or [[]]
        into = str(spec["into"])
        streams = (
            self.requester.pages(parent_table.name, parent_mapping, {}, q) for q in parent_query
        )

        async def children() -> AsyncGenerator[AsyncIterator[Page], None]:
            seen: set[str] = set()
            async with contextlib.aclosing(merge(streams, self.max_concurrency)) as pages:
                async for items in pages:
                    keys = [str(it[key_field]) for it in items]
                    parents = [{into: k} for k in dict.fromkeys(keys) if k not in seen]
                    seen.update(p[into] for p in parents)
                    lists = self._list_streams(
                        table, mapping, bound, parents, page_size, maker.fields
                    )
                    for stream in lists:
                        yield _mapped(stream, maker.from_values)

        async with contextlib.aclosing(merge(children(), self.max_concurrency)) as m:
            async for rows in m:
                yield rows


async def _collect(pages: AsyncIterator[Page]) -> list[Page]:
    return [page async for page in pages]


async def _replay(task: asyncio.Task[list[Page]]) -> AsyncGenerator[Page, None]:
    for page in await task:
        yield page


async def _mapped(pages: AsyncIterator[Iterable[Any]], make: MakeRows) -> AsyncIterator[Page]:
    """Rows of each page; the parsed page is dropped before its rows are handed on."""
    async with loop.closing(pages):
        while True:
            try:
                rows = make(await pages.__anext__())
            except StopAsyncIteration:
                return
            yield rows


async def _each(items: Iterable[T] | AsyncGenerator[T, None]) -> AsyncGenerator[T, None]:
    """Iterate a plain iterable or an async generator (closing it when stopped early)."""
    if isinstance(items, AsyncGenerator):
        async with contextlib.aclosing(items) as source:
            async for item in source:
                yield item
    else:
        for item in items:
            yield item


class _Held:
    """Items fetched but not yet taken by the consumer, and an estimate for those in flight.

    A new page is fetched only while ``waiting + in_flight × average page`` is
    under the budget (or nothing at all is in flight or waiting).  When the consumer keeps
    up (a latency-bound scan) nothing waits and every slot is used; when it is
    the slower side (a large extract), fetching slows to its pace instead of
    piling pages up in memory.
    """

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self.waiting = 0
        self.in_flight = 0
        self._pages = 0
        self._items = 0
        self._room = asyncio.Event()
        self._room.set()

    def _estimate(self) -> float:
        average = self._items / self._pages if self._pages else 0.0
        return self.waiting + self.in_flight * average

    def _full(self) -> bool:
        # With nothing in flight or waiting, one page may always be fetched.
        return (self.in_flight or self.waiting) > 0 and self._estimate() >= self.max_items

    async def room(self) -> None:
        while self._full():
            self._room.clear()
            await self._room.wait()

    def arrived(self, items: int) -> None:
        self._pages += 1
        self._items += items
        self.waiting += items
        self.wake()

    def taken(self, items: int) -> None:
        self.waiting -= items
        self.wake()

    def wake(self) -> None:
        """Let waiting fetches re-check the budget."""
        if not self._full():
            self._room.set()


async def merge(
    streams: Iterable[AsyncIterator[list[T]]] | AsyncGenerator[AsyncIterator[list[T]], None],
    width: int,
    max_items: int = MAX_HELD_ITEMS,
) -> AsyncGenerator[list[T], None]:
    """Run page streams concurrently; yield pages as they arrive.

    * At most ``width`` pages are being fetched at once, at most ``2 * width``
      fetched pages wait for the consumer, and fetching pauses while about
      ``max_items`` items are waiting or expected (:class:`_Held`), so memory
      stays bounded however many streams there are and however large their pages.
    * A stream fetches its next page only after the consumer took its previous
      one, so a LIMIT that is satisfied early never costs a stream extra pages.
    * Fetching does not wait for the consumer otherwise: when a page arrives,
      the next stream starts at once.
    * ``streams`` may be an async generator, whose streams start as it produces
      them (the fan-out starts children while later parent pages are fetched).
    * If any stream fails, the others are cancelled and the error is raised;
      when the consumer stops early (LIMIT reached, cursor closed), everything
      still running is cancelled.
    """
    queue: asyncio.Queue[tuple[str, Any, asyncio.Event | None]] = asyncio.Queue()
    fetching = asyncio.Semaphore(max(width, 1))
    buffered = asyncio.Semaphore(2 * max(width, 1))
    tasks: set[asyncio.Task[None]] = set()
    held = _Held(max_items)

    async def pump(stream: AsyncIterator[list[T]]) -> None:
        async with loop.closing(stream) as pages:
            await pump_pages(pages)

    async def pump_pages(pages: AsyncIterator[list[T]]) -> None:
        first = True
        try:
            while True:
                if not first:
                    await buffered.acquire()
                first = False
                async with fetching:
                    await held.room()
                    held.in_flight += 1
                    try:
                        page = await pages.__anext__()
                    except StopAsyncIteration:
                        buffered.release()
                        break
                    finally:
                        held.in_flight -= 1
                        held.wake()  # an ended fetch may make room for a waiting one
                    held.arrived(len(page))
                taken = asyncio.Event()
                await queue.put(("page", page, taken))
                await taken.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, which raises it
            await queue.put(("error", exc, None))
            return
        await queue.put(("done", None, None))

    async def spawn() -> None:
        count = 0
        try:
            async with contextlib.aclosing(_each(streams)) as each:
                async for stream in each:
                    await buffered.acquire()  # the pump's first page slot
                    tasks.add(asyncio.create_task(pump(stream)))
                    count += 1
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await queue.put(("error", exc, None))
            return
        await queue.put(("spawned", count, None))

    spawner = asyncio.create_task(spawn())
    total: int | None = None
    finished = 0
    try:
        while total is None or finished < total:
            # Take every message already waiting, so pages that arrived together
            # cross to the SQLite thread in one hand-off.
            messages = [await queue.get()]
            while not queue.empty():
                messages.append(queue.get_nowait())
            batch: list[T] = []
            events: list[asyncio.Event] = []
            for kind, value, taken in messages:
                if kind == "page":
                    batch.extend(value)
                    assert taken is not None
                    events.append(taken)
                elif kind == "done":
                    finished += 1
                elif kind == "spawned":
                    total = value
                else:
                    raise value
            if events:
                held.taken(len(batch))
                yield batch
                for taken in events:
                    buffered.release()
                    taken.set()  # the consumer came back for more: that stream may go on
    finally:
        await loop.cancel_and_wait([spawner, *tasks])


def row_key(table: Table, row: Row) -> tuple[Any, ...]:
    """The key column values of a row (its identity for UPDATE/DELETE)."""
    return tuple(row[i] for i, c in enumerate(table.columns) if c.key)
