"""Group commit: the requests waiting to be stored share one durable transaction.

Each request handler awaits :meth:`BatchWriter.add`; it resolves only after the
transaction holding that event has committed (WAL, ``synchronous=FULL``), so no request is
answered 2xx before its event is on disk.  While one batch commits on the writer thread,
the next one gathers; a burst costs a few fsyncs instead of one per event.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from .record import EventRecord
from .store import EventStore


class BatchWriter:
    """Serialises writes to an :class:`EventStore` on one thread, batching what queues up."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._waiting: list[tuple[EventRecord, asyncio.Future[bool]]] = []
        self._drain: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="confsql-events-writer")

    async def add(self, record: EventRecord) -> bool:
        """Store ``record`` durably; True if it was new, False for a redelivery."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()
        self._waiting.append((record, done))
        if self._drain is None or self._drain.done():
            self._drain = loop.create_task(self._commit_waiting())
        return await done

    async def _commit_waiting(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch, self._waiting = self._waiting, []
            records = [record for record, _ in batch]
            try:
                fresh = await loop.run_in_executor(self._thread, self.store.add, records)
            except Exception as exc:  # the whole batch rolled back: every request fails
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), new in zip(batch, fresh, strict=True):
                if not done.done():  # the request may have been cancelled meanwhile
                    done.set_result(new)

    async def check(self) -> None:
        """Ask the database whether it answers (on the writer thread)."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self.store.check)

    def close(self) -> None:
        """Finish queued work and close the database."""
        self._thread.shutdown(wait=True)
        self.store.close()
