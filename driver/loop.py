"""A private asyncio event loop in a daemon thread.

SQLite calls the virtual tables synchronously, but confsql wants many HTTP
requests in flight at once.  Async work runs on one long-lived loop owned by
confsql; synchronous code waits for it with :func:`run`.  This works even when
the caller already runs an event loop (Jupyter, async web apps), where
``asyncio.run`` would fail.

Teardown is part of the contract: when a waiting thread gives up on a
coroutine (an error, Ctrl-C, a cancel from another thread), :func:`run`
cancels it and waits until it has really unwound, so the requests and tasks
it started are gone before the caller goes on.  At interpreter exit the loop
is stopped first, and from then on nothing ever waits for it (a cursor
collected during shutdown must not hang the process).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import signal
import threading
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

# How long a cancelled coroutine may take to unwind before the waiting thread gives up
# on it.  Unwinding only closes sockets and cancels tasks, so this is never reached in
# practice; it bounds the wait if the loop itself is stuck.
UNWIND_TIMEOUT = 10.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_stopped = False  # set at interpreter exit: nothing may wait for the loop any more


class LoopStopped(RuntimeError):
    """The I/O loop is gone (the interpreter is shutting down)."""


class Cancelled(Exception):
    """The wait was cancelled (another thread cancelled the statement)."""


def get_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _stopped:
            raise LoopStopped("confsql's I/O thread has stopped (the interpreter is exiting)")
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
            _loop, _thread = loop, thread
        return _loop


def alive() -> bool:
    """Whether the loop runs and may be waited for."""
    return not _stopped and _thread is not None and _thread.is_alive()


class Waiter:
    """A coroutine running on the loop for a synchronous caller, cancellable from any thread.

    Its task is created and watched on the loop; the waiting thread learns the
    outcome only once the task has finished, so "cancelled" always means
    "cancelled and unwound".
    """

    def __init__(self, coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._done = threading.Event()
        self._task: asyncio.Task[Any] | None = None
        self._cancel_requested = False
        loop.call_soon_threadsafe(self._start, coro)

    def _start(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self._cancel_requested:  # cancelled before it ever ran
            coro.close()
            self._done.set()
            return
        self._task = self._loop.create_task(coro)
        self._task.add_done_callback(lambda _: self._done.set())

    def _cancel_on_loop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def cancel(self) -> None:
        """Ask the coroutine to stop (from any thread); it unwinds on the loop."""
        self._cancel_requested = True
        with contextlib.suppress(RuntimeError):  # loop already closed
            self._loop.call_soon_threadsafe(self._cancel_on_loop)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the coroutine has finished (or unwound); False on timeout or a dead loop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.wait(0.5):
            if not alive() or (deadline is not None and time.monotonic() > deadline):
                return False
        return True

    def outcome(self) -> Any:
        """The finished coroutine's result; raises its exception, or CancelledError."""
        task = self._task
        if task is None or task.cancelled():
            raise Cancelled()
        return task.result()


def run(coro: Coroutine[Any, Any, T], waiters: set[Waiter] | None = None) -> T:
    """Run ``coro`` on the background loop and wait for its result.

    ``waiters`` (a statement's set) lets another thread cancel the wait with
    :func:`cancel_all`.  If the waiting thread is interrupted (Ctrl-C) or the
    wait is cancelled, the coroutine is cancelled and has fully unwound before
    the exception propagates, so no request keeps running on behalf of an
    abandoned statement.
    """
    try:
        loop = get_loop()
    except LoopStopped:
        coro.close()
        raise
    if _in_loop_thread(loop):
        coro.close()
        raise RuntimeError("confsql.loop.run called from its own event loop")
    waiter = Waiter(coro, loop)
    if waiters is not None:
        waiters.add(waiter)
    try:
        if not waiter.wait():
            raise LoopStopped("confsql's I/O thread has stopped (the interpreter is exiting)")
        return waiter.outcome()  # type: ignore[no-any-return]
    except BaseException as exc:
        waiter.cancel()
        if waiter.wait(UNWIND_TIMEOUT):
            _note_outcome(exc, waiter)
        raise
    finally:
        if waiters is not None:
            waiters.discard(waiter)


def _note_outcome(exc: BaseException, waiter: Waiter) -> None:
    """If the abandoned coroutine ended with its own error (e.g. "a write may have been
    carried out"), keep its message on the exception the caller sees (Ctrl-C)."""
    try:
        waiter.outcome()
    except Cancelled:
        return
    except Exception as ended:
        if ended is not exc:
            exc.add_note(f"confsql: {ended}")


def cancel_all(waiters: set[Waiter]) -> None:
    """Cancel every wait in ``waiters`` (from any thread); the waiting threads unwind them."""
    for waiter in list(waiters):
        waiter.cancel()


def _in_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def close_stream(items: AsyncIterator[Any], waiters: set[Waiter] | None = None) -> None:
    """Close an async generator from a waiting thread, cancelling what it still runs.

    Never raises and never hangs: during interpreter shutdown (loop gone) the
    generator is simply dropped.
    """
    aclose = getattr(items, "aclose", None)
    if aclose is None or not alive():
        return
    # Interrupted while running: its task was cancelled already (RuntimeError), or the
    # closing itself was cancelled; either way it has unwound when run() returns.
    with contextlib.suppress(RuntimeError, Cancelled, asyncio.CancelledError):
        run(aclose(), waiters)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until every one has finished, whatever happens meanwhile.

    A second cancellation of the caller does not cut the wait short (the tasks'
    own cleanup closes HTTP connections); it is re-raised once they are done.
    """
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    interrupted: BaseException | None = None
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError as exc:
            interrupted = exc
        pending = [t for t in pending if not t.done()]
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: the failure (if any) was already reported
    if interrupted is not None:
        raise interrupted


@contextlib.asynccontextmanager
async def closing(items: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """Use ``items`` and close it on the way out, if it can be closed.

    A suspended async generator that is merely dropped is closed later by a
    task the event loop starts for it; closing it here means a statement
    leaves no such task behind.
    """
    try:
        yield items
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


async def anext_or_none(items: AsyncIterator[T]) -> T | None:
    """The next item of an async iterator, or None when it is exhausted."""
    try:
        return await items.__anext__()
    except StopAsyncIteration:
        return None


async def _cancel_everything() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2.0)


def live_tasks() -> int:
    """Tasks on the loop right now (tests assert a finished statement left none)."""
    if not alive():
        return 0
    assert _loop is not None

    async def count() -> int:
        me = asyncio.current_task()
        return sum(1 for t in asyncio.all_tasks() if t is not me)

    return asyncio.run_coroutine_threadsafe(count(), _loop).result(timeout=5)


@atexit.register
def _stop_at_exit() -> None:
    """Stop the loop before the interpreter tears down, then never wait on it again."""
    global _stopped
    with _lock:
        loop, thread = _loop, _thread
        if loop is None or thread is None or not thread.is_alive():
            _stopped = True
            return
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(_cancel_everything(), loop).result(timeout=3)
    with _lock:
        _stopped = True
    with contextlib.suppress(Exception):
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)
