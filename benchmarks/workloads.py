"""The client side of each benchmark, run in a worker process of its own.

``run.py`` hosts the emulator and starts one worker per (work, implementation)
pair, so client CPU never competes with the emulator for a GIL and peak RSS
growth belongs to the client alone.  The worker speaks a line protocol on
stdin/stdout:

* on start it sets up (imports, connects) and prints ``{"ready": true, ...}``
  or ``{"error": "..."}``;
* each ``run`` line performs the work once and prints
  ``{"wall": s, "rows": n, "peak_kb": kb}`` (``peak_kb``: peak RSS above the
  RSS measured right after setup);
* ``quit`` (or end of input) exits.

Implementations: ``confsql`` (the PEP 249 module), ``sdk-default``
(twilio-python as users write it: default page size, one conference at a
time), ``sdk-tuned`` (the same with ``page_size=1000``) and ``raw`` (plain
httpx: the bare round trip of S5's POST, and the floor for S3/S4's requests).

With ``--provider`` (the P scenarios) the worker connects to that provider's
emulator with the credentials in ``--creds`` (a JSON object of connection
properties); plain httpx and the provider SDKs come from ``per_provider.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

# The SQL behind each confsql work item (``exec100`` is the EXEC loop).
SQL: dict[str, str] = {
    "conferences": "SELECT * FROM Conferences",
    "conferences-limit10": "SELECT * FROM Conferences LIMIT 10",
    "participants": "SELECT * FROM Participants",
    "join": (
        "SELECT c.FriendlyName, p.* FROM Conferences c "
        "JOIN Participants p ON p.ConferenceSid = c.Sid WHERE c.Status = 'in-progress'"
    ),
}
EXEC_SQL = "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?"
EXEC_COUNT = 100
EXEC_ARGS = ("MyConf", "+18149044818", "+19196029680")
RAW_POSTS = 20
IMPLEMENTATIONS = ("confsql", "sdk-default", "sdk-tuned", "raw")
WORKS = (*SQL, "exec100")

Job = Callable[[], int]


# The confsql worker's connection: its gate's limit after a run is reported too.
CONFSQL: list[Any] = []


def fresh_gate(conn: Any) -> None:
    """Give ``conn`` a gate that has learned nothing (``MaxConcurrency=auto`` only).

    Gates are process-wide per provider account, so without this a run would
    start at the limit the previous run found.  The connection (and its warm
    keep-alive HTTP connections) is kept: only the learned concurrency goes.
    """
    from driver import throttle

    throttle._gates.clear()
    client = conn.session.client
    if client.gate.adaptive:
        client.gate = throttle.Gate(None)
        client.stats.gate = client.gate.stats


def _confsql_job(
    work: str,
    base_url: str,
    account: str,
    token: str,
    concurrency: int | str,
    provider: str = "",
    creds: dict[str, str] | None = None,
) -> Job:
    """Connect once; each call runs the scenario's SQL and returns the row count.

    With ``MaxConcurrency=auto`` every run starts from a fresh gate (:func:`fresh_gate`).
    ``provider``: connect to that provider with ``creds`` instead of Twilio's account/token.
    """
    import driver

    props: dict[str, Any] = (
        {"Provider": provider, **(creds or {})}
        if provider
        else {"AccountSid": account, "AuthToken": token}
    )
    conn = driver.connect(BaseUrl=base_url, MaxConcurrency=concurrency, **props)
    CONFSQL.append(conn)
    cur = conn.cursor()
    if work == "exec100":

        def exec_loop() -> int:
            fresh_gate(conn)
            for _ in range(EXEC_COUNT):
                cur.execute(EXEC_SQL, EXEC_ARGS)
                if cur.description is not None:
                    cur.fetchall()
            return EXEC_COUNT

        return exec_loop
    sql = SQL[work]

    def select() -> int:
        fresh_gate(conn)
        cur.execute(sql)
        return len(cur.fetchall())

    return select


def _sdk_job(work: str, base_url: str, account: str, token: str, tuned: bool) -> Job:
    """twilio-python pointed at the emulator; ``tuned`` adds ``page_size=1000``."""
    from twilio.rest import Client

    client = Client(account, token)
    # Every 2010-04-01 resource (and every next_page_uri) is resolved against
    # the Api domain's base_url, so this one assignment redirects the SDK.
    client.api.base_url = base_url
    paging: dict[str, Any] = {"page_size": 1000} if tuned else {}

    def conferences() -> int:
        return len(client.conferences.list(**paging))

    def conferences_limit10() -> int:
        return len(client.conferences.list(limit=10))

    def participants() -> int:
        rows: list[Any] = []
        for conf in client.conferences.list(status="in-progress", **paging):
            rows.extend(client.conferences(conf.sid).participants.list(**paging))
        return len(rows)

    def join() -> int:
        rows: list[tuple[Any, Any]] = []
        for conf in client.conferences.list(status="in-progress", **paging):
            for p in client.conferences(conf.sid).participants.list(**paging):
                rows.append((conf.friendly_name, p))
        return len(rows)

    def exec100() -> int:
        name, from_, to = EXEC_ARGS
        for _ in range(EXEC_COUNT):
            client.conferences(name).participants.create(from_=from_, to=to)
        return EXEC_COUNT

    jobs: dict[str, Job] = {
        "conferences": conferences,
        "conferences-limit10": conferences_limit10,
        "participants": participants,
        "join": join,
        "exec100": exec100,
    }
    return jobs[work]


class RawPost:
    """Bare httpx POSTs of S5's create-participant request, timed one by one."""

    def __init__(self, base_url: str, account: str, token: str) -> None:
        import httpx

        self.client = httpx.Client(base_url=base_url, auth=(account, token))
        name, from_, to = EXEC_ARGS
        self.path = f"/2010-04-01/Accounts/{account}/Conferences/{name}/Participants.json"
        self.form = {"From": from_, "To": to}
        self.rtts: list[float] = []

    def __call__(self) -> int:
        self.client.post(self.path, data=self.form).raise_for_status()  # warm the connection
        self.rtts = []
        for _ in range(RAW_POSTS):
            start = time.perf_counter()
            self.client.post(self.path, data=self.form).raise_for_status()
            self.rtts.append(time.perf_counter() - start)
        return RAW_POSTS + 1


