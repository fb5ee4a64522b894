"""The read soak: random SELECTs on ONE shared connection under random faults.

The data: 1,100 completed conferences (so a full conference scan takes two
pages), 80 live ones with 3 participants each and 10 starting ones with
ringing participants, under awkward names.  Queries mix pushable and
non-pushable filters, IN lists, joins, IN-subqueries, aggregates, ORDER BY,
LIMIT/OFFSET (early exits), and cursors read half-way then closed or dropped.

A fault from :data:`~tests.soak.faults.READ_MENU` is aimed at the statement's
first request, a second page, or a participant list.  Every statement must
either return exactly the oracle's rows (:mod:`tests.oracle`) or raise a
PEP 249 error that is not ``InternalError``; and a statement that met no
fault must succeed.  That last rule is what catches a leaking HTTP pool: the
connection fails later statements though nothing went wrong.  Sooner than
that, :mod:`.leaks` checks after every statement that no HTTP request is still
checked out of the pool and no task is left running.
"""

from __future__ import annotations

import gc
import random
import sqlite3
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator
from tests import oracle

from . import leaks
from .config import SoakConfig
from .faults import READ_MENU, RETRY_BUDGET, TIMEOUT, fired
from .summary import Summary, judged

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
NAMES = ["Sales", "Support", "a/../Calls", "x y", "O'Brien", "Ünïcode?#%", "line\nbreak", "50% off"]
LIVE_ROOMS, PEOPLE, STARTING_ROOMS, DONE_ROOMS = 80, 3, 10, 1100
FAULT_FREE_SHARE = 0.4
INTERRUPT_SHARE = 0.08
SLOW = 15.0  # seconds: a statement taking longer is a hang
POISONED = 5  # consecutive fault-free failures: the connection is broken, stop


def seed(emu: Emulator) -> dict[str, Any]:
    """Fill ``emu`` with the soak's data; return SIDs and names for the query generator."""
    emu.clock = lambda: NOW
    emu.seed_bulk(DONE_ROOMS, status="completed")
    live: list[str] = []
    for i in range(LIVE_ROOMS + STARTING_ROOMS):
        starting = i >= LIVE_ROOMS
        name = NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i}")
        made = emu.create_conference(
            name,
            "init" if starting else "in-progress",
            date_created=NOW - timedelta(hours=i % 30, minutes=7 * i),
        )
        sid = str(made["sid"])
        live.append(sid)
        for j in range(i % 3 if starting else PEOPLE):
            emu.add_participant(
                sid,
                label=f"p{j}" if (i + j) % 3 else None,
                muted=bool((i + j) % 2),
                hold=(i + j) % 5 == 0,
                status="ringing" if starting else "connected",
            )
    calls = [str(p["call_sid"]) for sid in live[:20] for p in emu.participants(sid)]
    emu.requests.clear()
    return {"live": live, "calls": calls, "oracle": oracle.build(emu)}


# --- the query generator -----------------------------------------------------------

Term = tuple[str, Any]  # SQL with ? marks, and a function rng -> its parameters

