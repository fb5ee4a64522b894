"""Admission of requests to one provider: adaptive concurrency and a shared pause.

Every request of a connection passes a :class:`Gate` before it is sent.  The
gate keeps the number in flight under a limit and holds new requests while
the provider asked everyone to wait:

* ``MaxConcurrency=auto`` (the default) adapts the limit within [1, 256].  It
  starts at 16 and doubles while answers come back clean (slow start); after
  the first sign of a limit it grows by about one per round trip.  A 429
  without ``Retry-After`` (too many in flight) drops the limit to just under
  the number in flight when it was refused (a refusal never counts as a clean
  answer), and the gate stays at that level for a while (2 s, doubling while
  probes above it keep being refused) before it probes above it at a tenth of
  the usual pace; the level is forgotten 30 s after the last refusal.  Latency
  well above its floor (even the fastest of the last few answers) cuts the
  limit by a tenth, at most once per round trip as long as answers take now.
  A number fixes the limit, as before.
* A 429 with ``Retry-After`` pauses *every* request of the gate until that
  time: requests in flight finish, nothing new starts, and the refused one is
  retried through the same pause (it was provably not processed).
* Rate-limit headers (remaining requests and a reset time) are read after each
  answer: with nothing remaining, the gate pauses until the reset, so no
  request is spent on a certain 429.

All methods run on the I/O loop; the counters are read from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from itertools import islice

START = 16
LOWEST = 1
HIGHEST = 256
# Latency counts as "well above its floor" past this multiple (plus a small allowance)
# when even the fastest of the last RECENT answers took that long.
LATENCY_FACTOR = 2.0
LATENCY_ALLOWANCE = 0.05
RECENT = 8
# Above a level the provider refused, the limit grows this much per round trip, and that
# level is remembered this many seconds.
PROBE_STEP = 0.1
CEILING_MEMORY = 30.0
# After a "too many in flight" 429 the limit stays at the level the provider accepted for
# this long before probing above it; twice as long each time the same level is refused again.
PROBE_HOLD = 2.0


@dataclass
class GateStats:
    """What the gate did, for the shell's progress line, EXPLAIN-style reporting and tests."""

    limit: int = START
    in_flight: int = 0
    peak_in_flight: int = 0
    throttled: int = 0  # 429 answers
    paused_seconds: float = 0.0  # total time new requests were held by a shared pause


