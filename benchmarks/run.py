"""confsql benchmarks: request counts, wall times and memory against twilio-python.

The emulator is served over real loopback HTTP (``EmulatorServer``) with a
per-request latency; each scenario's client side runs in a fresh worker
process (``workloads.py``) so it never shares a GIL with the emulator and its
peak RSS growth is its own.  Usage::

    python benchmarks/run.py [--latency-ms 50] [--runs 5] [--only S1,S3]
                             [--scaling] [--markdown]

This prints figures; it is not a test and always exits 0 unless it crashes.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from per_provider import PROVIDERS, SDK_NOTES, SKIPPED  # from benchmarks/, the script's dir

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
from driver.providers import provider_class

WORKLOADS = Path(__file__).resolve().parent / "workloads.py"
RUN_TIMEOUT = 300.0  # seconds one worker run may take before we give up on it
SLOW_SDK = 1.0  # twilio-python runs slower than this are repeated only --sdk-runs times
SLOW_CONFSQL = 4.0  # confsql runs slower than this are repeated only --slow-runs times
SCALING_SIZES = (50, 200, 800)
# Targets measured against plain httpx sending the same requests (confsql wall ÷ its wall).
FLOOR_TARGETS = {"S3x64": 1.05, "S4x64": 1.05, "S7": 1.25, "S8": 1.25, "S9": 1.05}
MAX_THROTTLED = 0.05  # S7/S8: 429 answers as a share of all requests
S6_RATE = 250_000  # rows/s


# -- what is measured -------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A data set seeded with ``Emulator.seed_bulk``."""

    name: str
    conferences: int
    participants_per: int
    status: str
    zero_latency: bool = False
    short: str = ""  # the data column of the markdown table

    def describe(self, latency: float) -> str:
        """One line for the report."""
        lat = 0.0 if self.zero_latency else latency
        people = f" × {self.participants_per:,} participants" if self.participants_per else ""
        return (
            f"{self.conferences:,} {self.status} conferences{people}, "
            f"latency {lat * 1000:g} ms/request"
        )


SHAPES: dict[str, Shape] = {
    "archive": Shape("archive", 5000, 0, "completed", short="5,000 completed conferences"),
    "live": Shape("live", 200, 10, "in-progress", short="200 live conferences × 10"),
    "empty": Shape("empty", 0, 0, "completed", short="into one new conference"),
    "bulk": Shape(
        "bulk", 100, 1000, "in-progress", zero_latency=True, short="100 live × 1,000, 0 ms latency"
    ),
}


@dataclass(frozen=True)
class Scenario:
    """One row of the report."""

    id: str
    title: str
    shape: str
    work: str  # a key of workloads.WORKS
    rows: int  # rows every implementation should return
    concurrency: int | None = 16  # confsql's MaxConcurrency; None: the default (auto)
    limit: int | None = None  # the emulator's account limit on requests in flight
    floor_at: int | None = None  # plain httpx's concurrency, when not ``concurrency``
    sdk: bool = True  # run twilio-python's default loop
    sdk_tuned: bool = True  # and its page_size=1000 variant
    sdk_from: str | None = None  # reuse another scenario's twilio-python figures
    replay: bool = False  # serve cached responses (client CPU only)
    provider: str | None = None  # P scenarios: that provider's emulator (else Twilio's harness)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("S1", "SELECT * FROM Conferences", "archive", "conferences", 5000),
    Scenario("S2", "SELECT * FROM Conferences LIMIT 10", "archive", "conferences-limit10", 10,
             sdk_tuned=False),
    Scenario("S3", "SELECT * FROM Participants", "live", "participants", 2000),
    Scenario("S4", "Conferences JOIN Participants (in-progress)", "live", "join", 2000),
    Scenario("S3x64", "S3 with MaxConcurrency=64", "live", "participants", 2000,
             concurrency=64, sdk=False, sdk_tuned=False, sdk_from="S3"),
    Scenario("S4x64", "S4 with MaxConcurrency=64", "live", "join", 2000,
             concurrency=64, sdk=False, sdk_tuned=False, sdk_from="S4"),
    Scenario("S7", "S3 against a limit of 30 requests in flight, default settings", "live",
             "participants", 2000, concurrency=None, limit=30, floor_at=30, sdk=False,
             sdk_tuned=False),
    Scenario("S8", "S3 against a limit of 8 requests in flight, default settings", "live",
             "participants", 2000, concurrency=None, limit=8, floor_at=8, sdk=False,
             sdk_tuned=False),
    Scenario("S9", "S3 with default settings (MaxConcurrency=auto), no limit", "live",
             "participants", 2000, concurrency=None, floor_at=16, sdk=False, sdk_tuned=False),
    Scenario("S5", "100 × EXEC AddParticipants, one after another", "empty", "exec100", 100,
             sdk_tuned=False),
    Scenario("S6", "stream 100,000 participants through fetchall", "bulk", "participants",
             100_000),
    Scenario("S6r", "S6, responses replayed from memory (client CPU only)", "bulk",
             "participants", 100_000, replay=True),
)  # fmt: skip

