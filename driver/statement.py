"""Per-statement state: everything that lives exactly as long as one SQL statement.

A :class:`Statement` is created for each ``cursor.execute`` and closed when
its rows are exhausted, its cursor is closed, re-executed or collected, or its
connection is closed.  It owns:

* what the DB-API learned before SQLite ran the statement (``write_context``),
  and the planner switch for batched IN sets;
* the join prefetch (:class:`Prefetch`): parent keys seen and child lists
  already started for them;
* every async stream its virtual-table cursors opened and every wait a thread
  has on the I/O loop for it, so that :meth:`cancel` (from any thread) and
  :meth:`close` stop all of it — requests, tasks and pooled connections — before
  they return.

Keeping this off the long-lived session means two statements interleaved on
one connection (a half-read cursor and a new one) never share or clear each
other's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import loop
from .errors import OperationalError

T = TypeVar("T")

_ids = itertools.count(1)


@dataclass
class WriteContext:
    """What the DB-API learned about a DML statement before SQLite ran it."""

    set_columns: tuple[str, ...] | None = None


@dataclass
class Prefetch:
    """A join's concurrent child lists (see :meth:`driver.scan.Scanner.prefetch_for`)."""

    # child table -> parent keys recorded by the outer scan, not yet started
    hints: dict[str, dict[str, None]] = field(default_factory=dict)
    # prefetch group -> parent key -> task collecting that child list
    started: dict[tuple[Any, ...], dict[str, asyncio.Task[Any]]] = field(default_factory=dict)

    async def cancel(self) -> None:
        """Cancel child lists nobody asked for, and wait until they are gone."""
        tasks = [t for group in self.started.values() for t in group.values()]
        self.started.clear()
        self.hints.clear()
        await loop.cancel_and_wait(tasks)


class Statement:
    """One running statement's state and the async work it started."""

    def __init__(self, write_context: WriteContext | None = None) -> None:
        self.id = next(_ids)
        self.write_context = write_context or WriteContext()
        self.batched_in = True  # hand IN lists to Filter as one set (see dbapi)
        self.prefetch = Prefetch()
        self.interrupted = threading.Event()
        self.closed = False
        # Writes (UPDATE/DELETE): rows SQLite may ask to change, by (table, rowid); rows
        # written so far; and notes for the cursor's ``messages`` (e.g. "already gone").
        self.rows_by_id: dict[tuple[str, int], tuple[Any, ...]] = {}
        self.written = 0
        self.messages: list[str] = []
        self._waiters: set[loop.Waiter] = set()
        self._streams: set[AsyncIterator[Any]] = set()

    def __repr__(self) -> str:
        return f"<Statement {self.id}{' closed' if self.closed else ''}>"

    def check(self) -> None:
        """Raise if the statement was cancelled."""
        if self.interrupted.is_set():
            raise OperationalError("the statement was cancelled")

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Wait for ``coro`` on the I/O loop; :meth:`cancel` from any thread stops it."""
        if self.interrupted.is_set():
            coro.close()
            self.check()
        try:
            return loop.run(coro, self._waiters)
        except loop.Cancelled:
            raise OperationalError("the statement was cancelled") from None

    def opened(self, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Register a stream so that :meth:`close` closes it if its owner does not."""
        self._streams.add(stream)
        return stream

    def close_stream(self, stream: AsyncIterator[Any]) -> None:
        """Close one stream now: its requests are cancelled and gone on return."""
        self._streams.discard(stream)
        loop.close_stream(stream)

    def cancel(self) -> None:
        """Stop the statement from any thread: the waiting thread unwinds and raises."""
        self.interrupted.set()
        loop.cancel_all(self._waiters)

    def close(self) -> None:
        """Close every stream and cancel the prefetch; nothing of this statement is left."""
        if self.closed:
            return
        self.closed = True
        self.rows_by_id.clear()
        for stream in list(self._streams):
            self.close_stream(stream)
        if (self.prefetch.started or self.prefetch.hints) and loop.alive():
            with contextlib.suppress(loop.LoopStopped, loop.Cancelled):
                loop.run(self.prefetch.cancel())
