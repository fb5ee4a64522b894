"""Wire overhead of ``confsql serve``: the same SELECT through psycopg and through the DB-API.

The emulator runs here (real loopback HTTP, no added latency); the server and
each client run in their own processes, so no two of them share a GIL.
Usage::

    python benchmarks/serve.py [--conferences 100] [--participants 20] [--runs 5]

Prints rows per second side by side; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer

SQL = 'SELECT * FROM "Participants"'
PASSWORD = "bench"

DIRECT = """
import json, sys, time, driver
conn = driver.connect(sys.argv[1])
cur = conn.cursor()
cur.execute(sys.argv[2]).fetchall()  # warm: HTTP connections open, code paths loaded
start = time.perf_counter()
rows = cur.execute(sys.argv[2]).fetchall()
print(json.dumps({"rows": len(rows), "seconds": time.perf_counter() - start}))
"""

THROUGH_SERVER = """
import json, sys, time, psycopg
with psycopg.connect(sys.argv[1]) as conn:
    conn.execute(sys.argv[2]).fetchall()  # warm, as for the DB-API
    start = time.perf_counter()
    rows = conn.execute(sys.argv[2]).fetchall()
    print(json.dumps({"rows": len(rows), "seconds": time.perf_counter() - start}))
"""


def run(code: str, *args: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def start_server(dsn: str) -> tuple[subprocess.Popen[str], int]:
    """``confsql serve`` in a subprocess on a free loopback port."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "driver.serve", "--dsn", dsn, "--listen", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CONFSQL_SERVE_PASSWORD": PASSWORD},
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    if "listening on" not in first:
        proc.kill()
        raise SystemExit(f"confsql serve did not start: {first}{proc.stderr.read()}")
    return proc, int(first.rsplit(":", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conferences", type=int, default=100)
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    emu = Emulator()
    emu.seed_bulk(args.conferences, participants_per=args.participants, status="in-progress")
    with EmulatorServer(emu) as server:
        dsn = f"BaseUrl={server.base_url};AccountSid={DEMO_ACCOUNT_SID};AuthToken={DEMO_AUTH_TOKEN}"
        proc, port = start_server(dsn)
        conninfo = (
            f"host=127.0.0.1 port={port} user=bench password={PASSWORD} dbname=confsql "
            "sslmode=disable"
        )
        try:
            results: dict[str, list[float]] = {
                "DB-API (driver.connect)": [],
                "psycopg via confsql serve": [],
            }
            rows = 0
            for _ in range(args.runs):
                for name, code, target in (
                    ("DB-API (driver.connect)", DIRECT, dsn),
                    ("psycopg via confsql serve", THROUGH_SERVER, conninfo),
                ):
                    measured = run(code, target, SQL)
                    rows = int(measured["rows"])
                    results[name].append(rows / measured["seconds"])
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(10)
    print(
        f"{SQL}: {rows:,} rows ({args.conferences} live conferences x {args.participants}), "
        f"second run in each process, best and median of {args.runs} runs, "
        "emulator on loopback HTTP, no added latency"
    )
    print(f"{'path':<28} {'best rows/s':>12} {'median rows/s':>14}")
    for name, rates in results.items():
        print(f"{name:<28} {max(rates):>12,.0f} {statistics.median(rates):>14,.0f}")
    direct, served = (statistics.median(r) for r in results.values())
    print(f"through the server: {served / direct:.0%} of the DB-API's rate")


if __name__ == "__main__":
    main()
