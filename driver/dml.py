"""Check INSERT/UPDATE/DELETE statements before SQLite runs them (parsed with sqlglot).

SQLite would only reach a bad column after it had already scanned rows and,
for a multi-row statement, possibly sent some writes.  Checking the statement
first means a read-only column in SET or an unknown INSERT column is rejected
before anything is sent.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from .errors import NotSupportedError, ProgrammingError
from .schema import Catalog, Table
from .vtable import WriteContext

_DML = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(insert|update|delete|replace)\b", re.I | re.S
)


def is_dml(sql: str) -> bool:
    """Cheap check: does the statement start with INSERT/UPDATE/DELETE/REPLACE?"""
    return _DML.match(sql) is not None


def check(sql: str, catalog: Catalog) -> WriteContext:
    """Validate a DML statement against schema/; return what the vtable needs to know."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except sqlglot.errors.SqlglotError:
        return WriteContext()  # let SQLite report the syntax error in its own words
    if len(statements) != 1:
        return WriteContext()
    stmt = statements[0]
    target = stmt.this if isinstance(stmt, exp.Insert | exp.Update | exp.Delete) else None
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        return WriteContext()
    table = catalog.table(target.name)
    if table is None:
        return WriteContext()  # sys_* views or unknown: SQLite says what is wrong
    if isinstance(stmt, exp.Update):
        return WriteContext(set_columns=_check_update(catalog, table, stmt))
    if isinstance(stmt, exp.Insert):
        _check_insert(catalog, table, stmt)
    elif isinstance(stmt, exp.Delete) and not table.delete:
        raise NotSupportedError(f"DELETE FROM {table.name} is not supported by the provider")
    return WriteContext()


def _check_update(catalog: Catalog, table: Table, stmt: exp.Update) -> tuple[str, ...]:
    proc = catalog.procedure(table.update) if table.update else None
    if proc is None:
        raise NotSupportedError(f"UPDATE {table.name} is not supported")
    names: list[str] = []
    for assignment in stmt.expressions:
        left = assignment.this if isinstance(assignment, exp.EQ) else None
        if not isinstance(left, exp.Column):
            continue
        col = next(
            (c for c in catalog.all_columns(table) if c.name.lower() == left.name.lower()), None
        )
        if col is None:
            continue  # SQLite reports "no such column"
        if not col.writable or proc.input(col.name) is None:
            writable = [
                c.name for c in catalog.all_columns(table) if c.writable and proc.input(c.name)
            ]
            raise ProgrammingError(
                f"UPDATE {table.name}: column {col.name} is read-only; "
                f"writable columns: {', '.join(writable)}"
            )
        names.append(col.name)
    return tuple(names)


def _check_insert(catalog: Catalog, table: Table, stmt: exp.Insert) -> None:
    proc = catalog.procedure(table.insert) if table.insert else None
    if proc is None:
        raise NotSupportedError(f"INSERT INTO {table.name} is not supported")
    schema = stmt.this
    if not isinstance(schema, exp.Schema):
        return
    for ident in schema.expressions:
        name = ident.name
        col = next((c for c in catalog.all_columns(table) if c.name.lower() == name.lower()), None)
        if col is not None and proc.input(col.name) is None:
            raise ProgrammingError(
                f"INSERT INTO {table.name}: column {col.name} cannot be set; it is filled in "
                f"by the provider (the columns INSERT accepts are the inputs of {proc.name})"
            )