# The per-provider family (issue 9 §5): the same two statements against each provider's
# emulator, confsql and plain httpx sending the same requests interleaved, and the provider's
# SDK where one can be pointed at the emulator (per_provider.SDK_NOTES).
PROVIDER_SCENARIOS: tuple[Scenario, ...] = tuple(
    Scenario(f"{pid}-{name}", title, shape, work, rows, provider=name,
             sdk=name != "SignalWire", sdk_tuned=name != "SignalWire")
    for pid, title, shape, work, rows in (
        ("P1", "SELECT * FROM Conferences", "archive", "conferences", 5000),
        ("P3", "SELECT * FROM Participants", "live", "participants", 2000),
    )
    for name in PROVIDERS
)  # fmt: skip


@dataclass
class Measurement:
    """What one implementation did over its runs."""

    impl: str
    walls: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    failures: int = 0  # error (non-2xx) responses seen by the emulator, 429s included
    throttled: list[int] = field(default_factory=list)  # 429 answers per run
    peak_in_flight: int = 0  # most requests the emulator had in flight at once
    limits: list[int] = field(default_factory=list)  # confsql's concurrency limit after a run
    abandoned: int = 0  # requests the client gave up on (no response sent)
    rows: int | None = None
    peak_kb: int = 0
    rtt: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)  # sequential round trips, from the log
    signature: list[tuple[str, str, tuple[tuple[str, str], ...]]] | None = None  # 1st run's
    error: str | None = None

    @property
    def rounds_text(self) -> str:
        """Sequential round trips per run; ``a–b`` when runs differ."""
        if not self.rounds:
            return "—"
        lo, hi = min(self.rounds), max(self.rounds)
        return f"{lo}" if lo == hi else f"{lo}–{hi}"

    @property
    def wall(self) -> float | None:
        """Median wall time, seconds."""
        return statistics.median(self.walls) if self.walls else None

    @property
    def request_text(self) -> str:
        """Requests per run; ``a–b`` when runs differ."""
        if not self.requests:
            return "—"
        lo, hi = min(self.requests), max(self.requests)
        return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"

    @property
    def throttle_share(self) -> float:
        """429 answers as a share of all requests, over every run."""
        return sum(self.throttled) / sum(self.requests) if sum(self.requests) else 0.0

    @property
    def throttled_text(self) -> str:
        """429s per run (``a–b`` when runs differ) and their share of the requests."""
        if not self.throttled:
            return "—"
        lo, hi = min(self.throttled), max(self.throttled)
        runs = f"{lo}" if lo == hi else f"{lo}–{hi}"
        return f"{runs} × 429 ({self.throttle_share:.1%})"


@dataclass
class Outcome:
    """A scenario's measurements and verdict."""

    scenario: Scenario
    confsql: Measurement
    default: Measurement | None = None
    tuned: Measurement | None = None
    raw_rtt: float | None = None
    floor: Measurement | None = None  # plain httpx sending the same requests (S3/S4, S7–S9)
    target: str = ""
    measured: str = ""
    met: bool | None = None


# -- request counting --------------------------------------------------------------


class Counter:
    """Counts requests a run made: from the emulator's log, or the replay proxy."""

    def __init__(self, emu: Emulator, replay: Any = None) -> None:
        self.emu = emu
        self.replay = replay
        self._start = 0

    def reset(self) -> None:
        """Start counting from zero."""
        self.emu.requests.clear()
        if self.replay is not None:
            self._start = self.replay.app.hits + self.replay.app.misses

    def reset_limits(self) -> None:
        """Clear the emulator's limit counters (the limits themselves stay)."""
        self.emu.limits.peak_in_flight = self.emu.limits.refused = 0

    def signature(self) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
        """The requests logged since :meth:`reset`: (method, path, query pairs), sorted."""
        return sorted((r.method, r.path, tuple(r.query)) for r in self.emu.requests)

    def rounds(self) -> int:
        """Sequential round trips since :meth:`reset`, from the requests' arrival times.

        A request that arrives at least 0.8 × latency after the first request of
        the current round opens a new round: it could only have been sent once
        an answer of that round was in (the emulator holds each request for the
        latency).  With no latency every request counts as its own round.
        """
        gap = 0.8 * self.emu.latency
        times = sorted(r.time for r in self.emu.requests)
        if not times:
            return 0
        rounds, start = 1, times[0]
        for t in times[1:]:
            if t - start >= gap:
                rounds, start = rounds + 1, t
        return rounds

    def count(self) -> tuple[int, int, int, int]:
        """(requests, error responses, 429s, abandoned requests) since :meth:`reset`."""
        if self.replay is not None:
            return self.replay.app.hits + self.replay.app.misses - self._start, 0, 0, 0
        log = list(self.emu.requests)
        abandoned = sum(1 for r in log if r.status is None)
        bad = sum(1 for r in log if r.status is not None and not 200 <= r.status < 300)
        throttled = sum(1 for r in log if r.status == 429)
        return len(log), bad, throttled, abandoned


