"""Provider limits: the shared 429 pause, adaptive concurrency and rate-limit headers (issue 13).

Functional checks only, read from the emulator's request log and counters;
timings live in benchmarks/.
"""

from __future__ import annotations

import threading
import time

import pytest

import driver
from driver import throttle
from driver.emulator import Emulator
from tests.conftest import Connect


@pytest.fixture(autouse=True)
def _fresh_gates() -> None:
    """Each test starts with no learned limits (gates are shared per account)."""
    throttle._gates.clear()


@pytest.fixture
def rooms(emu: Emulator) -> int:
    for i in range(60):
        sid = str(emu.create_conference(f"room {i}", "in-progress")["sid"])
        for _ in range(2):
            emu.add_participant(sid, status="connected")
    emu.requests.clear()
    return 60


def test_one_429_with_retry_after_pauses_every_request(
    connect: Connect, emu: Emulator, rooms: int
) -> None:
    conn = connect()
    emu.latency = 0.05
    emu.faults.add("429", retry_after=1, operation="participants", skip=5)
    rows = conn.cursor().execute("SELECT * FROM Participants").fetchall()
    assert len(rows) == rooms * 2
    (refused,) = [r for r in emu.requests if r.fault == "429"]
    answered = refused.time + emu.latency  # the 429 left the emulator then
    # Requests the client had started before it read the 429 may still arrive just after
    # it; then nothing arrives for the pause's second; then the rest (retry included).
    after = sorted(r.time for r in emu.requests if r.time > answered)
    gaps = [b - a for a, b in zip([answered, *after], after, strict=False)]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    assert gaps[widest] >= 0.9
    assert widest <= 16  # only requests already in flight came before the pause ended
    assert conn.stats.gate.throttled == 1


def test_adaptive_concurrency_settles_under_the_limit(
    connect: Connect, emu: Emulator, rooms: int
) -> None:
    conn = connect()  # MaxConcurrency=auto: starts at 16, above the account's 10
    emu.latency = 0.02
    emu.limits.max_in_flight = 10
    rows = conn.cursor().execute("SELECT * FROM Participants").fetchall()
    assert len(rows) == rooms * 2
    assert emu.limits.refused > 0  # it had to find the limit
    assert 5 <= conn.stats.gate.limit <= 11  # found it (additive probing may be one above)
    refused_before = emu.limits.refused
    rows = conn.cursor().execute("SELECT * FROM Participants").fetchall()
    assert len(rows) == rooms * 2
    assert emu.limits.refused - refused_before <= 3  # learned: at most 5 % of the second scan


def test_a_fixed_max_concurrency_is_kept(connect: Connect, emu: Emulator, rooms: int) -> None:
    conn = connect(MaxConcurrency=3)
    emu.latency = 0.02
    conn.cursor().execute("SELECT * FROM Participants").fetchall()
    assert emu.limits.peak_in_flight <= 3
    assert conn.stats.gate.limit == 3


def test_rate_limit_headers_hold_requests_until_the_reset(connect: Connect, emu: Emulator) -> None:
    conn = connect()
    emu.limits.per_second = 2
    cur = conn.cursor()
    for i in range(5):
        cur.execute(
            f"EXEC AddParticipants ConferenceSid = 'rate', From = '+1555010{i}', "
            f"To = '+1555020{i}', Label = 'r{i}'"
        )
    assert emu.limits.refused == 0  # never sent a request that was sure to be refused
    posts = [r.time for r in emu.requests.matching("POST")]
    assert len(posts) == 5
    assert posts[2] - posts[0] >= 0.9  # the third waited for the next window


def test_writes_under_a_429_storm_stay_at_most_once(connect: Connect, emu: Emulator) -> None:
    emu.limits.max_in_flight = 4
    emu.latency = 0.005
    threads, per_thread = 8, 63
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        conn = connect()
        cur = conn.cursor()
        for i in range(per_thread):
            try:
                cur.execute(
                    "EXEC AddParticipants ConferenceSid = 'storm', From = '+15550100', "
                    f"To = '+15550101', Label = 'w{n}-{i}'"
                )
            except driver.Error as exc:
                errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert emu.limits.refused > 0
    assert all(isinstance(e, driver.Error) for e in errors)
    labels = [p["label"] for c in emu.conferences() for p in emu.participants(str(c["sid"]))]
    assert len(labels) == len(set(labels))  # nothing placed twice
    assert len(labels) == threads * per_thread - len(errors)
    posts = emu.requests.matching("POST")
    accepted = [r for r in posts if r.status == 201]
    assert len(accepted) == len(labels)


