"""psycopg 3 against ``confsql serve``: parameters, types, EXEC, errors, cancel, isolation."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from driver.emulator import Emulator
from tests.serve.conftest import Direct, Running

psycopg = pytest.importorskip("psycopg")

SLOW = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < {n}) SELECT count(*) FROM r"


def test_parameters_go_through_the_extended_protocol(running: Running, direct: Direct) -> None:
    with psycopg.connect(running.conninfo()) as conn:
        cur = conn.execute(
            'SELECT "FriendlyName", "Status" FROM "Conferences" WHERE "Status" = %s '
            'AND "FriendlyName" ILIKE %s ORDER BY 1',
            ["in-progress", "%standup%"],
        )
        assert cur.fetchall() == [("Daily Standup", "in-progress")]
        muted = conn.execute(
            'SELECT count(*) FROM "Participants" WHERE "Muted" = %s', [True]
        ).fetchone()
        assert muted == tuple(direct("SELECT count(*) FROM Participants WHERE Muted = 1")[0])


def test_result_types_have_postgres_oids(running: Running) -> None:
    with psycopg.connect(running.conninfo()) as conn:
        cur = conn.execute(
            'SELECT "Label", "Muted", "QueueTime", "DateCreated", count(*) OVER () AS n, 0.5 AS half '
            'FROM "Participants" WHERE "Label" = %s',
            ["bob"],
        )
        assert [c.type_code for c in cur.description] == [25, 16, 20, 1114, 20, 701]
        label, muted, _queue, created, n, half = cur.fetchone()
        assert (label, muted, n, half) == ("bob", True, 1, 0.5)
        assert isinstance(created, dt.datetime)


def test_binary_results(running: Running, direct: Direct) -> None:
    sql = 'SELECT "Muted", count(*) FROM "Participants" GROUP BY "Muted" ORDER BY 1'
    expected = [(bool(m), n) for m, n in direct(sql)]
    with psycopg.connect(running.conninfo()) as conn, conn.cursor(binary=True) as cur:
        cur.execute(sql)
        assert cur.fetchall() == expected


def test_exec_returns_its_row(running: Running) -> None:
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "EXEC AddParticipants ConferenceSid = %s, From = %s, To = %s",
            ["Daily Standup", "+15551230000", "+15557654321"],
        ).fetchone()
        assert row is not None and row[1].startswith("CA") and row[3] == "queued"


def test_errors_carry_sqlstate_and_leave_the_session_usable(running: Running) -> None:
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.SyntaxError) as bad:
            conn.execute("SELEC 1")
        assert bad.value.sqlstate == "42601"
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM Nope")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="FOR UPDATE"):
            conn.execute('SELECT * FROM "Conferences" FOR UPDATE')
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_session_statements(running: Running) -> None:
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        conn.execute("SET application_name = 'dash'")
        assert conn.execute("SHOW application_name").fetchone() == ("dash",)
        assert conn.execute("SELECT current_schema()").fetchone() == ("public",)
        assert "PostgreSQL" in conn.execute("SELECT version()").fetchone()[0]
        conn.execute("DISCARD ALL")
        conn.execute("BEGIN")
        conn.execute("COMMIT")


def test_server_side_cancel(running: Running, direct: Direct) -> None:
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        # cancel_safe: plain cancel() blocks holding the GIL, and this server runs in-process
        timer = threading.Timer(0.3, conn.cancel_safe)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(SLOW.format(n=10**9))
        assert time.monotonic() - started < 10
        count = conn.execute('SELECT count(*) FROM "Conferences"').fetchone()
        assert count == tuple(direct("SELECT count(*) FROM Conferences")[0])


def test_concurrent_clients_each_see_only_their_account(running: Running) -> None:
    results: dict[str, set[str]] = {}
    errors: list[BaseException] = []

    def work(user: str) -> None:
        try:
            with psycopg.connect(running.conninfo(user)) as conn:
                seen: set[str] = set()
                for _ in range(5):
                    rows = conn.execute('SELECT "FriendlyName" FROM "Conferences"').fetchall()
                    seen |= {r[0] for r in rows}
                results[user] = seen
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(u,)) for u in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert results["bob"] == {"Bob Only"}
    assert "Bob Only" not in results["alice"] and "Daily Standup" in results["alice"]


def test_prepared_statements_are_described_without_requests(
    running: Running, seeded: Emulator
) -> None:
    sql = 'SELECT "Label", "QueueTime" FROM "Participants" WHERE "Label" = %s LIMIT %s'
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        first = conn.execute(sql, ["bob", 5], prepare=True).fetchall()
        second = conn.execute(sql, ["carol", 5], prepare=True).fetchall()
        assert [r[0] for r in first] == ["bob"] and [r[0] for r in second] == ["carol"]
        before = len(seeded.requests)
        described = conn.cursor()
        described.execute(sql, ["nobody", 1], prepare=True)
        assert [c.type_code for c in described.description] == [25, 20]
        assert described.fetchall() == []
        assert len(seeded.requests) > before  # the Execute ran; Describe alone sends nothing


def test_dashboard_time_functions(running: Running, direct: Direct) -> None:
    with psycopg.connect(running.conninfo(), autocommit=True) as conn:
        rows = conn.execute(
            'SELECT date_trunc(\'day\', "DateCreated") AS day, count(*) FROM "Conferences" '
            "WHERE \"DateCreated\" > now() - interval '30 days' GROUP BY 1 ORDER BY 1"
        ).fetchall()
        total = direct(
            "SELECT count(*) FROM Conferences WHERE DateCreated > datetime('now', '-30 days')"
        )
        assert sum(n for _, n in rows) == total[0][0]
        assert all(isinstance(day, dt.datetime) and day.hour == 0 for day, _ in rows)
        hours = conn.execute(
            'SELECT extract(hour from "DateCreated")::int FROM "Conferences" LIMIT 1'
        ).fetchone()
        assert 0 <= hours[0] < 24