class Gate:
    """Admission for one provider account: a concurrency limit and a shared pause."""

    def __init__(self, fixed: int | None = None) -> None:
        self.fixed = fixed
        self.limit = float(fixed if fixed is not None else START)
        self.in_flight = 0
        self.stats = GateStats(limit=int(self.limit))
        self._paused_until = 0.0
        self._slow_start = fixed is None
        self._latencies: deque[float] = deque(maxlen=64)
        self._last_cut = 0.0
        self._changed: asyncio.Event | None = None
        # The in-flight level of the last "too many" 429, remembered for a while.
        self._ceiling: float | None = None
        self._ceiling_at = 0.0
        self._hold = PROBE_HOLD  # how long the limit stays at or under the ceiling

    @property
    def adaptive(self) -> bool:
        """Whether the limit adapts (MaxConcurrency=auto)."""
        return self.fixed is None

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        event = self._event()
        event.set()
        self._changed = asyncio.Event()  # waiters re-check; later waits use a fresh event

    async def acquire(self) -> float:
        """Wait for a slot (and for any shared pause to pass); returns the start time."""
        while True:
            now = time.monotonic()
            if now < self._paused_until:
                waited = self._paused_until - now
                event = self._event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), waited)
                continue
            if self.in_flight < max(LOWEST, int(self.limit)):
                break
            await self._event().wait()
        self.in_flight += 1
        self.stats.in_flight = self.in_flight
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.in_flight)
        return time.monotonic()

    def release(self, started: float, *, ok: bool) -> None:
        """A request finished (``ok``: answered without a 429); adapt the limit."""
        self.in_flight -= 1
        self.stats.in_flight = self.in_flight
        now = time.monotonic()
        if self._ceiling is not None and now - self._ceiling_at > CEILING_MEMORY:
            self._ceiling = None  # limits change: look again
            self._hold = PROBE_HOLD
        if ok and self.adaptive:
            latency = now - started
            self._latencies.append(latency)
            floor = min(self._latencies)
            # The fastest of the last few answers: one slow answer (or a burst read late
            # because this process was busy) is not queueing at the provider; all of them is.
            recent = min(islice(reversed(self._latencies), RECENT))
            if (
                len(self._latencies) >= RECENT
                and recent > floor * LATENCY_FACTOR + LATENCY_ALLOWANCE
            ):
                self._cut(0.9)  # queueing somewhere: back off a little
            elif self._slow_start:
                self._set(self.limit + 1)  # doubles per round trip
            elif self._ceiling is not None and self.limit >= self._ceiling - 1:
                # Near where the provider refused before: hold, then probe above it slowly.
                if self.limit < self._ceiling or now - self._ceiling_at >= self._hold:
                    self._set(self.limit + PROBE_STEP / self.limit)
            else:
                self._set(self.limit + 1 / self.limit)  # about one more per round trip
        self._wake()

    def throttled(self, retry_after: float | None) -> None:
        """The provider answered 429: pause everyone (Retry-After) or shrink the limit."""
        self.stats.throttled += 1
        self._slow_start = False
        if retry_after is not None and retry_after > 0:
            self.pause(retry_after)
            if self.adaptive:
                self._cut(0.5)
        elif self.adaptive:
            # Too many in flight: the provider's limit is about what was running then
            # (``in_flight`` still counts the refused request).
            ceiling = max(LOWEST, self.in_flight - 1)
            now = time.monotonic()
            before = self._ceiling
            if before is not None and ceiling >= before and now - self._ceiling_at >= self._hold:
                self._hold = min(2 * self._hold, CEILING_MEMORY / 2)  # a probe refused again
            self._ceiling = ceiling
            self._ceiling_at = now
            self._set(min(self.limit - 1, self.in_flight - 1))
        self._wake()

    def pause(self, seconds: float) -> None:
        """Hold every new request for ``seconds`` (requests in flight are not touched)."""
        now = time.monotonic()
        until = now + seconds
        if until > self._paused_until:
            self.stats.paused_seconds += until - max(now, self._paused_until)
            self._paused_until = until

    def budget(self, remaining: int, reset: float) -> None:
        """The provider's rate-limit headers: pause until ``reset`` s from now when spent."""
        if remaining <= 0 and reset > 0:
            self.pause(reset)
        elif self.adaptive and remaining < self.limit:
            self._set(max(LOWEST, remaining))

    def _cut(self, factor: float) -> None:
        now = time.monotonic()
        # Once per round trip, not once per answer: a cut shows only when the requests in
        # flight have come back, which takes a round trip as long as answers take *now*
        # (the floor would allow one every few milliseconds against a fast provider).
        trip = min(islice(reversed(self._latencies), RECENT)) if self._latencies else 0.05
        if now - self._last_cut < trip:
            return
        self._last_cut = now
        self._slow_start = False
        self._set(self.limit * factor)

    def _set(self, limit: float) -> None:
        if self.fixed is not None:
            return
        self.limit = min(float(HIGHEST), max(float(LOWEST), limit))
        self.stats.limit = int(self.limit)


_gates: dict[tuple[str, ...], Gate] = {}


def gate_for(key: tuple[str, ...], fixed: int | None) -> Gate:
    """The process-wide gate of one provider account (``key``), shared by its connections.

    A fixed MaxConcurrency gets a gate of its own: a number is a per-connection cap.
    """
    if fixed is not None:
        return Gate(fixed)
    gate = _gates.get(key)
    if gate is None:
        gate = _gates[key] = Gate(None)
    return gate