CONFERENCE_TERMS: list[Term] = [
    ("Status = ?", lambda r, d: [r.choice(["init", "in-progress", "completed", "bogus"])]),
    ("Status IN (?, ?)", lambda r, d: r.sample(["init", "in-progress", "completed"], 2)),
    ("Status != ?", lambda r, d: [r.choice(["init", "completed"])]),
    ("FriendlyName = ?", lambda r, d: [r.choice([*NAMES, "Sales 8", "bulk-00042", "none"])]),
    ("FriendlyName LIKE ?", lambda r, d: [r.choice(["S%", "%y%", "O'%", "bulk-000%"])]),
    (
        "DateCreated > ?",
        lambda r, d: [f"2026-11-{r.randint(17, 20):02d} {r.randint(0, 23):02d}:00:00"],
    ),
    ("DateCreated <= ?", lambda r, d: [f"2026-11-{r.randint(18, 20):02d}"]),
    ("DateUpdated >= ?", lambda r, d: [f"2026-11-{r.randint(18, 20):02d} 10:30:00"]),
    ("Sid = ?", lambda r, d: [r.choice([*d["live"][:5], "CF" + "0" * 32])]),
    ("Sid IN (?, ?, ?)", lambda r, d: r.sample(d["live"], 3)),
    ("length(FriendlyName) > ?", lambda r, d: [r.randint(3, 9)]),
]
PARTICIPANT_TERMS: list[Term] = [
    ("Muted = ?", lambda r, d: [r.choice([0, 1])]),
    ("Hold = ?", lambda r, d: [r.choice([0, 1])]),
    ("Coaching = 0", lambda r, d: []),
    ("Label = ?", lambda r, d: [r.choice(["p0", "p1", "p2", "zzz"])]),
    ("Label IS NOT NULL", lambda r, d: []),
    ("Status != ?", lambda r, d: [r.choice(["ringing", "connected"])]),
    ("CallSid LIKE ?", lambda r, d: [r.choice(["CA%", "CA0%", "CAf%"])]),
    ("CallSid = ?", lambda r, d: [r.choice(d["calls"])]),
    ("ConferenceSid = ?", lambda r, d: [r.choice(d["live"])]),
    ("ConferenceSid IN (?, ?)", lambda r, d: r.sample(d["live"], 2)),
]


@dataclass
class Query:
    """One generated statement and how its answer is to be compared."""

    sql: str
    params: list[Any]
    ordered: bool
    limited: bool
    read: str  # all, or half-read then: close / drop / again (the cursor runs it anew)
    take: int  # rows read before closing or dropping
    kind: str = ""  # conferences / participants / join / subquery / count


def make_query(rng: random.Random, data: dict[str, Any]) -> Query:
    """A random statement over the soak's data."""
    # Participant scans and joins fan out over every live room: their early exits (LIMIT,
    # half-read cursors) abandon requests in flight, so they come up most often.
    kind = rng.choices(
        ["conferences", "participants", "join", "subquery", "count"], [2, 5, 3, 1, 1]
    )[0]
    params: list[Any] = []
    terms: list[str] = []
    if kind == "conferences":
        pool, select, order = CONFERENCE_TERMS, "SELECT * FROM Conferences", ["Sid", "DateCreated"]
    elif kind == "participants":
        pool, select, order = PARTICIPANT_TERMS, "SELECT * FROM Participants", ["CallSid", "Label"]
    elif kind == "join":
        pool = [(f"c.{t}", f) for t, f in CONFERENCE_TERMS[:8]] + [
            (f"p.{t}", f) for t, f in PARTICIPANT_TERMS[:6]
        ]
        select = (
            "SELECT c.FriendlyName, c.Status, p.CallSid, p.Muted, p.Label FROM Conferences c "
            "JOIN Participants p ON p.ConferenceSid = c.Sid"
        )
        # Live rooms only: an inner lookup per completed room would be 1,100 requests.
        terms.append("c.Status != 'completed'")
        order = ["p.CallSid", "c.FriendlyName"]
    elif kind == "subquery":
        pool, select, order = (
            PARTICIPANT_TERMS[:5],
            "SELECT CallSid, Label FROM Participants",
            ["CallSid"],
        )
        terms.append("ConferenceSid IN (SELECT Sid FROM Conferences WHERE Status = ?)")
        params.append(rng.choice(["init", "in-progress"]))  # not 1,100 completed rooms
    else:
        table = rng.choice(["Conferences", "Participants"])
        pool = CONFERENCE_TERMS if table == "Conferences" else PARTICIPANT_TERMS
        group = "Status" if table == "Conferences" else "Muted"
        select = f"SELECT {group}, count(*) FROM {table}"
        order = [group]
    for template, make in rng.sample(pool, rng.choice([0, 0, 1, 1, 2, 3])):
        terms.append(template)
        params.extend(make(rng, data))
    sql = select + (" WHERE " + " AND ".join(terms) if terms else "")
    if kind == "count":
        sql += " GROUP BY 1 ORDER BY 1"
        return Query(sql, params, True, False, "all", 0, kind)
    ordered = rng.random() < 0.4
    if ordered:
        sql += f" ORDER BY {rng.choice(order)} {rng.choice(['ASC', 'DESC'])}, {order[0]}"
    limited = rng.random() < 0.6
    if limited:
        sql += f" LIMIT {rng.choice([0, 1, 2, 3, 3, 3, 5, 12, 40])}"
        if rng.random() < 0.3:
            sql += f" OFFSET {rng.randint(0, 5)}"
    read = rng.choices(["all", "close", "drop", "again"], [5, 3, 2, 1])[0]
    return Query(sql, params, ordered, limited, read, rng.randint(0, 3), kind)


