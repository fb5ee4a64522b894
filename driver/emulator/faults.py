"""Fault injection knobs and the request log.

Faults are queued with :meth:`FaultPlan.add` and fire, in order, on the
requests they match, ``count`` times each.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

FAULT_KINDS = ("429", "500", "drop", "timeout-hang")
DEFAULT_HANG_SECONDS = 30.0


@dataclass(slots=True)
class Fault:
    """One planned failure.

    ``kind`` is ``"429"``, ``"500"``, ``"drop"`` (close the connection mid
    response) or ``"timeout-hang"`` (answer only after ``retry_after`` seconds,
    default 30).  ``after_processing`` applies the request to state first, so
    the client cannot know whether it took effect.
    """

    kind: str
    count: int = 1
    path_contains: str | None = None
    method: str | None = None
    retry_after: float | None = None
    after_processing: bool = False

    def matches(self, method: str, paths: tuple[str, ...]) -> bool:
        """Whether a request with this method and (raw or decoded) path is targeted."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or any(self.path_contains in p for p in paths)

    @property
    def hang_seconds(self) -> float:
        """How long a ``timeout-hang`` fault stalls."""
        return DEFAULT_HANG_SECONDS if self.retry_after is None else float(self.retry_after)


class FaultPlan:
    """The ordered queue of pending faults (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str,
        count: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
        retry_after: float | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Queue a fault; see :class:`Fault` for the arguments."""
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = Fault(kind, count, path_contains, method, retry_after, after_processing)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, paths: tuple[str, ...]) -> Fault | None:
        """Consume one firing of the first pending fault matching the request."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, paths):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return replace(fault, count=1)
        return None

    @property
    def pending(self) -> list[Fault]:
        """A copy of the faults still to fire."""
        with self._lock:
            return [replace(f) for f in self._faults]

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)


@dataclass(slots=True)
class RequestRecord:
    """One request as the emulator saw it.

    ``path`` is the raw (still percent-encoded) path; ``query`` and ``form``
    are decoded pairs.  ``status`` is ``None`` while the request is in flight
    and when the connection was dropped or abandoned; ``fault`` names the
    fault that fired, if any.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    time: float
    status: int | None = None
    fault: str | None = None
    account_sid: str | None = None


class RequestLog(list[RequestRecord]):
    """The request log: a plain list of :class:`RequestRecord`, oldest first."""

    def matching(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[RequestRecord]:
        """Records filtered by method and a substring of the raw path."""
        return [
            r
            for r in list(self)
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
        ]
