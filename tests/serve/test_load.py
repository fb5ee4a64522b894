"""Load: 32 concurrent clients, mixed queries, every answer checked.

CI runs a short form (CONFSQL_SERVE_LOAD_SECONDS, default 4 s); ``make serve-load``
runs the issue's 30 s form.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import pytest

from tests.serve.conftest import Direct, Running

psycopg = pytest.importorskip("psycopg")

CLIENTS = 32
SECONDS = float(os.environ.get("CONFSQL_SERVE_LOAD_SECONDS", "4"))

# (Postgres SQL sent through the server, the same question in SQLite for the DB-API, params)
QUERIES: list[tuple[str, str, list[Any]]] = [
    ('SELECT count(*) FROM "Conferences"', "SELECT count(*) FROM Conferences", []),
    (
        'SELECT "FriendlyName" FROM "Conferences" WHERE "Status" = %s ORDER BY 1',
        "SELECT FriendlyName FROM Conferences WHERE Status = ? ORDER BY 1",
        ["in-progress"],
    ),
    (
        'SELECT c."FriendlyName", count(*) FROM "Participants" p JOIN "Conferences" c '
        'ON c."Sid" = p."ConferenceSid" GROUP BY 1 ORDER BY 1',
        "SELECT c.FriendlyName, count(*) FROM Participants p JOIN Conferences c "
        "ON c.Sid = p.ConferenceSid GROUP BY 1 ORDER BY 1",
        [],
    ),
    (
        'SELECT "Label", "Muted"::int FROM "Participants" WHERE "Label" LIKE %s ORDER BY 1',
        "SELECT Label, Muted FROM Participants WHERE Label LIKE ? ORDER BY 1",
        ["%o%"],
    ),
    (
        "SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' AND relnamespace = 2200 ORDER BY 1",
        "SELECT 'Conferences' UNION ALL SELECT 'Participants'",
        [],
    ),
]


def test_32_clients_mixed_queries(running: Running, direct: Direct) -> None:
    expected = {
        (user, i): [tuple(r) for r in direct(lite, params or None, user=user)]
        for user in ("alice", "bob")
        for i, (_, lite, params) in enumerate(QUERIES)
    }
    errors: list[str] = []
    counts = [0] * CLIENTS
    stop = time.monotonic() + SECONDS

    def client(number: int) -> None:
        user = "bob" if number % 4 == 0 else "alice"
        rng = random.Random(number)
        try:
            with psycopg.connect(running.conninfo(user), autocommit=True) as conn:
                while time.monotonic() < stop:
                    i = rng.randrange(len(QUERIES))
                    sql, _, params = QUERIES[i]
                    rows = conn.execute(sql, params or None).fetchall()
                    if [tuple(r) for r in rows] != expected[(user, i)]:
                        errors.append(f"client {number} ({user}) query {i}: {rows!r}")
                    counts[number] += 1
        except Exception as exc:
            errors.append(f"client {number}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 60)
    assert not errors, errors[:5]
    assert all(counts), counts
    print(f"\n{sum(counts)} statements from {CLIENTS} clients in {SECONDS:g} s, all correct")
