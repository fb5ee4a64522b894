"""The emulator's account limits: requests in flight and requests per second.

``Emulator.limits.max_in_flight = N`` answers 429 to a request that would make
more than N in flight (with ``Retry-After`` only if ``in_flight_retry_after``
is set, as a provider that says nothing about when to come back).
``Emulator.limits.per_second = N`` allows N requests per one-second window;
past that a 429 carries ``Retry-After`` until the window ends.  While a rate
limit is set, every answer carries the provider's rate-limit headers (see
:meth:`driver.emulator.wire.Wire.rate_limit_headers`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .wire import Wire, WireReply


@dataclass(frozen=True)
class Refusal:
    """A 429 the limits decided on."""

    retry_after: float | None

    def render(self, wire: Wire) -> WireReply:
        """The provider's 429 answer."""
        return wire.too_many_requests(self.retry_after)


class Limits:
    """Concurrency and rate limits of the emulated account (off by default)."""

    def __init__(self) -> None:
        self.max_in_flight: int | None = None
        self.in_flight_retry_after: float | None = None
        self.per_second: int | None = None
        self.in_flight = 0
        self.peak_in_flight = 0
        self.refused = 0
        self._window = 0.0
        self._used = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        """No limits, counters cleared (requests still being answered stay counted in flight:
        each will still call :meth:`done`)."""
        with self._lock:
            self.max_in_flight = self.per_second = self.in_flight_retry_after = None
            self.refused = self._used = 0
            self.peak_in_flight = self.in_flight

    def admit(self) -> Refusal | None:
        """Count a request in, or the 429 to answer instead."""
        with self._lock:
            now = time.monotonic()
            if self.per_second is not None:
                if now - self._window >= 1.0:
                    self._window, self._used = now, 0
                if self._used >= self.per_second:
                    self.refused += 1
                    return Refusal(math.ceil(self._window + 1.0 - now))
            if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
                self.refused += 1
                return Refusal(self.in_flight_retry_after)
            self._used += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return None

    def done(self) -> None:
        """A request admitted by :meth:`admit` has been answered."""
        with self._lock:
            self.in_flight -= 1

    def headers(self, wire: Wire) -> dict[str, str]:
        """The rate-limit headers for an answer (none without a rate limit)."""
        with self._lock:
            if self.per_second is None:
                return {}
            remaining = max(0, self.per_second - self._used)
            reset = max(0.0, self._window + 1.0 - time.monotonic())
            return wire.rate_limit_headers(self.per_second, remaining, reset)