class RawLists:
    """Plain httpx sending S3's (or S4's) requests at a fixed concurrency: the floor.

    The live-conference lists, then every conference's participant list, over
    the same pool layout as confsql (``driver.http.CONNECTIONS_PER_POOL``), with
    nothing else: no SQL, no planning, no row building.  The data shapes fit
    one page per list, so there is no paging.
    """

    def __init__(
        self, base_url: str, account: str, token: str, concurrency: int, statuses: tuple[str, ...]
    ) -> None:
        import asyncio

        import httpx

        from driver.http import CONNECTIONS_PER_POOL

        self.loop = asyncio.new_event_loop()
        pools = max(1, -(-concurrency // CONNECTIONS_PER_POOL))
        per_pool = -(-concurrency // pools)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        self.clients = [
            httpx.AsyncClient(base_url=base_url, auth=(account, token), limits=limits)
            for _ in range(pools)
        ]
        self.busy = [0] * pools
        self.concurrency = concurrency
        self.statuses = statuses
        self.root = f"/2010-04-01/Accounts/{account}"

    async def _get(self, slots: Any, path: str, params: dict[str, str]) -> dict[str, Any]:
        import orjson

        async with slots:
            pool = self.busy.index(min(self.busy))
            self.busy[pool] += 1
            try:
                response = await self.clients[pool].get(path, params=params)
            finally:
                self.busy[pool] -= 1
        response.raise_for_status()
        body: dict[str, Any] = orjson.loads(response.content)
        return body

    async def _run(self) -> int:
        import asyncio

        slots = asyncio.Semaphore(self.concurrency)
        lists = await asyncio.gather(
            *(
                self._get(slots, f"{self.root}/Conferences.json", {"Status": s, "PageSize": "1000"})
                for s in self.statuses
            )
        )
        sids = [c["sid"] for page in lists for c in page["conferences"]]
        pages = await asyncio.gather(
            *(
                self._get(
                    slots, f"{self.root}/Conferences/{sid}/Participants.json", {"PageSize": "1000"}
                )
                for sid in sids
            )
        )
        return sum(len(p["participants"]) for p in pages)

    def __call__(self) -> int:
        return self.loop.run_until_complete(self._run())


def current_rss_kb() -> int:
    """Resident set size now, in KiB (Linux /proc; elsewhere the peak so far)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return peak_rss_kb()


def peak_rss_kb() -> int:
    """Peak resident set size of this process, in KiB.

    On Linux this is ``VmHWM``, the peak of this program's own memory map:
    ``ru_maxrss`` also carries over the parent's peak across fork/exec, so a
    worker started by a large harness would report the harness's size.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _reply(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def _error(exc: BaseException) -> dict[str, Any]:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return {"error": f"{type(exc).__name__}: {exc}{where}"}


def main(argv: list[str] | None = None) -> int:
    """Set up one job, then run it once per ``run`` line on stdin."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", choices=IMPLEMENTATIONS, required=True)
    ap.add_argument("--work", choices=WORKS, required=True)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--concurrency", default="16", help="a number, or auto (confsql only)")
    ap.add_argument("--provider", default="", help="the P scenarios: the provider's emulator")
    ap.add_argument("--creds", default="{}", help="with --provider: connection properties (JSON)")
    args = ap.parse_args(argv)
    raw: RawPost | None = None
    creds: dict[str, str] = json.loads(args.creds)
    try:
        job: Job
        if args.impl == "confsql":
            job = _confsql_job(
                args.work, args.base_url, args.account, args.token, args.concurrency,
                args.provider, creds,
            )  # fmt: skip
        elif args.concurrency == "auto":
            raise ValueError("only confsql takes --concurrency auto")
        elif args.provider and args.impl == "raw":
            from per_provider import RawProvider

            job = RawProvider(args.provider, args.work, args.base_url, creds, int(args.concurrency))
        elif args.provider and args.provider != "Twilio":
            from per_provider import sdk_job

            job = sdk_job(args.provider, args.work, args.base_url, creds, args.impl == "sdk-tuned")
        elif args.impl == "raw" and args.work == "exec100":
            raw = RawPost(args.base_url, args.account, args.token)
            job = raw
        elif args.impl == "raw":
            statuses = ("init", "in-progress") if args.work == "participants" else ("in-progress",)
            at = int(args.concurrency)
            job = RawLists(args.base_url, args.account, args.token, at, statuses)
        else:
            tuned = args.impl == "sdk-tuned"
            account = creds.get("AccountSid", args.account)
            job = _sdk_job(
                args.work, args.base_url, account, creds.get("AuthToken", args.token), tuned
            )
    except Exception as exc:  # reported to the parent, which carries on
        _reply(_error(exc))
        return 1
    baseline = current_rss_kb()
    _reply({"ready": True, "baseline_kb": baseline})
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command != "run":
            continue
        try:
            start = time.perf_counter()
            rows = job()
            wall = time.perf_counter() - start
        except Exception as exc:
            _reply(_error(exc))
            continue
        reply: dict[str, Any] = {
            "wall": wall,
            "rows": rows,
            "peak_kb": max(0, peak_rss_kb() - baseline),
        }
        if raw is not None:
            reply["rtt"] = statistics.median(raw.rtts)
        if CONFSQL:
            reply["limit"] = CONFSQL[0].stats.gate.limit
        _reply(reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
