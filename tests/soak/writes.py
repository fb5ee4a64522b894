"""The write soak: EXECs with unique labels under random faults, checked against the emulator.

Each thread has its own connection and its own conferences, and mixes
``AddParticipants`` (a fresh label every call), ``ModifyParticipants`` and
``RemoveParticipant``.  A fault from :data:`~tests.soak.faults.WRITE_MENU` is
aimed at that statement's write (or, for some adds by friendly name, at any of
its requests).  After each EXEC what the driver said is classified:

* **success** — the change must be in the emulator's state, and the row it
  returned must describe it;
* **unknown** (an ``OperationalError`` saying it "may or may not" have
  happened) — either is fine, but the check query in the message must run and
  agree with the state;
* **failure** (any other PEP 249 error) — nothing may have changed.

Never allowed, whatever the fault: a label on two participants, a create or
change sent twice to the server (other than after a 429), an exception that is
not a ``driver.Error``, an ``InternalError``, a fault-free EXEC that fails.  A
final sweep repeats the state checks once every stalled handler has finished.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator
from driver.emulator.faults import RequestRecord

from .config import SoakConfig
from .faults import HANG, RETRY_BUDGET, TIMEOUT, WRITE_MENU, FaultChoice, fired
from .summary import Summary, judged

ADD = "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?, Label = ?"
MODIFY = "EXEC ModifyParticipants ConferenceSid = ?, CallSid = ?, {field} = ?"
REMOVE = "EXEC RemoveParticipant ConferenceSid = ?, CallSid = ?"
CALLER, CALLEE = "+15005550006", "+14155550100"
ADDS_PER_CONFERENCE = 60  # then the thread moves on to a fresh conference
FAULT_FREE_SHARE = 0.3  # statements with no fault at all
SLOW = 15.0  # seconds: an EXEC taking longer than this is a hang
UNKNOWN_MARK = "may or may not"
LIVE = ("queued", "connecting", "ringing", "connected")


def classify(exc: BaseException | None) -> str:
    """``success``, ``unknown``, ``failure`` or ``unexpected`` for what an EXEC raised."""
    if exc is None:
        return "success"
    if not isinstance(exc, driver.Error) or isinstance(exc, driver.InternalError):
        return "unexpected"
    if isinstance(exc, driver.OperationalError) and UNKNOWN_MARK in str(exc):
        return "unknown"
    return "failure"


def check_query(message: str) -> str | None:
    """The SELECT an unknown-outcome message offers, if it offers one."""
    if "To check: " not in message:
        return None
    query = message.split("To check: ", 1)[1]
    for end in (" (a Label", " ORDER BY"):
        query = query.split(end, 1)[0]
    return query.strip().rstrip(".")


@dataclass
class Op:
    """One EXEC as planned, and what to compare afterwards."""

    kind: str  # add / addmany / modify / remove
    sql: str
    params: tuple[Any, ...]
    room: str  # the conference as the EXEC names it: its SID or its friendly name
    label: str
    method: str
    fault: FaultChoice | None = None
    target: str = "write"  # which request the fault aims at: the write, or the name lookup
    path: str = ""  # a piece of the write's path that no other thread's request has
    column: str = ""  # modify: Muted or Hold
    before: bool | None = None  # modify: the column's value before
    value: bool | None = None  # modify: the value asked for
    batch: list[tuple[Any, ...]] = field(default_factory=list)  # addmany: the parameter sets
    skip: int = 0  # addmany: the parameter set the fault is aimed at (0-based)

    def describe(self, seed: str) -> str:
        fault = "no fault" if self.fault is None else f"fault {self.fault.name} on {self.target}"
        if self.batch:
            fault += f" of parameter set {self.skip + 1}"
            return f"executemany({self.sql}, {self.batch!r}) with {fault} (statement seed {seed!r})"
        return f"{self.sql} {self.params!r} with {fault} (statement seed {seed!r})"


@dataclass
class Verdict:
    """What the driver reported for one label's create, kept for the final sweep."""

    label: str
    conference: str
    outcome: str
    call_sid: str | None
    describe: str
    flagged: bool = False  # already counted as a defect when it ran


