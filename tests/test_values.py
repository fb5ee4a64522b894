"""Value conversion: API → SQL decoders and SQL → API constraint values."""

from __future__ import annotations

import pytest

from driver.values import NO_MATCH, api_param, comparable, date_bound, decoder


@pytest.mark.parametrize(
    ("sql_type", "raw", "value"),
    [
        ("DATETIME", "Fri, 18 Feb 2011 19:26:50 +0000", "2011-02-18 19:26:50"),
        ("DATETIME", "Fri, 18 Feb 2011 21:26:50 +0200", "2011-02-18 19:26:50"),
        ("DATETIME", "2011-02-18T19:26:50Z", "2011-02-18 19:26:50"),
        ("DATETIME", None, None),
        ("DATETIME", "", None),
        ("BOOLEAN", True, 1),
        ("BOOLEAN", "false", 0),
        ("BOOLEAN", None, None),
        ("INTEGER", "1500", 1500),
        ("INTEGER", 7, 7),
        ("INTEGER", None, None),
        ("TEXT", 5, "5"),
        ("TEXT", {"a": 1}, '{"a":1}'),
        ("REAL", "1.5", 1.5),
    ],
)
def test_decoders(sql_type: str, raw: object, value: object) -> None:
    assert decoder(sql_type)(raw) == value
    assert type(decoder(sql_type)(raw)) is type(value)


@pytest.mark.parametrize(
    ("sql_type", "given", "expected"),
    [
        ("TEXT", "x", "x"),
        ("TEXT", 5, "5"),  # SQLite gives the literal TEXT affinity before comparing
        ("TEXT", None, NO_MATCH),
        ("TEXT", b"x", NO_MATCH),
        ("BOOLEAN", "1", 1),
        ("BOOLEAN", 2, NO_MATCH),
        ("BOOLEAN", "true", NO_MATCH),
        ("INTEGER", 1.5, NO_MATCH),
        ("DATETIME", 5, NO_MATCH),
    ],
)
def test_comparable_follows_sqlite_affinity(sql_type: str, given: object, expected: object) -> None:
    assert (
        comparable(sql_type, given) == expected
        if expected is not NO_MATCH
        else comparable(sql_type, given) is NO_MATCH
    )


def test_api_params() -> None:
    assert api_param("BOOLEAN", 1) == "true" and api_param("BOOLEAN", "0") == "false"
    assert api_param("TEXT", 12) == "12"
    assert api_param("BOOLEAN", 3) is NO_MATCH


@pytest.mark.parametrize(
    ("given", "bound"),
    [
        ("2026-11-18 10:00:00", "2026-11-18"),
        ("2026-11-18", "2026-11-18"),
        ("2026-11", None),
        ("2026-02-30 00:00:00", None),
        (5, None),
        (None, None),
    ],
)
def test_date_bound_is_a_superset_or_nothing(given: object, bound: str | None) -> None:
    assert date_bound(given) == bound