def _wrong(query: Query, got: list[tuple[Any, ...]], db: sqlite3.Connection) -> str | None:
    """Why ``got`` is not a right answer to ``query`` (``None`` when it is)."""
    want = oracle.answer(db, query.sql, query.params)
    if query.read not in ("all", "again"):  # half-read: a prefix (ordered) or a sub-multiset
        want_prefix = want[: len(got)]
        if query.ordered:
            return None if got == want_prefix else f"read {got!r}, expected {want_prefix!r}"
        full = oracle.answer(db, query.sql.split(" LIMIT ")[0], query.params)
        extra = Counter(got) - Counter(full)
        return None if not extra and len(got) <= len(want) else f"rows not in the answer: {extra!r}"
    if query.limited and not query.ordered:
        full = oracle.answer(db, query.sql.split(" LIMIT ")[0], query.params)
        extra = Counter(got) - Counter(full)
        if len(got) != len(want) or extra:
            return f"{len(got)} rows (expected {len(want)}), rows not in the answer: {extra!r}"
        return None
    if query.ordered:
        return None if got == want else f"got {got!r}, expected {want!r}"
    if Counter(got) != Counter(want):
        return f"missing {Counter(want) - Counter(got)!r}, extra {Counter(got) - Counter(want)!r}"
    return None


# --- the soak -------------------------------------------------------------------------


def connect(base_url: str, **props: Any) -> driver.Connection:
    """The soak's connection: short timeout and retry budget so a failure shows quickly."""
    props.setdefault("Timeout", TIMEOUT)
    props.setdefault("RetryBudget", RETRY_BUDGET)
    return driver.connect(
        BaseUrl=base_url, AccountSid=DEMO_ACCOUNT_SID, AuthToken=DEMO_AUTH_TOKEN, **props
    )


def run(
    emu: Emulator, base_url: str, config: SoakConfig, latency: float = 0.0, **props: Any
) -> Summary:
    """Run the read soak on one connection (``props`` are extra connection properties).

    ``latency`` (seconds per request) keeps requests in flight when a LIMIT is
    met or a cursor is dropped, which is when abandoned requests can leak.
    """
    label = "read" + "".join(f" {k}={v}" for k, v in props.items()) + f" latency={latency:g}s"
    summary = Summary(label, config.seed)
    data = seed(emu)
    emu.latency = latency
    conn = connect(base_url, **props)
    started = time.monotonic()
    deadline = None if config.duration is None else started + config.duration
    broken = 0
    number = 0
    held = [0]  # HTTP requests found still checked out after a statement
    try:
        while (number < config.reads) if deadline is None else (time.monotonic() < deadline):
            ok = _one(emu, conn, data, summary, f"{config.seed}-r{number}", props, held)
            broken = 0 if ok else broken + 1
            number += 1
            if broken >= POISONED:
                summary.defect(
                    "fault_free_failures",
                    f"the connection is broken: {POISONED} fault-free statements in a row "
                    f"failed (statements {number - POISONED}..{number - 1}); soak stopped",
                )
                break
    finally:
        try:
            conn.close()
        except BaseException as exc:
            summary.defect("unexpected_errors", f"close() raised {type(exc).__name__}: {exc}")
    summary.seconds = time.monotonic() - started
    return summary


