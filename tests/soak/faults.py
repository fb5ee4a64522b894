"""The faults a soak draws from, and injecting one so that exactly its statement meets it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from driver.emulator import Emulator, Fault

# Connection properties and fault timings shared by the soaks: a hang outlasts the timeout,
# and a 429 storm outlasts the retry budget.
TIMEOUT = 1.0
HANG = TIMEOUT + 0.5
RETRY_BUDGET = 1.0


@dataclass(frozen=True)
class FaultChoice:
    """One entry of a soak's fault menu (``name`` is how the summary counts it)."""

    name: str
    kind: str
    after: bool = False
    count: int = 1
    retry_after: float | None = None
    statuses: tuple[int, ...] = ()

    def inject(
        self,
        emu: Emulator,
        rng: random.Random,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        query_contains: str | None = None,
        skip: int = 0,
    ) -> Fault:
        """Queue this fault for the requests the arguments select (after ``skip`` of them)."""
        statuses = self.statuses
        if self.kind == "empty-2xx" and method == "DELETE":
            statuses = tuple(s for s in statuses if s != 204)  # 204 is DELETE's real answer
        return emu.faults.add(
            self.kind,
            count=self.count,
            method=method,
            path_contains=path_contains,
            query_contains=query_contains,
            retry_after=HANG if self.kind == "timeout-hang" else self.retry_after,
            after_processing=self.after,
            status=rng.choice(statuses) if statuses else None,
            skip=skip,
        )

    @property
    def retried(self) -> bool:
        """Whether the driver may legitimately send the request again (a 429)."""
        return self.kind == "429"


def _both(kind: str, **extra: object) -> list[FaultChoice]:
    return [
        FaultChoice(f"{kind}/before", kind, False, **extra),  # type: ignore[arg-type]
        FaultChoice(f"{kind}/after", kind, True, **extra),  # type: ignore[arg-type]
    ]


REDIRECTS = (301, 302, 303, 307, 308)
EMPTY = (200, 201, 204)

THROTTLE = [
    FaultChoice("429/retry-after", "429", count=2, retry_after=0.05),
    FaultChoice("429/no-retry-after", "429", count=1),
    FaultChoice("429/past-budget", "429", count=1000, retry_after=RETRY_BUDGET / 3),
]

# Writes: every kind, before and after the server applied the request.
WRITE_MENU = [
    *_both("drop"),
    *_both("500"),
    *_both("timeout-hang"),
    *THROTTLE,
    *_both("redirect", statuses=REDIRECTS),
    *_both("empty-2xx", statuses=EMPTY),
]

# Reads: a GET changes nothing, so "after" adds nothing but the drop's half-sent body.
READ_MENU = [
    FaultChoice("drop", "drop"),
    FaultChoice("500", "500"),
    FaultChoice("timeout-hang", "timeout-hang"),
    *THROTTLE,
    FaultChoice("redirect", "redirect", statuses=REDIRECTS),
    FaultChoice("empty-200", "empty-2xx", statuses=(200,)),
    FaultChoice("empty-204", "empty-2xx", statuses=(204,)),
]


def fired(fault: Fault, emu: Emulator, planned: int) -> int:
    """Withdraw what is left of ``fault``; how many times it fired."""
    emu.faults.discard(fault)
    return planned - fault.count
