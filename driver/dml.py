"""Check INSERT/UPDATE/DELETE statements before SQLite runs them (parsed with sqlglot).

SQLite would only reach a bad column after it had already scanned rows and,
for a multi-row statement, possibly sent some writes.  Checking the statement
first means a read-only column in SET or an unknown INSERT column is rejected
before anything is sent.  The rows of a multi-row ``INSERT ... VALUES`` are
validated as procedure inputs up front too, so one bad row cannot leave the
rows before it already sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from .errors import DatabaseError, NotSupportedError, ProgrammingError
from .schema import Catalog, Procedure, Table
from .statement import WriteContext
from .validation import Formats, validate_inputs

_UNKNOWN = object()  # a VALUES cell whose value is only known when SQLite evaluates it

_DML = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(insert|update|delete|replace)\b", re.I | re.S
)


def is_dml(sql: str) -> bool:
    """Cheap check: does the statement start with INSERT/UPDATE/DELETE/REPLACE?"""
    return _DML.match(sql) is not None


def check(
    sql: str,
    catalog: Catalog,
    params: Any = None,
    *,
    safe_updates: bool = True,
    formats: Formats | None = None,
    supported: Callable[[str], object] | None = None,
) -> WriteContext:
    """Validate a DML statement against schema/; return what the vtable needs to know.

    ``params`` (the statement's bindings, optional) lets the rows of a multi-row
    ``INSERT ... VALUES`` that use ``?`` or ``:name`` be validated up front as well.
    With ``safe_updates``, an UPDATE or DELETE without WHERE is refused (every
    write to these tables places, changes or ends live calls).
    """
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except (sqlglot.errors.SqlglotError, RecursionError):
        match = _DML.match(sql)
        if safe_updates and match and match.group(1).lower() in ("update", "delete"):
            raise ProgrammingError(
                f"{match.group(1).upper()}: this statement could not be read (check its "
                "syntax); confsql must see its WHERE clause before anything is sent "
                "(SafeUpdates), so nothing was sent"
            ) from None
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
    if isinstance(stmt, exp.Insert):
        _check_insert(catalog, table, stmt, params, formats)
        _supported(supported, "INSERT INTO", table, table.insert)
        return WriteContext()
    if isinstance(stmt, exp.Delete) and not table.delete:
        raise NotSupportedError(f"DELETE FROM {table.name} is not supported by the provider")
    is_update = isinstance(stmt, exp.Update)
    _supported(
        supported,
        "UPDATE" if is_update else "DELETE FROM",
        table,
        table.update if is_update else table.delete,
    )
    set_columns = _check_update(catalog, table, stmt) if isinstance(stmt, exp.Update) else None
    if safe_updates and not stmt.args.get("where"):
        verb = "UPDATE" if isinstance(stmt, exp.Update) else "DELETE FROM"
        effect = "change" if isinstance(stmt, exp.Update) else "hang up"
        raise ProgrammingError(
            f"{verb} {table.name} without WHERE would {effect} every row (live calls "
            "included), so it was refused and nothing was sent. Add a WHERE clause; to mean "
            "every row, write WHERE 1, or connect with SafeUpdates=false."
        )
    return WriteContext(set_columns=set_columns)


def _supported(
    check: Callable[[str], object] | None, verb: str, table: Table, procedure: str | None
) -> None:
    """NotSupportedError naming the write when the provider lacks its procedure."""
    if check is None or procedure is None:
        return
    try:
        check(procedure)
    except NotSupportedError as exc:
        raise NotSupportedError(f"{verb} {table.name}: {exc.message}") from None


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


def _check_insert(
    catalog: Catalog, table: Table, stmt: exp.Insert, params: Any, formats: Formats | None
) -> None:
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
    _check_insert_rows(proc, stmt, params, formats)


def _check_insert_rows(
    proc: Procedure, stmt: exp.Insert, params: Any, formats: Formats | None
) -> None:
    """Validate every row of a multi-row INSERT ... VALUES before any is sent.

    Each row becomes one procedure call; without this check the rows before a
    bad one would already have been sent when SQLite reached it.  Cells that
    are expressions (or placeholders without bindings) are left to the
    per-row check, which still runs before that row's call.
    """
    schema, values = stmt.this, stmt.expression
    if not isinstance(schema, exp.Schema) or not isinstance(values, exp.Values):
        return
    if len(values.expressions) < 2 or stmt.args.get("returning") or stmt.args.get("with"):
        return
    names = [ident.name for ident in schema.expressions]
    if any(proc.input(name) is None for name in names):
        return  # reported by _check_insert or by SQLite
    positions = _placeholder_positions(values)
    if positions is None:
        return
    for number, row in enumerate(values.expressions, start=1):
        cells = row.expressions if isinstance(row, exp.Tuple) else [row]
        if len(cells) != len(names):
            return  # SQLite reports the column count mismatch
        row_values = [_cell(cell, positions, params) for cell in cells]
        if any(v is _UNKNOWN for v in row_values):
            continue
        args = {n: v for n, v in zip(names, row_values, strict=True) if v is not None}
        try:
            validate_inputs(proc, args, formats)
        except DatabaseError as exc:
            raise type(exc)(
                f"{exc.message} (INSERT row {number} of {len(values.expressions)}; no row was sent)"
            ) from None


def _placeholder_positions(values: exp.Values) -> dict[int, int] | None:
    """Index of each ``?`` in textual order; None when the numbering is unclear."""
    positions: dict[int, int] = {}
    named = False
    for node in values.find_all(exp.Placeholder, bfs=False):
        if node.this is None:
            positions[id(node)] = len(positions)
        else:
            named = True
    if named and positions:
        return None  # SQLite numbers mixed styles in its own way: leave it to SQLite
    return positions


def _cell(node: exp.Expression, positions: Mapping[int, int], params: Any) -> object:
    """The Python value of one VALUES cell, or _UNKNOWN."""
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return int(bool(node.this))  # SQLite's TRUE/FALSE are 1/0
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        inner = _cell(node.this, positions, params)
        return -inner if isinstance(inner, int | float) else _UNKNOWN
    if isinstance(node, exp.Literal):
        if node.is_string:
            return str(node.this)
        text = str(node.this)
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return _UNKNOWN
    if isinstance(node, exp.Placeholder):
        value: object = _UNKNOWN
        if node.this is None and isinstance(params, Sequence) and not isinstance(params, str):
            index = positions.get(id(node))
            if index is not None and index < len(params):
                value = params[index]
        elif node.this is not None and isinstance(params, Mapping):
            value = params.get(str(node.this), _UNKNOWN)
        if value is None or isinstance(value, str | int | float):
            return value  # bool is an int: SQLite binds it as 1/0
        return _UNKNOWN
    return _UNKNOWN