# -- workers ------------------------------------------------------------------------


class Worker:
    """A ``workloads.py`` process for one (implementation, work) pair."""

    def __init__(
        self,
        impl: str,
        work: str,
        base_url: str,
        concurrency: int | None,
        provider: tuple[str, dict[str, str]] | None = None,
    ) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in close())
        cmd = [
            sys.executable, str(WORKLOADS), "--impl", impl, "--work", work,
            "--base-url", base_url, "--account", DEMO_ACCOUNT_SID, "--token", DEMO_AUTH_TOKEN,
            "--concurrency", "auto" if concurrency is None else str(concurrency),
        ]  # fmt: skip
        if provider is not None:  # the P scenarios: (provider name, connection properties)
            cmd += ["--provider", provider[0], "--creds", json.dumps(provider[1])]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            text=True, bufsize=1,
        )  # fmt: skip

    def read(self, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
        """The worker's next JSON reply (an ``error`` reply on timeout or exit)."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            return {"error": f"worker gave no answer{self._stderr_tail()}"}
        try:
            reply: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            return {"error": f"worker said {line.strip()[:200]!r}"}
        return reply

    def run(self) -> dict[str, Any]:
        """Ask for one run and wait for its figures."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        """Tell the worker to quit; kill it if it does not."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = [x for x in self._stderr.read().splitlines() if x.strip()]
        return (": " + lines[-1][:300]) if lines else ""


def measure(
    impl: str,
    scenario: Scenario,
    base_url: str,
    counter: Counter,
    runs: int,
    slow: tuple[float, int] | None = None,
    prime: bool = False,
) -> Measurement:
    """Run ``scenario`` with ``impl`` in a fresh worker.

    ``slow=(seconds, n)``: if the first run took longer than ``seconds``, stop
    after ``n`` runs.  ``prime``: do one uncounted run first, in a worker of its
    own (it fills the replay cache; neither its time nor its memory is counted).
    """
    m = Measurement(impl)
    conc = scenario.concurrency
    if prime:
        # In a worker of its own, so the measured worker's memory is its own runs'.
        primer = Worker(impl, scenario.work, base_url, conc, _provider(scenario, counter))
        try:
            reply = primer.read(60)
            reply = reply if "error" in reply else primer.run()
        finally:
            primer.close()
        if "error" in reply:
            m.error = reply["error"]
            return m
    (m,) = measure_together([(impl, conc)], scenario, base_url, counter, runs, slow, [m])
    return m


def measure_together(
    impls: list[tuple[str, int | None]],
    scenario: Scenario,
    base_url: str,
    counter: Counter,
    runs: int,
    slow: tuple[float, int] | None = None,
    into: list[Measurement] | None = None,
) -> list[Measurement]:
    """Run ``scenario`` with each (implementation, concurrency), interleaving their runs.

    Each implementation has a worker of its own; run *i* of each happens back to
    back (the order alternating), so a change in the machine's load between runs
    touches them alike and their ratio stays fair on a shared machine.
    """
    ms = into if into is not None else [Measurement(impl) for impl, _ in impls]
    where = _provider(scenario, counter)
    workers = [Worker(impl, scenario.work, base_url, conc, where) for impl, conc in impls]
    try:
        wanted = [runs] * len(workers)
        for m, worker in zip(ms, workers, strict=True):
            hello = worker.read(60)
            if "error" in hello:
                m.error = hello["error"]
        for i in range(runs):
            order = list(range(len(workers)))
            for k in order if i % 2 == 0 else reversed(order):
                m = ms[k]
                if m.error or len(m.walls) >= wanted[k]:
                    continue
                _one_run(m, workers[k], scenario, counter)
                if len(m.walls) == 1 and slow is not None and m.walls[0] > slow[0]:
                    wanted[k] = min(runs, slow[1])
    finally:
        for worker in workers:
            worker.close()
    return ms


def _provider(scenario: Scenario, counter: Counter) -> tuple[str, dict[str, str]] | None:
    """(provider, the emulator's demo connection properties) for a P scenario, else None."""
    if scenario.provider is None:
        return None
    return scenario.provider, counter.emu.wire.demo_credentials()


def _one_run(m: Measurement, worker: Worker, scenario: Scenario, counter: Counter) -> None:
    """One run of ``worker``, recorded in ``m`` (an error ends ``m``'s runs)."""
    counter.reset()
    counter.reset_limits()
    reply = worker.run()
    if "error" in reply:
        m.error = reply["error"]
        return
    requests, bad, throttled, abandoned = counter.count()
    if requests == 0 and scenario.rows:
        m.error = "no request reached the server"
        return
    m.walls.append(float(reply["wall"]))
    m.requests.append(requests)
    m.failures += bad
    m.throttled.append(throttled)
    m.peak_in_flight = max(m.peak_in_flight, counter.emu.limits.peak_in_flight)
    if "limit" in reply:
        m.limits.append(int(reply["limit"]))
    m.abandoned += abandoned
    m.rows = int(reply["rows"])
    m.peak_kb = max(m.peak_kb, int(reply["peak_kb"]))
    if "rtt" in reply:
        m.rtt.append(float(reply["rtt"]))
    if counter.replay is None:
        m.rounds.append(counter.rounds())
    if scenario.provider is not None and m.signature is None:
        m.signature = counter.signature()


# -- verdicts ------------------------------------------------------------------------


def judge(o: Outcome, latency: float) -> None:
    """Fill ``target``, ``measured`` and ``met`` from the scenario's target."""
    s, c = o.scenario, o.confsql
    wall = c.wall
    if c.error or wall is None:
        o.target, o.measured, o.met = _target_text(s.id, latency), "n/a (error)", None
        return
    o.target = _target_text(s.id, latency)
    ratio = _ratio(o.default, c)
    if s.provider is not None:
        o.measured, o.met = _same_requests(o)
    elif s.id in ("S1", "S2"):
        limit = 5 if s.id == "S1" else 1
        o.measured = f"{c.request_text} request" + (
            "" if c.requests == [1] * len(c.requests) else "s"
        )
        o.met = max(c.requests) <= limit
    elif s.id in ("S3", "S4"):
        o.measured = f"{wall / latency:.1f}× latency" if latency else "latency 0"
        o.met = wall <= 16 * latency if latency else None
        if s.id == "S3":
            o.measured += f", {ratio:.1f}× SDK" if ratio else ", SDK n/a"
            o.met = bool(o.met and ratio is not None and ratio >= 12)
        o.measured += _floor_text(o)
    elif s.id in FLOOR_TARGETS:
        over = _over_floor(o)
        if over is None:
            o.measured, o.met = "plain httpx n/a", None
        else:
            o.measured = f"{over:.2f}× plain httpx"
            o.met = over <= FLOOR_TARGETS[s.id]
        if s.limit is not None:
            share = c.throttle_share
            o.measured += f", {c.throttled_text}"
            o.met = bool(o.met and share <= MAX_THROTTLED)
    elif s.id == "S5":
        if o.raw_rtt is None:
            o.measured, o.met = "raw round trip n/a", None
        else:
            overhead = (wall - 100 * o.raw_rtt) / 100
            o.measured = f"{overhead * 1000:.2f} ms/EXEC over {o.raw_rtt * 1000:.1f} ms RTT"
            o.met = overhead <= 0.003
    elif s.id in ("S6", "S6r"):
        rate = (c.rows or 0) / wall
        mb = c.peak_kb / 1024
        o.measured = f"{rate:,.0f} rows/s, +{mb:.0f} MB"
        o.met = rate >= S6_RATE and mb < 100
    if c.rows != s.rows:
        o.measured += f" (rows {c.rows} ≠ {s.rows})"
        o.met = False


def _over_floor(o: Outcome) -> float | None:
    """confsql's median wall ÷ plain httpx's (< 1: confsql is faster)."""
    c, f = o.confsql, o.floor
    if f is None or f.error or f.wall is None or c.wall is None or not f.wall:
        return None
    return c.wall / f.wall


def _floor_text(o: Outcome) -> str:
    over = _over_floor(o)
    return f", {over:.2f}× plain httpx" if over is not None else ""


def _same_requests(o: Outcome) -> tuple[str, bool | None]:
    """Whether plain httpx sent exactly confsql's requests (P scenarios), and a note."""
    c, f = o.confsql, o.floor
    if f is None or f.error or f.signature is None or c.signature is None:
        return "plain httpx n/a", None
    if f.signature == c.signature:
        return f"same {len(c.signature):,} requests{_floor_text(o)}", True
    mine, theirs = collections.Counter(c.signature), collections.Counter(f.signature)
    only_c, only_f = sum((mine - theirs).values()), sum((theirs - mine).values())
    return f"requests differ: {only_c} only confsql's, {only_f} only plain httpx's", False


def _target_text(sid: str, latency: float) -> str:
    if sid.startswith("P"):
        return "all rows; plain httpx sends the same requests"
    ms = latency * 1000
    shared = f"429s ≤ {MAX_THROTTLED:.0%} of requests, no failed statement"
    return {
        "S1": "≤ 5 requests",
        "S2": "1 request",
        "S3": f"≤ 16× latency ({16 * ms:g} ms), ≥ 12× SDK default",
        "S4": f"≤ 16× latency ({16 * ms:g} ms)",
        "S3x64": f"≤ {FLOOR_TARGETS['S3x64']:g}× plain httpx at 64",
        "S4x64": f"≤ {FLOOR_TARGETS['S4x64']:g}× plain httpx at 64",
        "S7": f"≤ {FLOOR_TARGETS['S7']:g}× plain httpx at 30; {shared}",
        "S8": f"≤ {FLOOR_TARGETS['S8']:g}× plain httpx at 8; {shared}",
        "S9": f"≤ {FLOOR_TARGETS['S9']:g}× plain httpx at 16",
        "S5": "≤ 3 ms/EXEC over the round trip",
        "S6": f"≥ {S6_RATE:,} rows/s, < 100 MB",
        "S6r": f"≥ {S6_RATE:,} rows/s, < 100 MB",
    }[sid]


def _ratio(sdk: Measurement | None, confsql: Measurement) -> float | None:
    if sdk is None or sdk.wall is None or confsql.wall is None or confsql.wall == 0:
        return None
    return sdk.wall / confsql.wall


# -- running --------------------------------------------------------------------------


def load_shape(emu: Emulator, shape: Shape, latency: float) -> None:
    """Reset the emulator, seed ``shape`` and set the latency."""
    emu.reset()
    if shape.conferences:
        emu.seed_bulk(
            conferences=shape.conferences,
            participants_per=shape.participants_per,
            status=shape.status,
        )
    emu.latency = 0.0 if shape.zero_latency else latency


def run_scenario(
    s: Scenario,
    emu: Emulator,
    base_url: str,
    args: argparse.Namespace,
    done: dict[str, Outcome],
) -> Outcome:
    """Measure confsql, twilio-python and (for S5) the raw round trip."""
    replay = None
    if s.replay:
        from replay import ReplayServer

        replay = ReplayServer(base_url).start()
        base_url = replay.base_url
    counter = Counter(emu, replay)
    emu.limits.max_in_flight = s.limit  # the account's limit (None: none), for every client
    try:
        mine = (SLOW_CONFSQL, args.slow_runs)
        floored = (s.work in ("participants", "join") or s.provider is not None) and not SHAPES[
            s.shape
        ].zero_latency
        if floored:  # confsql and plain httpx, runs interleaved: their ratio is the figure
            at = s.floor_at if s.floor_at is not None else s.concurrency
            pair = [("confsql", s.concurrency), ("raw", at)]
            c, floor = measure_together(pair, s, base_url, counter, args.runs, mine)
            o = Outcome(s, c, floor=floor)
            if any(floor.throttled) and not floor.error:
                floor.error = "plain httpx was refused (429): its schedule breaks the limit"
        else:
            o = Outcome(s, measure("confsql", s, base_url, counter, args.runs, mine, s.replay))
        slow = (SLOW_SDK, args.sdk_runs)
        if s.sdk:
            o.default = measure("sdk-default", s, base_url, counter, args.runs, slow, s.replay)
        if s.sdk_tuned:
            o.tuned = measure("sdk-tuned", s, base_url, counter, args.runs, slow, s.replay)
        if s.sdk_from and s.sdk_from in done:
            o.default, o.tuned = done[s.sdk_from].default, done[s.sdk_from].tuned
        if s.work == "exec100":
            raw = measure("raw", s, base_url, counter, 1)
            o.raw_rtt = statistics.median(raw.rtt) if raw.rtt else None
    finally:
        emu.limits.max_in_flight = None
        if replay is not None:
            replay.stop()
    judge(o, 0.0 if SHAPES[s.shape].zero_latency else args.latency)
    return o


def run_scaling(emu: Emulator, base_url: str, args: argparse.Namespace, out: TextIO) -> list[str]:
    """S3 at several conference counts and both concurrencies; returns markdown lines."""
    lat = args.latency
    base = SCENARIOS[2]
    lines = [
        "| live conferences × 10 | requests | MaxConcurrency=16 | × latency "
        "| MaxConcurrency=64 | × latency |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    print(f"\nScaling: S3 ({base.title}), latency {lat * 1000:g} ms", file=out)
    print(f"  {'confs':>6} {'requests':>9} {'c=16':>10} {'×lat':>6} {'c=64':>10} {'×lat':>6}",
          file=out)  # fmt: skip
    for n in SCALING_SIZES:
        load_shape(emu, Shape(f"live{n}", n, 10, "in-progress"), lat)
        counter = Counter(emu)
        cells: list[Measurement] = []
        for conc in (16, 64):
            sc = Scenario(f"S3@{n}", base.title, "live", base.work, n * 10, concurrency=conc)
            cells.append(
                measure("confsql", sc, base_url, counter, args.runs, (SLOW_CONFSQL, args.slow_runs))
            )
        err = next((m.error for m in cells if m.error), None)
        if err:
            print(f"  {n:>6} error: {err}", file=out)
            lines.append(f"| {n} | error | | | | |")
            continue
        w16, w64 = (m.wall or 0.0 for m in cells)
        xl16, xl64 = (_x(w, lat) for w in (w16, w64))
        print(f"  {n:>6} {cells[0].request_text:>9} {_fmt(w16):>10} {xl16:>6} "
              f"{_fmt(w64):>10} {xl64:>6}", file=out)  # fmt: skip
        lines.append(
            f"| {n} | {cells[0].request_text} | {_fmt(w16)} | {xl16} | {_fmt(w64)} | {xl64} |"
        )
    return lines


# -- reporting ------------------------------------------------------------------------


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _x(wall: float | None, latency: float) -> str:
    return f"{wall / latency:.1f}×" if wall is not None and latency else "—"


def print_outcome(o: Outcome, latency: float, out: TextIO) -> None:
    """The plain-text block for one scenario."""
    s = o.scenario
    lat = 0.0 if SHAPES[s.shape].zero_latency else latency
    limit = f", account limit {s.limit} in flight" if s.limit is not None else ""
    print(f"\n{s.id:<6} {s.title}  [MaxConcurrency={_conc(s.concurrency)}{limit}]", file=out)
    floor_at = _conc(s.floor_at if s.floor_at is not None else s.concurrency)
    sdk = "twilio" if s.provider in (None, "Twilio") else "SDK"
    if s.provider is not None and not s.sdk:
        print(f"    {'SDK':<15} {SDK_NOTES[s.provider]}", file=out)
    for label, m in (("confsql", o.confsql), (f"{sdk} default", o.default),
                     (f"{sdk} tuned", o.tuned), (f"httpx floor@{floor_at}", o.floor)):  # fmt: skip
        if m is None:
            continue
        is_sdk = label.startswith(sdk + " ")
        reused = " (from " + str(s.sdk_from) + ")" if is_sdk and s.sdk_from else ""
        if m.error:
            print(f"    {label:<15} error: {m.error}", file=out)
            continue
        wall = m.wall or 0.0
        rate = (m.rows or 0) / wall if wall else 0.0
        ratio = (
            f"  ratio {_ratio(m, o.confsql) or 0:.1f}× (SDK wall / confsql wall)" if is_sdk else ""
        )
        bad = (
            f"  {m.failures - sum(m.throttled)} error responses!"
            if m.failures > sum(m.throttled)
            else ""
        )
        if s.limit is not None or any(m.throttled):
            bad += f"  {m.throttled_text}, peak {m.peak_in_flight} in flight"
        if m.limits:
            bad += f", limit after each run {','.join(map(str, m.limits))}"
        if m.abandoned:
            bad += f"  ({m.abandoned} request(s) abandoned in flight over {len(m.walls)} runs)"
        if len(m.walls) > 1:
            bad += "  runs " + " ".join(f"{w * 1000:.0f}" for w in m.walls) + " ms"
        print(
            f"    {label:<15} requests {m.request_text:>6}  median {_fmt(wall):>8}"
            f" ({_x(wall, lat)} latency, {m.rounds_text} round trips)  rows {m.rows:,}"
            f"  {rate:,.0f} rows/s"
            f"  peak RSS +{m.peak_kb / 1024:.1f} MB  [{len(m.walls)} run(s)]{reused}{ratio}{bad}",
            file=out,
        )
    over = _over_floor(o)
    if over is not None:
        print(f"    confsql ÷ plain httpx: {over:.2f}×", file=out)
    if o.raw_rtt is not None:
        print(f"    raw httpx POST round trip (median of 20): {o.raw_rtt * 1000:.2f} ms", file=out)
    verdict = {True: "PASS", False: "MISS", None: "n/a"}[o.met]
    print(f"    target {o.target}: {verdict} — {o.measured}", file=out)


def _conc(concurrency: int | None) -> str:
    return "auto" if concurrency is None else str(concurrency)


def _sdk_cells(m: Measurement | None, confsql: Measurement) -> tuple[str, str]:
    """Wall (with request count) and ratio cells for a twilio-python measurement."""
    if m is None:
        return "—", "—"
    if m.error or m.wall is None:
        return "error", "—"
    ratio = _ratio(m, confsql)
    return f"{_fmt(m.wall)} ({m.request_text} req)", f"{ratio:.1f}×" if ratio else "—"


def markdown(outcomes: Iterable[Outcome], latency: float) -> list[str]:
    """The README table."""
    lines = [
        "| id | scenario | requests | confsql median wall | × latency | twilio-python default "
        "| ratio | tuned (page_size=1000) | ratio | plain httpx, same requests | target | met? |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for o in outcomes:
        s, c = o.scenario, o.confsql
        lat = 0.0 if SHAPES[s.shape].zero_latency else latency

        dw, dr = _sdk_cells(o.default, c)
        tw, tr = _sdk_cells(o.tuned, c)
        wall = "error" if c.error else _fmt(c.wall)
        met = {True: "✅", False: "❌", None: "n/a"}[o.met]
        title = f"{s.title} ({SHAPES[s.shape].short})"
        floor = "—"
        if o.floor is not None:
            at = _conc(s.floor_at if s.floor_at is not None else s.concurrency)
            floor = (
                "error"
                if o.floor.error
                else f"{_fmt(o.floor.wall)} ({_x(o.floor.wall, lat)}) at {at}"
            )
        requests = c.request_text
        if s.limit is not None and c.throttled:
            requests += f" ({c.throttled_text})"
        lines.append(
            f"| {s.id} | {title} | {requests} | {wall} | {_x(c.wall, lat)} "
            f"| {dw} | {dr} | {tw} | {tr} | {floor} | {o.target} | {met} {o.measured} |"
        )
    return lines


def _provider_sdk_cells(o: Outcome) -> tuple[str, str, str, str]:
    """SDK default wall, ratio, tuned wall, ratio (``n/a`` where there is no SDK)."""
    if not o.scenario.sdk:
        return "n/a ¹", "—", "n/a ¹", "—"
    dw, dr = _sdk_cells(o.default, o.confsql)
    tw, tr = _sdk_cells(o.tuned, o.confsql)
    return dw, dr, tw, tr


def provider_markdown(outcomes: Iterable[Outcome], latency: float) -> list[str]:
    """The README's "Per provider" table, its footnotes and the paging comparison."""
    lines = [
        "| id | provider | scenario | requests | round trips | confsql median wall | × latency "
        "| plain httpx, same requests | confsql ÷ httpx | SDK default | ratio | SDK tuned "
        "| ratio | same requests? |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| --- |",
    ]
    done = list(outcomes)
    for o in done:
        s, c = o.scenario, o.confsql
        f = o.floor
        floor = "—" if f is None else f"{_fmt(f.wall)} ({_x(f.wall, latency)})"
        floor = "error" if f is not None and f.error else floor
        over = _over_floor(o)
        dw, dr, tw, tr = _provider_sdk_cells(o)
        met = {True: "✅", False: "❌", None: "n/a"}[o.met]
        lines.append(
            f"| {s.id} | {s.provider} | {s.title} ({SHAPES[s.shape].short}) | {c.request_text} "
            f"| {c.rounds_text} | {'error' if c.error else _fmt(c.wall)} | {_x(c.wall, latency)} "
            f"| {floor} | {f'{over:.2f}×' if over is not None else '—'} | {dw} | {dr} | {tw} "
            f"| {tr} | {met} {o.measured} |"
        )
    lines.append("")
    notes = "; ".join(f"{name}: {SDK_NOTES[name]}" for name in PROVIDERS if name != "SignalWire")
    lines.append(
        "¹ SignalWire: " + SDK_NOTES["SignalWire"] + ". The SDKs: " + notes + ". *Default* is the "
        "SDK's own page size (Twilio 50, Telnyx and TeXML 20 on the emulator), *tuned* the largest "
        "(Twilio and TeXML page_size=1000, Telnyx page_size=250); the participant loop lists "
        "in-progress conferences, then each conference's participants one at a time. "
        f"{SKIPPED}"
    )
    sentence = paging_sentence(done, latency)
    if sentence:
        lines += ["", sentence]
    return lines


def paging_sentence(outcomes: list[Outcome], latency: float) -> str:
    """Telnyx's full scan (page numbers, concurrent) against the next-link ones, measured."""
    by_id = {o.scenario.id: o for o in outcomes}
    telnyx = by_id.get("P1-Telnyx")
    links = [
        by_id[f"P1-{name}"]
        for name in ("Twilio", "SignalWire", "TelnyxTeXML")
        if f"P1-{name}" in by_id and not by_id[f"P1-{name}"].confsql.error
    ]
    if telnyx is None or telnyx.confsql.error or not links:
        return ""
    t = telnyx.confsql
    rounds = ", ".join(f"{o.confsql.rounds_text} ({o.scenario.provider})" for o in links)
    walls = ", ".join(f"{_fmt(o.confsql.wall)}" for o in links)
    req = max(t.requests) if t.requests else 0
    text = (
        f"Full scan of 5,000 conferences: Telnyx's page-number paging sent {t.request_text} "
        f"requests of 250 in {t.rounds_text} sequential round trips (page 1, then the other "
        f"{req - 1} page numbers {telnyx.scenario.concurrency} at a time), "
        f"{_fmt(t.wall)} = {_x(t.wall, latency)} latency; next-link paging, where each page's "
        f"link arrives only with that page, took {rounds} round trips for 5 pages of 1,000 "
        f"({walls})."
    )
    sdk = telnyx.tuned
    if sdk is not None and not sdk.error and sdk.wall is not None:
        text += (
            f" The Telnyx SDK, which walks the same page numbers one after the other, took "
            f"{sdk.rounds_text} round trips ({_fmt(sdk.wall)}) at page_size=250."
        )
    return text


def machine_line(args: argparse.Namespace) -> str:
    """CPU, cores, Python and date, for the line under the table."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"Measured on {cpu}, {os.cpu_count()} cores, Python {platform.python_version()} "
        f"({platform.system()}), {dt.date.today().isoformat()}; emulator over loopback HTTP, "
        f"{args.latency * 1000:g} ms per request; median of {args.runs} runs "
        f"(confsql runs over {SLOW_CONFSQL:g} s: {args.slow_runs}; twilio-python loops over "
        f"{SLOW_SDK:g} s: {args.sdk_runs})."
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(description="confsql vs twilio-python benchmarks")
    ap.add_argument("--latency-ms", type=float, default=50.0, help="emulator latency per request")
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    ap.add_argument("--sdk-runs", type=int, default=1,
                    help=f"runs of twilio-python loops slower than {SLOW_SDK:g} s")  # fmt: skip
    ap.add_argument("--slow-runs", type=int, default=2,
                    help=f"runs of confsql work slower than {SLOW_CONFSQL:g} s")  # fmt: skip
    ap.add_argument("--only", default="", help="comma-separated scenario ids (prefixes: S3, S6)")
    ap.add_argument("--scaling", action="store_true", help="also run S3 at 50, 200, 800 confs")
    ap.add_argument("--markdown", action="store_true", help="print a README table on stdout")
    args = ap.parse_args(argv)
    args.latency = args.latency_ms / 1000
    args.runs = max(1, args.runs)
    args.sdk_runs = max(1, args.sdk_runs)
    args.slow_runs = max(1, args.slow_runs)
    return args


def select_scenarios(only: str) -> list[Scenario]:
    """Scenarios whose id starts with one of the ``--only`` entries (all when empty).

    ``P`` selects the per-provider family, ``P1`` its full scans, ``P3-Telnyx`` one row.
    """
    every = (*SCENARIOS, *PROVIDER_SCENARIOS)
    wanted = [w.strip().lower() for w in only.split(",") if w.strip()]
    if not wanted:
        return list(every)
    chosen = [s for s in every if any(s.id.lower().startswith(w) for w in wanted)]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches none of {', '.join(s.id for s in every)}")
    return chosen


def run_providers(
    chosen: list[Scenario], args: argparse.Namespace, out: TextIO
) -> dict[str, Outcome]:
    """The P scenarios: each provider's emulator (its wire) served on its own, in turn."""
    outcomes: dict[str, Outcome] = {}
    for name in PROVIDERS:
        mine = [s for s in chosen if s.provider == name]
        if not mine:
            continue
        cls = provider_class(name)
        assert cls is not None
        emu = Emulator(wire=cls.wire)
        server = EmulatorServer(emu).start()
        base_url = server.base_url + emu.wire.base_path  # confsql's BaseUrl for this provider
        try:
            for shape_name in dict.fromkeys(s.shape for s in mine):
                shape = SHAPES[shape_name]
                load_shape(emu, shape, args.latency)
                print(f"\n== {name} ({cls.wire} emulator): {shape.describe(args.latency)}",
                      file=out)  # fmt: skip
                for s in (s for s in mine if s.shape == shape_name):
                    outcomes[s.id] = run_scenario(s, emu, base_url, args, outcomes)
                    print_outcome(outcomes[s.id], args.latency, out)
                    out.flush()
        finally:
            server.stop()
    print(f"\n{SKIPPED}", file=out)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """Run the selected scenarios and print the report."""
    args = parse_args(argv)
    everything = select_scenarios(args.only)
    chosen = [s for s in everything if s.provider is None]
    out = sys.stderr if args.markdown else sys.stdout
    started = time.perf_counter()
    emu = Emulator()
    server = EmulatorServer(emu).start()
    outcomes: dict[str, Outcome] = {}
    scaling: list[str] = []
    try:
        for shape_name in dict.fromkeys(s.shape for s in chosen):
            shape = SHAPES[shape_name]
            load_shape(emu, shape, args.latency)
            print(f"\n== data: {shape.describe(args.latency)}", file=out)
            for s in (s for s in chosen if s.shape == shape_name):
                outcome = run_scenario(s, emu, server.base_url, args, outcomes)
                outcomes[s.id] = outcome
                print_outcome(outcome, args.latency, out)
                out.flush()
        if args.scaling:
            scaling = run_scaling(emu, server.base_url, args, out)
    finally:
        server.stop()
    per_provider = [s for s in everything if s.provider is not None]
    provided = run_providers(per_provider, args, out) if per_provider else {}
    print(f"\nTotal benchmark time {time.perf_counter() - started:.0f} s", file=out)
    load = _load_text()
    if args.markdown:
        if outcomes:
            print("\n".join(markdown(outcomes.values(), args.latency)))
            print()
            print(machine_line(args) + load)
        if scaling:
            print()
            print("\n".join(scaling))
        if provided:
            print()
            print("\n".join(provider_markdown(provided.values(), args.latency)))
            print()
            print(machine_line(args) + load)
    else:
        if provided:
            sentence = paging_sentence(list(provided.values()), args.latency)
            print(f"\n{sentence}" if sentence else "", file=out)
        print(machine_line(args) + load)
    return 0


def _load_text() -> str:
    """The machine's load average at the end of the run (the VM is shared)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return ""
    return f" Load average at the end: {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)."


if __name__ == "__main__":
    sys.exit(main())
