"""Progress on stderr while a statement runs: rows, requests, concurrency and 429s."""

from __future__ import annotations

import signal
import threading
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

DELAY = 0.3
"""Seconds a statement runs before progress appears (quick ones never show it)."""


class StatementProgress:
    """Polls connection counters from a thread and shows them (only on a terminal)."""

    def __init__(self, stats: Any, out: TextIO, enabled: bool, delay: float = DELAY) -> None:
        self.stats = stats
        self.out = out
        self.enabled = enabled
        self.delay = delay
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._base = (0, 0, 0)

    def _counts(self) -> tuple[int, int, int]:
        return (
            int(self.stats.rows) - self._base[0],
            int(self.stats.requests) - self._base[1],
            int(self.stats.gate.throttled) - self._base[2],
        )

    def _describe(self) -> str:
        """e.g. ``1200 rows, 40 requests, 12 in flight (limit 16), 3 × 429  (Ctrl-C cancels)``."""
        rows, requests, throttled = self._counts()
        gate = self.stats.gate
        text = (
            f"{rows} row{'' if rows == 1 else 's'}, "
            f"{requests} request{'' if requests == 1 else 's'}, "
            f"{gate.in_flight} in flight (limit {gate.limit})"
        )
        if throttled:
            text += f", {throttled} × 429"
        return text + "  (Ctrl-C cancels)"

    def _run(self) -> None:
        if hasattr(signal, "pthread_sigmask"):  # Ctrl-C belongs to the main thread
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        if self._done.wait(self.delay):
            return
        console = Console(file=self.out, highlight=False, markup=False, emoji=False)
        bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        task = bar.add_task(self._describe(), total=None)
        with bar:
            while not self._done.wait(0.1):
                bar.update(task, description=self._describe())

    def __enter__(self) -> StatementProgress:
        self._base = (
            int(self.stats.rows),
            int(self.stats.requests),
            int(self.stats.gate.throttled),
        )
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="confsql-progress", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Remove the display (idempotent)."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
