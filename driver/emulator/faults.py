"""Fault injection knobs and the request log.

Faults are queued with :meth:`FaultPlan.add` and fire, in order, on the
requests they match, ``count`` times each.  The kinds (:data:`FAULT_KINDS`):

``429``
    Too Many Requests, with ``Retry-After: <retry_after>`` when ``retry_after``
    is given and without the header when it is ``None``.
``500``
    Internal Server Error with Twilio's JSON error body.
``drop``
    Start a 200 answer, send a few bytes, then close the connection.
``timeout-hang``
    Stall ``retry_after`` seconds (default 30) before answering normally; a
    client with a shorter timeout gives up first.
``redirect``
    A 3xx (``status``, default 302) with an empty body and a ``Location`` on
    another path of the same server.
``empty-2xx``
    A 2xx (``status``, default 200; 204 suits a list page) with an empty body.

Which requests a fault fires on is narrowed by the provider-neutral ``operation``
(one of :data:`~.routing.OPERATIONS`: ``"participants"`` is a conference's participant
list on every wire) and ``conference`` (its first path argument), or by the raw
``path_contains``, ``query_contains`` and ``method``.

Each kind fires before the request touches state, or with
``after_processing=True`` after it was applied, so the client cannot tell
from the answer whether its change happened.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from .routing import CONFERENCE_OPERATIONS, OPERATIONS

FAULT_KINDS = ("429", "500", "drop", "timeout-hang", "redirect", "empty-2xx")
DEFAULT_HANG_SECONDS = 30.0
# The status each kind answers with, and the statuses ``status=`` may choose from.
DEFAULT_STATUS = {"429": 429, "500": 500, "redirect": 302, "empty-2xx": 200}
ALLOWED_STATUS = {
    "redirect": (300, 301, 302, 303, 307, 308),
    "empty-2xx": (200, 201, 202, 204),
}


@dataclass(slots=True)
class Fault:
    """One planned failure.

    ``kind`` is one of :data:`FAULT_KINDS` (see the module docstring).
    ``operation`` (a name of :data:`~.routing.OPERATIONS`), ``conference`` (the
    conference reference a conference, participants or participant request
    names, as sent), ``path_contains``, ``query_contains`` and ``method`` narrow
    which requests it fires on, and the first ``skip`` of those pass untouched.
    ``retry_after`` is the 429's header value or the hang's length;
    ``status`` picks the answer of ``redirect`` and ``empty-2xx``.
    ``after_processing`` applies the request to state first, so the client
    cannot know whether it took effect.
    """

    kind: str
    count: int = 1
    path_contains: str | None = None
    method: str | None = None
    retry_after: float | None = None
    after_processing: bool = False
    status: int | None = None
    query_contains: str | None = None
    skip: int = 0
    operation: str | None = None
    conference: str | None = None

    def matches(
        self,
        method: str,
        paths: tuple[str, ...],
        query: str = "",
        record: RequestRecord | None = None,
    ) -> bool:
        """Whether a request with this method, (raw or decoded) path and query is targeted.

        ``record`` carries the request's operation; without it an ``operation`` or
        ``conference`` selector matches nothing.
        """
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.query_contains is not None and self.query_contains not in query:
            return False
        if self.operation is not None and (record is None or record.operation != self.operation):
            return False
        if self.conference is not None and (record is None or record.conference != self.conference):
            return False
        return self.path_contains is None or any(self.path_contains in p for p in paths)

    @property
    def answer_status(self) -> int | None:
        """The HTTP status this fault answers with (``None`` for drop and hang)."""
        return self.status if self.status is not None else DEFAULT_STATUS.get(self.kind)

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
        status: int | None = None,
        query_contains: str | None = None,
        skip: int = 0,
        *,
        operation: str | None = None,
        conference: str | None = None,
    ) -> Fault:
        """Queue a fault; see :class:`Fault` for the arguments."""
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
        _check_operation(operation)
        if count < 1:
            raise ValueError("count must be at least 1")
        if skip < 0:
            raise ValueError("skip must not be negative")
        if status is not None and status not in ALLOWED_STATUS.get(kind, ()):
            allowed = ALLOWED_STATUS.get(kind)
            raise ValueError(
                f"fault kind {kind!r} takes no status"
                if allowed is None
                else f"fault kind {kind!r} answers one of {allowed}, not {status}"
            )
        fault = Fault(
            kind,
            count,
            path_contains,
            method,
            retry_after,
            after_processing,
            status,
            query_contains,
            skip,
            operation,
            conference,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(
        self,
        method: str,
        paths: tuple[str, ...],
        query: str = "",
        record: RequestRecord | None = None,
    ) -> Fault | None:
        """Consume one firing of the first pending fault matching the request."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, paths, query, record):
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    fault.count -= 1
                    if fault.count == 0:
                        del self._faults[index]
                    return replace(fault, count=1)
        return None

    def discard(self, fault: Fault) -> int:
        """Withdraw ``fault`` (as returned by :meth:`add`); how many firings it had left."""
        with self._lock:
            for index, queued in enumerate(self._faults):
                if queued is fault:
                    del self._faults[index]
                    return fault.count
        return 0

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
    are decoded pairs.  ``operation`` is the provider-neutral name of what the
    path asks for (one of :data:`~.routing.OPERATIONS`, ``None`` for a path that
    is no API operation) and ``args`` its decoded path arguments, the
    conference (or call) first.  ``status`` is ``None`` while the request is
    in flight and when the connection was dropped or abandoned; ``fault``
    names the fault that fired, if any.
    """

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    time: float
    status: int | None = None
    fault: str | None = None
    account_sid: str | None = None
    json: Any = None  # a JSON request body, parsed
    operation: str | None = None
    args: tuple[str, ...] = ()

    @property
    def conference(self) -> str | None:
        """The conference a conference, participants or participant request names."""
        if self.operation in CONFERENCE_OPERATIONS and self.args:
            return self.args[0]
        return None


class RequestLog(list[RequestRecord]):
    """The request log: a plain list of :class:`RequestRecord`, oldest first."""

    def matching(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        *,
        operation: str | None = None,
        conference: str | None = None,
    ) -> list[RequestRecord]:
        """Records filtered by method, a substring of the raw path, the operation
        (one of :data:`~.routing.OPERATIONS`) and the conference it names."""
        _check_operation(operation)
        return [
            r
            for r in list(self)
            if (method is None or r.method == method.upper())
            and (path_contains is None or path_contains in r.path)
            and (operation is None or r.operation == operation)
            and (conference is None or r.conference == conference)
        ]


def _check_operation(operation: str | None) -> None:
    """Refuse an operation name no wire uses (a typo would select nothing)."""
    if operation is not None and operation not in OPERATIONS:
        raise ValueError(
            f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}"
        )
