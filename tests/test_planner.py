"""Plan choices, read from EXPLAIN QUERY PLAN (no request is sent while planning)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import driver
from driver.emulator import Emulator


def plans(conn: driver.Connection, sql: str, params: Any = ()) -> dict[str, dict[str, Any]]:
    """Table alias -> decoded plan (raw, from SQLite itself: the DB-API shows it in words)."""
    out = {}
    for *_, detail in conn.db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall():
        match = re.match(r"SCAN (\w+) VIRTUAL TABLE INDEX \d+:(\{.*\})", detail)
        if match:
            out[match.group(1)] = json.loads(match.group(2))
    return out


def pushed(plan: dict[str, Any]) -> set[tuple[str, str, bool]]:
    return {(p["column"], p["op"], p["exact"]) for p in plan["pushed"]}


def test_planning_sends_nothing(conn: driver.Connection, emu: Emulator) -> None:
    plans(conn, "SELECT * FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid")
    assert emu.requests == []


@pytest.mark.parametrize(
    ("sql", "limit_pushed"),
    [
        ("SELECT * FROM Conferences LIMIT 5", True),
        ("SELECT * FROM Conferences WHERE Status = ? LIMIT 5", True),
        ("SELECT * FROM Conferences ORDER BY DateCreated LIMIT 5", False),
        ("SELECT * FROM Conferences WHERE DateCreated > ? LIMIT 5", False),
        ("SELECT * FROM Conferences WHERE FriendlyName LIKE 'a%' LIMIT 5", False),
        ("SELECT * FROM Conferences WHERE Status != 'init' LIMIT 5", False),
        ("SELECT * FROM Conferences WHERE FriendlyName = ? COLLATE NOCASE LIMIT 5", False),
        ("SELECT * FROM Conferences WHERE rowid = ? LIMIT 5", False),
    ],
)
def test_limit_only_when_it_cannot_change_the_answer(
    conn: driver.Connection, sql: str, limit_pushed: bool
) -> None:
    params = ("x",) * sql.count("?")
    (plan,) = plans(conn, sql, params).values()
    assert (plan["limit_arg"] is not None) is limit_pushed


def test_exact_and_superset_constraints(conn: driver.Connection) -> None:
    (plan,) = plans(
        conn,
        "SELECT * FROM Conferences WHERE Status = ? AND DateCreated >= ? AND FriendlyName = ?",
        ("a", "b", "c"),
    ).values()
    assert pushed(plan) == {
        ("Status", "=", True),
        ("DateCreated", ">=", False),
        ("FriendlyName", "=", True),
    }


def test_in_list_is_one_set(conn: driver.Connection) -> None:
    (plan,) = plans(
        conn, "SELECT * FROM Conferences WHERE Sid IN (?, ?, ?)", ("a", "b", "c")
    ).values()
    assert plan["access"] == "fetch" and pushed(plan) == {("Sid", "IN", True)}


def test_join_pushes_the_key_into_participants(conn: driver.Connection) -> None:
    got = plans(
        conn,
        "SELECT * FROM Participants p JOIN Conferences c ON p.ConferenceSid = c.Sid WHERE c.Status = 'in-progress'",
    )
    assert got["c"]["access"] == "list" and ("Status", "=", True) in pushed(got["c"])
    assert got["p"]["access"] == "list" and pushed(got["p"]) == {("ConferenceSid", "=", True)}


def test_participants_without_conference_fans_out(conn: driver.Connection) -> None:
    (plan,) = plans(conn, "SELECT * FROM Participants WHERE Muted = 1").values()
    assert plan["access"] == "fanout"


def test_participant_by_label_is_a_fetch(conn: driver.Connection) -> None:
    (plan,) = plans(
        conn, "SELECT * FROM Participants WHERE ConferenceSid = ? AND Label = ?", ("a", "b")
    ).values()
    assert plan["access"] == "fetch"