def test_stats_show_the_limit_and_the_429s(connect: Connect, emu: Emulator, rooms: int) -> None:
    conn = connect()
    emu.limits.max_in_flight = 6
    emu.latency = 0.01
    conn.cursor().execute("SELECT * FROM Participants").fetchall()
    stats = dict(conn.cursor().execute("SELECT Name, Value FROM sys_stats").fetchall())
    assert stats["ConcurrencyLimit"] <= 7
    assert stats["Throttled"] == conn.stats.gate.throttled > 0
    assert stats["Requests"] == conn.stats.requests


def test_gate_unit_slow_start_and_cut() -> None:
    gate = throttle.Gate(None)
    assert gate.limit == throttle.START
    started = time.monotonic()
    for _ in range(10):
        gate.in_flight += 1
        gate.release(started, ok=True)
    assert gate.limit == throttle.START + 10  # slow start: one more per clean answer
    gate.in_flight = 12
    gate.throttled(None)
    assert gate.limit == 11  # just under what was running when refused
    gate.throttled(2.0)
    assert gate.stats.paused_seconds >= 1.9


def test_a_refusal_is_not_a_clean_answer(connect: Connect, emu: Emulator, rooms: int) -> None:
    """429s neither grow the limit nor count as latency samples (which would cut it)."""
    conn = connect()
    emu.latency = 0.02
    emu.limits.max_in_flight = 8
    rows = conn.cursor().execute("SELECT * FROM Participants").fetchall()
    assert len(rows) == rooms * 2
    assert emu.limits.refused > 0
    gate = conn.session.client.gate
    # The level it learned is the account's: the refused request still counted as in
    # flight when the gate heard of the refusal.
    assert gate._ceiling == 8
    # No refusal (answered at once) became a latency sample: one would have made every
    # later answer look like queueing and cut the limit under the account's.
    # (asyncio may end the emulator's sleep up to a clock tick early; a refusal takes ~1 ms.)
    assert min(gate._latencies) >= emu.latency * 0.9
    assert 7 <= gate.limit <= 8  # one cut by a tenth may still come from a busy machine


def _answer(gate: throttle.Gate, seconds: float) -> None:
    """One request that took ``seconds`` and came back clean."""
    gate.in_flight += 1
    gate.release(time.monotonic() - seconds, ok=True)


def test_gate_unit_holds_at_a_refused_level_before_probing() -> None:
    gate = throttle.Gate(None)
    gate.in_flight = 9  # the refused request still counts
    gate.throttled(None)
    gate.in_flight = 0
    assert gate.limit == 8
    for _ in range(200):
        _answer(gate, 0.05)
    assert gate.limit == 8  # within PROBE_HOLD of the refusal: no probing
    gate._ceiling_at -= throttle.PROBE_HOLD  # the hold is over
    answers = 0
    while gate.limit < 9:
        _answer(gate, 0.05)
        answers += 1
    assert answers >= 8 * 0.9 / throttle.PROBE_STEP  # one more takes about 1/PROBE_STEP trips
    gate.in_flight = 9
    gate.throttled(None)  # the probe was refused at the same level
    gate.in_flight = 0
    assert gate.limit == 8
    assert gate._hold == 2 * throttle.PROBE_HOLD  # the next probe waits longer


def test_gate_unit_one_slow_answer_is_not_queueing() -> None:
    gate = throttle.Gate(None)
    for _ in range(16):
        _answer(gate, 0.05)
    grown = gate.limit
    _answer(gate, 0.5)  # one straggler (or an answer read late by a busy process)
    assert gate.limit > grown  # still in slow start
    for _ in range(throttle.RECENT - 2):
        _answer(gate, 0.5)
    before = gate.limit
    assert before > grown  # RECENT - 1 slow answers: still growing
    _answer(gate, 0.5)  # now every recent answer is slow: queueing
    assert gate.limit == pytest.approx(before * 0.9)


def test_gate_unit_cuts_once_per_round_trip_against_a_fast_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Answers that took 1 ms, then 100 ms (a busy client reading big pages): the limit
    is cut about once per 100 ms, not once per millisecond down to 1."""
    clock = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock[0])
    gate = throttle.Gate(None)
    for _ in range(16):
        clock[0] += 0.001
        _answer(gate, 0.001)
    grown = gate.limit
    for _ in range(40):  # 200 ms of answers, one every 5 ms
        clock[0] += 0.005
        _answer(gate, 0.1)
    assert grown * 0.9**3 <= gate.limit < grown  # two or three cuts