@dataclass
class _Worker:
    """One thread of the write soak: its connection, conferences and live labels."""

    index: int
    emu: Emulator
    base_url: str
    config: SoakConfig
    summary: Summary
    conference: str = ""
    name: str = ""
    adds: int = 0
    rooms: int = 0
    live: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    conn: driver.Connection | None = None

    def connect(self) -> driver.Connection:
        return driver.connect(
            BaseUrl=self.base_url,
            AccountSid=DEMO_ACCOUNT_SID,
            AuthToken=DEMO_AUTH_TOKEN,
            Timeout=TIMEOUT,
            RetryBudget=RETRY_BUDGET,
        )

    def new_room(self) -> None:
        """A fresh conference with an anchor participant, so removals never end it."""
        self.rooms += 1
        self.name = f"[soak w{self.index} room {self.rooms}]"  # brackets: no name contains another
        self.conference = str(self.emu.create_conference(self.name)["sid"])
        self.emu.add_participant(self.conference, label="anchor")
        self.adds, self.live = 0, []

    # -- planning -------------------------------------------------------------------

    def plan(self, rng: random.Random, number: int) -> Op:
        if self.adds >= ADDS_PER_CONFERENCE:
            self.new_room()
        kinds = ["add", "addmany", "modify", "remove"]
        kind = rng.choices(kinds, [6, 1, 2, 2])[0] if self.live else "add"
        by_name = rng.random() < 0.25
        room = self.name if by_name else self.conference
        if kind == "add":
            self.adds += 1
            label = f"w{self.index}-{number}-{rng.randrange(10**6)}"
            op = Op("add", ADD, (room, CALLER, CALLEE, label), room, label, "POST")
        elif kind == "addmany":
            size = rng.randint(2, 4)
            self.adds += size
            labels = [f"w{self.index}-{number}.{i}-{rng.randrange(10**6)}" for i in range(size)]
            label = labels[0]
            op = Op("addmany", ADD, (), room, label, "POST", skip=rng.randrange(size))
            op.batch = [(room, CALLER, CALLEE, one) for one in labels]
        elif kind == "modify":
            label = rng.choice(self.live)
            field_name = rng.choice(["Muted", "Hold"])
            before = bool(self._participant(label)[field_name.lower()])
            sql = MODIFY.format(field=field_name)
            op = Op("modify", sql, (room, label, int(not before)), room, label, "POST")
            op.column, op.before, op.value = field_name, before, not before
        else:
            label = rng.choice(self.live)
            op = Op("remove", REMOVE, (room, label), room, label, "DELETE")
        # An add is sent to the room as named; an update or removal of a room given by name
        # is sent to its SID once the name is looked up.
        op.path = room if kind == "add" else f"{self.conference}/Participants/{label}.json"
        if rng.random() >= FAULT_FREE_SHARE:
            op.fault = rng.choice(WRITE_MENU)
            # By name, an update or removal may first look the conference up: aim there too.
            if by_name and kind != "add" and rng.random() < 0.3:
                op.target = "lookup"
        return op

    # -- running ----------------------------------------------------------------------

    def run_one(self, rng: random.Random, number: int, seed: str) -> None:
        op = self.plan(rng, number)
        assert self.conn is not None
        mark = len(self.emu.requests)
        injected = None
        if op.fault is not None and op.target == "write":
            injected = op.fault.inject(
                self.emu, rng, method=op.method, path_contains=op.path, skip=op.skip
            )
        elif op.fault is not None:
            query = f"FriendlyName={op.room}"
            injected = op.fault.inject(self.emu, rng, method="GET", query_contains=query)
        started = time.monotonic()
        exc: BaseException | None = None
        rows: list[tuple[Any, ...]] = []
        watchdog = threading.Timer(SLOW, self.conn.interrupt)  # report a hang, don't wait it out
        watchdog.start()
        try:
            if op.batch:
                self.conn.cursor().executemany(op.sql, op.batch)
            else:
                rows = self.conn.cursor().execute(op.sql, op.params).fetchall()
        except BaseException as caught:  # every kind is judged below
            if not judged(caught):
                raise
            exc = caught
        finally:
            watchdog.cancel()
        elapsed = time.monotonic() - started
        hit = fired(injected, self.emu, op.fault.count) if injected and op.fault else 0
        if op.fault is not None and hit:
            self.summary.faults[op.fault.name] += 1
        outcome = classify(exc)
        self.summary.statements += 1
        self.summary.kinds[op.kind] += 1
        self.summary.outcomes[outcome] += 1
        if exc is not None:
            self.summary.errors[type(exc).__name__] += 1
        where = op.describe(seed)
        if elapsed > SLOW:
            self.summary.defect("hangs", f"{where}: took {elapsed:.1f} s")
        if outcome == "unexpected":
            self.summary.defect("unexpected_errors", f"{where}: {_exc_text(exc)}\n{_trace(exc)}")
        elif exc is not None and not hit:
            self.summary.defect("fault_free_failures", f"{where}: {_exc_text(exc)}")
        self._check_sends(op, mark, where)
        if op.kind == "addmany":
            self._judge_many(op, outcome, exc, where, bool(hit))
        elif op.kind == "add":
            self._judge_add(op, outcome, rows, exc, where)
        elif op.kind == "modify":
            self._judge_modify(op, outcome, where)
        else:
            self._judge_remove(op, outcome, where)
        if outcome == "unknown":
            self._judge_hint(op, exc, where)

    def _check_sends(self, op: Op, mark: int, where: str) -> None:
        """At most once: no request of this EXEC reached the server twice (429s aside)."""
        log = list(self.emu.requests)[mark:]
        for label in [one[3] for one in op.batch] or [op.label]:
            single = Op(op.kind, op.sql, op.params, op.room, label, op.method)
            if op.batch:
                single.kind = "add"
            sends = [r for r in log if self._is_send(single, r) and r.status != 429]
            if len(sends) > 1:
                self.summary.defect(
                    "duplicates",
                    f"{where}: {label} sent {len(sends)} times: "
                    + ", ".join(f"{r.status}/{r.fault}" for r in sends),
                )

    def _is_send(self, op: Op, record: RequestRecord) -> bool:
        if record.method != op.method:
            return False
        if op.kind == "add":
            return ("Label", op.label) in record.form
        return record.path.endswith(f"/Participants/{quote(op.label, safe='')}.json") or (
            record.path.endswith(f"/Participants/{op.label}.json")
        )

    # -- judging ----------------------------------------------------------------------

    def _participant(self, label: str) -> dict[str, Any]:
        """The (first) participant with this label in the current conference."""
        return self._labelled(self.conference, label)[0]

    def _labelled(self, conference: str, label: str) -> list[dict[str, Any]]:
        return [p for p in self.emu.participants(conference) if p["label"] == label]

    def _judge_add(
        self,
        op: Op,
        outcome: str,
        rows: list[tuple[Any, ...]],
        exc: BaseException | None,
        where: str,
    ) -> None:
        found = self._labelled(self.conference, op.label)
        call_sid = str(rows[0][1]) if rows and rows[0][1] is not None else None
        before = self.summary.total_defects
        self._judge_created(op, outcome, rows, exc, where, found, call_sid)
        flagged = self.summary.total_defects > before
        self.verdicts.append(Verdict(op.label, self.conference, outcome, call_sid, where, flagged))
        if any(p["status"] in LIVE for p in found):
            self.live.append(op.label)

    def _judge_created(
        self,
        op: Op,
        outcome: str,
        rows: list[tuple[Any, ...]],
        exc: BaseException | None,
        where: str,
        found: list[dict[str, Any]],
        call_sid: str | None,
    ) -> None:
        if len(found) > 1:
            self.summary.defect("duplicates", f"{where}: {len(found)} participants carry the label")
        if outcome == "success":
            if not found:
                self.summary.defect("lost_writes", f"{where}: reported success, nothing created")
            elif len(rows) != 1 or call_sid != found[0]["call_sid"]:
                self.summary.defect(
                    "wrong_rows", f"{where}: returned {rows!r}, created {found[0]['call_sid']}"
                )
        elif outcome == "failure" and found:
            self.summary.defect("false_failures", f"{where}: {_exc_text(exc)}; yet it was created")

    def _judge_many(
        self, op: Op, outcome: str, exc: BaseException | None, where: str, hit: bool
    ) -> None:
        """executemany: the sets before the failing one are written, the ones after it are not.

        The error names how many sets were already executed (there is no transaction).
        """
        labels = [one[3] for one in op.batch]
        failed = op.skip if exc is not None and hit else None
        for index, label in enumerate(labels):
            found = self._labelled(self.conference, label)
            if len(found) > 1:
                self.summary.defect(
                    "duplicates", f"{where}: {len(found)} participants carry {label}"
                )
            if outcome == "success" or (failed is not None and index < failed):
                expected = "success"
            elif failed is not None and index == failed:
                expected = outcome
            else:
                expected = "failure"  # never sent (or, without a fault, judged elsewhere)
            if expected == "success" and not found:
                self.summary.defect("lost_writes", f"{where}: {label} acknowledged, not created")
            elif expected == "failure" and found:
                state = (
                    "sent after the failure"
                    if failed is not None and index > failed
                    else "reported failed"
                )
                self.summary.defect("false_failures", f"{where}: {label} {state}, yet created")
            self.verdicts.append(
                Verdict(
                    label, self.conference, expected, None, where, flagged=expected == "unknown"
                )
            )
            if any(p["status"] in LIVE for p in found):
                self.live.append(label)
        if failed:
            message = str(exc)
            if "already" not in message or str(failed) not in message:
                self.summary.defect(
                    "bad_hints",
                    f"{where}: does not say {failed} sets were already written: {message}",
                )
        if outcome == "unknown" and failed is not None:
            op.label = labels[failed]

    def _judge_modify(self, op: Op, outcome: str, where: str) -> None:
        now = bool(self._participant(op.label)[op.column.lower()])
        if outcome == "success" and now != op.value:
            self.summary.defect("lost_writes", f"{where}: reported success, {op.column} is {now}")
        elif outcome == "failure" and now != op.before:
            self.summary.defect("false_failures", f"{where}: reported failure, {op.column} changed")

    def _judge_remove(self, op: Op, outcome: str, where: str) -> None:
        gone = self._participant(op.label)["status"] not in LIVE
        if outcome == "success" and not gone:
            self.summary.defect("lost_writes", f"{where}: reported success, still there")
        elif outcome == "failure" and gone:
            self.summary.defect("false_failures", f"{where}: reported failure, yet removed")
        if gone:
            self.live.remove(op.label)

    def _judge_hint(self, op: Op, exc: BaseException | None, where: str) -> None:
        """An unknown outcome names a query; it must run and find what the state holds."""
        message = str(exc)
        if "try again" in message.lower():  # a retry of an unknown outcome invites a duplicate
            self.summary.defect("bad_hints", f"{where}: advises a retry: {_exc_text(exc)}")
        query = check_query(message)
        if query is None:
            self.summary.defect("bad_hints", f"{where}: no check query in {_exc_text(exc)}")
            return
        assert self.conn is not None
        try:
            got = self.conn.cursor().execute(query).fetchall()
        except BaseException as failed:
            self.summary.defect(
                "bad_hints", f"{where}: check query {query!r} failed: {_exc_text(failed)}"
            )
            return
        live = [p for p in self._labelled(self.conference, op.label) if p["status"] in LIVE]
        if op.kind in ("add", "remove") and len(got) != len(live):
            self.summary.defect(
                "bad_hints",
                f"{where}: check query {query!r} found {len(got)} rows, state has {len(live)}",
            )

    def sweep(self) -> None:
        """Judge every create again, now that stalled handlers have finished."""
        for verdict in self.verdicts:
            if verdict.flagged:
                continue
            found = self._labelled(verdict.conference, verdict.label)
            if len(found) > 1:
                self.summary.defect(
                    "duplicates", f"(final) {verdict.describe}: {len(found)} participants"
                )
            if verdict.outcome == "success" and not found:
                self.summary.defect("lost_writes", f"(final) {verdict.describe}: not in state")
            if verdict.outcome == "failure" and found:
                self.summary.defect("false_failures", f"(final) {verdict.describe}: in state")


