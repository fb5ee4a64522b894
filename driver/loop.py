"""A private asyncio event loop in a daemon thread.

SQLite calls the virtual tables synchronously, but confsql wants many HTTP
requests in flight at once.  Async work runs on one long-lived loop owned by
confsql; synchronous code waits for it with :func:`run`.  This works even when
the caller already runs an event loop (Jupyter, async web apps), where
``asyncio.run`` would fail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="confsql-io", daemon=True)
            # Ctrl-C must reach the thread waiting for a result, never the I/O thread.
            masked = hasattr(signal, "pthread_sigmask")
            if masked:
                previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                thread.start()
            finally:
                if masked:
                    signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            _loop = loop
        return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the background loop and wait for its result.

    If the waiting thread is interrupted (Ctrl-C), the coroutine is cancelled,
    so no request keeps running on behalf of an abandoned statement.
    """
    loop = get_loop()
    if _in_loop_thread(loop):
        raise RuntimeError("confsql.loop.run called from its own event loop")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        # Let the cancellation land before the caller cleans up (e.g. closes the stream).
        concurrent.futures.wait([future], timeout=2)
        raise


def _in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def close_stream(items: AsyncIterator[Any]) -> None:
    """Close an async generator from the waiting thread, cancelling what it still runs."""
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        # Interrupted while running: its task was cancelled already.
        with contextlib.suppress(RuntimeError):
            run(aclose())


async def anext_or_none(items: AsyncIterator[T]) -> T | None:
    """The next item of an async iterator, or None when it is exhausted."""
    try:
        return await items.__anext__()
    except StopAsyncIteration:
        return None