def _check_leaks(conn: driver.Connection, summary: Summary, where: str, held: list[int]) -> None:
    """A finished statement holds no pooled HTTP request and leaves no task running.

    ``held`` is the count seen so far (requests leaked earlier stay leaked): only
    a statement that adds to it is blamed.
    """
    now, tasks = leaks.checked_out(conn), leaks.running_tasks()
    if now is not None and now > held[0]:
        summary.defect(
            "leaks", f"{where}: {now - held[0]} more HTTP requests still checked out ({now} in all)"
        )
        held[0] = now
    if tasks:
        summary.defect("leaks", f"{where}: {tasks} tasks still running on the driver's loop")


def _one(
    emu: Emulator,
    conn: driver.Connection,
    data: dict[str, Any],
    summary: Summary,
    seed_text: str,
    props: dict[str, Any],
    held: list[int],
) -> bool:
    """Run one statement; False when it failed although no fault fired."""
    rng = random.Random(seed_text)
    query = make_query(rng, data)
    choice = None if rng.random() < FAULT_FREE_SHARE else rng.choice(READ_MENU)
    target = rng.choices(["first", "page 2", "participants"], [5, 2, 3])[0]
    injected = None
    if choice is not None:
        injected = choice.inject(
            emu,
            rng,
            method="GET",
            path_contains="/Participants" if target == "participants" else None,
            query_contains="PageToken=" if target == "page 2" else None,
        )
    fault = "no fault" if choice is None else f"fault {choice.name} on {target}"
    # Now and then another thread interrupts the statement (Ctrl-C in the shell does this).
    interrupt_after = rng.uniform(0, 0.15) if rng.random() < INTERRUPT_SHARE else None
    if interrupt_after is not None:
        fault += f", interrupted after {interrupt_after * 1000:.0f} ms"
    where = (
        f"{query.sql} {query.params!r} read={query.read}/{query.take} with {fault} "
        f"(statement seed {seed_text!r}, connection {props or 'defaults'})"
    )
    got: list[tuple[Any, ...]] = []
    exc: BaseException | None = None
    started = time.monotonic()
    watchdog = threading.Timer(SLOW, conn.interrupt)  # a hang is reported, not waited out
    timers = [watchdog]
    if interrupt_after is not None:
        timers.append(threading.Timer(interrupt_after, conn.interrupt))
    for timer in timers:
        timer.start()
    try:
        cur = conn.cursor().execute(query.sql, query.params)
        if query.read == "all":
            got = cur.fetchall()
        else:
            got = cur.fetchmany(query.take) if query.take else []
            if query.read == "again":
                got = cur.execute(query.sql, query.params).fetchall()
            elif query.read == "close":
                cur.close()
            del cur  # "drop": the half-read cursor is left to the garbage collector
            if query.read == "drop":
                gc.collect()  # ... and collected, as it would be sooner or later
    except BaseException as caught:  # every kind is judged below
        if not judged(caught):
            raise
        exc = caught
    finally:
        for timer in timers:
            timer.cancel()
            timer.join()
    elapsed = time.monotonic() - started
    _check_leaks(conn, summary, where, held)
    hit = fired(injected, emu, choice.count) if injected is not None and choice else 0
    summary.statements += 1
    summary.kinds[query.kind] += 1
    summary.kinds[f"read {query.read}"] += 1
    if choice is not None and hit:
        summary.faults[choice.name] += 1
    if interrupt_after is not None:
        summary.faults["interrupt"] += 1
        hit += 1  # an interrupted statement may fail; it may not answer wrongly
    if elapsed > SLOW:
        summary.defect("hangs", f"{where}: took {elapsed:.1f} s (interrupted after {SLOW:g} s)")
    if exc is None:
        summary.outcomes["rows"] += 1
        wrong = _wrong(query, got, data["oracle"])
        if wrong is not None:
            summary.defect("wrong_rows", f"{where}: {wrong}")
        return True
    summary.outcomes["error"] += 1
    summary.errors[type(exc).__name__] += 1
    text = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    if not isinstance(exc, driver.Error) or isinstance(exc, driver.InternalError):
        trace = "".join(traceback.format_exception(exc)[-6:])
        summary.defect("unexpected_errors", f"{where}: {text}\n{trace}")
    if not hit:
        summary.defect("fault_free_failures", f"{where}: {text}")
        return False
    return True