def run(emu: Emulator, base_url: str, config: SoakConfig) -> Summary:
    """Run the write soak with ``config.threads`` threads; return the merged summary."""
    total = Summary("write", config.seed)
    workers = [
        _Worker(i, emu, base_url, config, Summary("write", config.seed))
        for i in range(max(1, config.threads))
    ]
    per_thread = -(-config.execs // len(workers))
    started = time.monotonic()
    deadline = None if config.duration is None else started + config.duration

    def work(worker: _Worker) -> None:
        try:
            worker.conn = worker.connect()
            worker.new_room()
            number = 0
            while (number < per_thread) if deadline is None else (time.monotonic() < deadline):
                seed = f"{config.seed}-w{worker.index}-{number}"
                worker.run_one(random.Random(seed), number, seed)
                number += 1
        except Exception as exc:  # a crash of the soak itself is reported, not hidden
            worker.summary.defect(
                "unexpected_errors", f"worker {worker.index} crashed: {_trace(exc)}"
            )
        finally:
            if worker.conn is not None:
                try:
                    worker.conn.close()
                except BaseException as exc:
                    worker.summary.defect("unexpected_errors", f"close() raised {_exc_text(exc)}")

    threads = [threading.Thread(target=work, args=(w,), name=f"soak-w{w.index}") for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(HANG + 0.2)  # let every stalled handler finish before the final sweep
    for worker in workers:
        worker.sweep()
        total.merge(worker.summary)
    total.seconds = time.monotonic() - started
    return total


def _exc_text(exc: BaseException | None) -> str:
    return "no exception" if exc is None else f"{type(exc).__module__}.{type(exc).__name__}: {exc}"


def _trace(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    return "".join(traceback.format_exception(exc)[-6:])
