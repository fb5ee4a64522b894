"""Postgres to SQLite translation (driver.serve.translate), and what runs in SQLite."""

from __future__ import annotations

import pytest

from driver.serve.translate import PgSyntaxError, Untranslatable, translate


@pytest.mark.parametrize(
    ("postgres", "sqlite"),
    [
        (
            'SELECT "Sid" FROM "Conferences" LIMIT 2 OFFSET 1',
            'SELECT "Sid" FROM "Conferences" LIMIT 2 OFFSET 1',
        ),
        (
            'SELECT "Sid"::text FROM "Conferences"',
            'SELECT CAST("Sid" AS TEXT) AS "Sid" FROM "Conferences"',
        ),
        ("SELECT x FROM t WHERE y ILIKE 'a%'", "SELECT x FROM t WHERE LOWER(y) LIKE LOWER('a%')"),
        ("SELECT x FROM t WHERE y = $2 AND z = $1", "SELECT x FROM t WHERE y = ? AND z = ?"),
        ("SELECT x FROM t WHERE k = ANY(ARRAY['a', 'b'])", "SELECT x FROM t WHERE k IN ('a', 'b')"),
        ("SELECT 't'::bool", "SELECT PG_BOOL('t') AS \"bool\""),
        ("SELECT count(*) FROM t", 'SELECT COUNT(*) AS "count" FROM t'),
        ("SELECT pg_catalog.version()", 'SELECT VERSION() AS "version"'),
    ],
)
def test_translations(postgres: str, sqlite: str) -> None:
    assert translate(postgres).sql == sqlite


def test_placeholders_keep_their_numbers() -> None:
    assert translate("SELECT x FROM t WHERE y = $2 AND z = $1 AND w = $2").order == [2, 1, 2]


def test_dashboard_time_functions() -> None:
    sql = translate(
        "SELECT date_trunc('hour', d), extract(dow from d), now() - interval '2 hours' FROM t"
    ).sql
    assert "STRFTIME('%Y-%m-%d %H:00:00', d)" in sql
    assert "STRFTIME('%w', d)" in sql
    assert "PG_DATETIME(CURRENT_TIMESTAMP, '-2 hours')" in sql


def test_quoted_identifiers_keep_their_case() -> None:
    assert '"Conferences"' in translate('SELECT * FROM "Conferences"').sql


def test_regex_on_catalog_names_is_case_insensitive() -> None:
    sql = translate(
        "SELECT 1 FROM pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(participants)$'"
    ).sql
    assert "PG_REGEX(c.relname, '^(participants)$', 1)" in sql


def test_reads_of_always_empty_catalogs_become_stubs() -> None:
    sql = translate("SELECT polname, 'd' = any(stxkind) FROM pg_catalog.pg_policy pol").sql
    assert sql == 'SELECT NULL AS "polname", NULL AS "?column?" WHERE FALSE'


def test_types_inferred_for_expressions() -> None:
    done = translate("SELECT count(*), 1 > 2, CAST(x AS timestamp), x FROM t")
    assert done.types == [20, 16, 1114, None]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("SELECT interval '1 day'", "interval"),
        ("SELECT x FROM t FOR UPDATE", "FOR UPDATE"),
        ("CREATE TABLE t (a int)", "CREATE"),
        ("SELECT x::inet FROM t", "inet"),
        ("SELECT x FROM t RETURNING y", None),
    ],
)
def test_untranslatable_constructs_are_named(sql: str, named: str | None) -> None:
    with pytest.raises((Untranslatable, PgSyntaxError)) as caught:
        translate(sql)
    if named:
        assert named.lower() in str(caught.value).lower()


def test_syntax_error() -> None:
    with pytest.raises(PgSyntaxError, match="syntax error"):
        translate("SELEC 1")
