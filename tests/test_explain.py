"""EXPLAIN QUERY PLAN through the DB-API: in words, and without sqlglot's warning."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

import driver


def explain(conn: driver.Connection, sql: str, params: tuple[object, ...] = ()) -> list[str]:
    rows = conn.cursor().execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return [row[3] for row in rows]


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        (
            "SELECT * FROM Participants WHERE ConferenceSid IN (?, ?) AND Label LIKE 'a%'",
            ("CF1", "CF2"),
            [
                "SCAN Participants: API list; API filter ConferenceSid IN; SQLite rechecks Label LIKE"
            ],
        ),
        (
            "SELECT * FROM Participants WHERE Muted = 1 ORDER BY Label LIMIT 2",
            (),
            [
                "SCAN Participants: one list per live Conferences row (fan-out); API filter "
                "Muted =; LIMIT not pushed (ORDER BY is applied by SQLite after all rows arrive)",
                "USE TEMP B-TREE FOR ORDER BY",
            ],
        ),
        (
            "SELECT * FROM Participants LIMIT 5",
            (),
            [
                "SCAN Participants: one list per live Conferences row (fan-out); "
                "LIMIT pushed (stops fetching once enough rows arrived)"
            ],
        ),
        (
            "SELECT c.FriendlyName, p.Label FROM Conferences c "
            "JOIN Participants p ON p.ConferenceSid = c.Sid WHERE c.Status = 'in-progress'",
            (),
            [
                "SCAN Conferences (as c): API list; API filter Status =",
                "SCAN Participants (as p): API list; API filter ConferenceSid =",
            ],
        ),
        (
            "SELECT * FROM Conferences WHERE DateCreated > '2026-01-01 10:00:00'",
            (),
            [
                "SCAN Conferences: API list; API filter DateCreated > (coarse); "
                "SQLite rechecks DateCreated > (exact value)"
            ],
        ),
        (
            "SELECT * FROM Participants WHERE ConferenceSid = 'CF1' AND CallSid = 'CA1'",
            (),
            [
                "SCAN Participants: fetch each row by its key (one request per key); "
                "API filter ConferenceSid =, CallSid ="
            ],
        ),
    ],
)
def test_plans_read_as_words(
    conn: driver.Connection, sql: str, params: tuple[object, ...], expected: list[str]
) -> None:
    assert explain(conn, sql, params) == expected


def test_no_sqlglot_warning(conn: driver.Connection, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        explain(conn, "SELECT * FROM Participants WHERE Muted = 1 LIMIT 3")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_shell_explain_prints_no_warning() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driver",
            "--sandbox",
            "--mode",
            "csv",
            "EXPLAIN QUERY PLAN SELECT * FROM Participants LIMIT 2",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "LIMIT pushed" in done.stdout and '"access"' not in done.stdout
