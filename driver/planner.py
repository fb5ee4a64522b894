"""Turn SQLite's ``BestIndexObject`` question into a :class:`Plan`.

The rules that keep results right (see the README's "How pushdown works"):

* A constraint is claimed only if its column declares the operator in
  ``schema/`` and the provider maps it.  Its usage is set by the
  constraint's own index.
* SQLite's recheck is omitted only for ``exact`` operators.  ``superset``
  ones (date bounds) are rechecked.
* IN lists arrive as one set in one ``Filter`` call.
* LIMIT/OFFSET are claimed only when every other constraint SQLite offered
  is claimed *and* omitted, and there is no ORDER BY (we never consume one).
* Nothing depends on right-hand values, which are unknown with bound
  parameters; values are inspected only in ``Filter``.
* Plans that push more cost less; a plan missing a required input costs so
  much that SQLite picks any alternative.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import apsw

from .schema import Table, TableMapping

_OPS = {
    apsw.SQLITE_INDEX_CONSTRAINT_EQ: "=",
    apsw.SQLITE_INDEX_CONSTRAINT_LT: "<",
    apsw.SQLITE_INDEX_CONSTRAINT_LE: "<=",
    apsw.SQLITE_INDEX_CONSTRAINT_GT: ">",
    apsw.SQLITE_INDEX_CONSTRAINT_GE: ">=",
}
_LIMIT = apsw.SQLITE_INDEX_CONSTRAINT_LIMIT
_OFFSET = apsw.SQLITE_INDEX_CONSTRAINT_OFFSET
# Names of the operators SQLite may offer, for EXPLAIN (those we never push included).
_OP_NAMES = {
    **_OPS,
    apsw.SQLITE_INDEX_CONSTRAINT_NE: "!=",
    apsw.SQLITE_INDEX_CONSTRAINT_LIKE: "LIKE",
    apsw.SQLITE_INDEX_CONSTRAINT_GLOB: "GLOB",
    apsw.SQLITE_INDEX_CONSTRAINT_REGEXP: "REGEXP",
    apsw.SQLITE_INDEX_CONSTRAINT_MATCH: "MATCH",
    apsw.SQLITE_INDEX_CONSTRAINT_IS: "IS",
    apsw.SQLITE_INDEX_CONSTRAINT_ISNOT: "IS NOT",
    apsw.SQLITE_INDEX_CONSTRAINT_ISNULL: "IS NULL",
    apsw.SQLITE_INDEX_CONSTRAINT_ISNOTNULL: "IS NOT NULL",
}

COST_FETCH = 10.0
COST_CHILD_LIST = 100.0
COST_LIST = 10_000.0
COST_FANOUT = 5_000_000.0
COST_IMPOSSIBLE = 1e15


@dataclass(frozen=True)
class Pushed:
    """One constraint handed to the provider: ``column op argv[arg]``."""

    column: str
    op: str  # "=", "IN", "<", "<=", ">", ">="
    arg: int  # index into Filter's argument list
    exact: bool


@dataclass(frozen=True)
class Plan:
    """What one ``Filter`` call must fetch."""

    access: str  # "fetch" | "list" | "fanout" | "impossible"
    pushed: tuple[Pushed, ...] = ()
    limit_arg: int | None = None
    offset_arg: int | None = None
    missing: tuple[str, ...] = field(default=())
    # For EXPLAIN only: the table, constraints SQLite checks itself, and why LIMIT stays local.
    table: str = ""
    rechecked: tuple[str, ...] = ()
    limit_note: str = ""

    def encode(self) -> str:
        """Serialise for ``idxStr``."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Plan:
        """Inverse of :meth:`encode`."""
        raw = json.loads(text)
        raw["pushed"] = tuple(Pushed(**p) for p in raw["pushed"])
        raw["missing"] = tuple(raw["missing"])
        raw["rechecked"] = tuple(raw.get("rechecked", ()))
        return cls(**raw)


def path_inputs(path: str | None) -> list[str]:
    """Placeholder names in a path template, e.g. ['ConferenceSid', 'CallSid']."""
    if not path:
        return []
    names: list[str] = []
    rest = path
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names


def _pushable(table: Table, mapping: TableMapping, column: str, op: str) -> str | None:
    """'exact' / 'superset' if ``column op`` can be sent to the provider, else None."""
    col = table.column(column)
    if col is None:
        return None
    how = col.push.get(op)
    if how is None:
        return None
    base_op = "=" if op == "IN" else op
    in_path = column in path_inputs(mapping.list) or column in path_inputs(mapping.fetch)
    in_fetch_by = any(column in cols for cols in mapping.fetch_by.values())
    if f"{column} {base_op}" in mapping.filters or (base_op == "=" and (in_path or in_fetch_by)):
        return how
    return None


def best_index(
    table: Table, mapping: TableMapping, info: apsw.IndexInfo, *, batched_in: bool = True
) -> bool:
    """Fill ``info`` with the best plan for ``table``; always returns True.

    With ``batched_in`` false, IN lists are taken one value per Filter call.
    """
    names = [c.name for c in table.columns]
    pushed: list[Pushed] = []
    rechecked: list[str] = []
    unusable = 0
    claimed: set[tuple[str, str]] = set()
    limit_i: int | None = None
    offset_i: int | None = None
    argv = 0

    for i in range(info.nConstraint):
        op_code = info.get_aConstraint_op(i)
        if op_code == _LIMIT:
            limit_i = i if info.get_aConstraint_usable(i) else None
            continue
        if op_code == _OFFSET:
            offset_i = i if info.get_aConstraint_usable(i) else None
            continue
        col_index = info.get_aConstraint_iColumn(i)
        op = _OPS.get(op_code)
        usable = info.get_aConstraint_usable(i)
        name = names[col_index] if 0 <= col_index < len(names) else "rowid"
        label = f"{name} {_OP_NAMES.get(op_code, f'op{op_code}')}"
        if not usable:
            unusable += 1  # a join term checked after this scan: LIMIT cannot be pushed
            continue
        if op is None or col_index < 0 or col_index >= len(names):
            rechecked.append(label)
            continue
        column = names[col_index]
        col = table.columns[col_index]
        if col.type == "TEXT" and info.get_aConstraint_collation(i).upper() != "BINARY":
            rechecked.append(f"{label} (COLLATE {info.get_aConstraint_collation(i)})")
            continue  # e.g. COLLATE NOCASE: the API compares differently
        is_in = batched_in and op == "=" and info.get_aConstraintUsage_in(i)
        push_op = "IN" if is_in and _pushable(table, mapping, column, "IN") else op
        how = _pushable(table, mapping, column, push_op)
        family = "=" if push_op in ("=", "IN") else push_op
        if how is None or (column, family) in claimed:
            rechecked.append(label)
            continue
        claimed.add((column, family))
        argv += 1
        info.set_aConstraintUsage_argvIndex(i, argv)
        exact = how == "exact"
        info.set_aConstraintUsage_omit(i, exact)
        if push_op == "IN":
            info.set_aConstraintUsage_in(i, True)
        if not exact:
            rechecked.append(f"{column} {push_op} (exact value)")
        pushed.append(Pushed(column=column, op=push_op, arg=argv - 1, exact=exact))

    eq_columns = {p.column for p in pushed if p.op in ("=", "IN")}
    access, missing = _access(mapping, eq_columns)

    limit_arg = offset_arg = None
    limit_note = ""
    if limit_i is not None:
        if access == "impossible":
            limit_note = "not pushed (the table cannot be listed this way)"
        elif rechecked or unusable:
            limit_note = "not pushed (SQLite rechecks a filter, so it must see every row)"
        elif info.nOrderBy:
            limit_note = "not pushed (ORDER BY is applied by SQLite after all rows arrive)"
        else:
            argv += 1
            info.set_aConstraintUsage_argvIndex(limit_i, argv)
            info.set_aConstraintUsage_omit(limit_i, True)
            limit_arg = argv - 1
            limit_note = "pushed (stops fetching once enough rows arrived)"
            if offset_i is not None:
                argv += 1
                info.set_aConstraintUsage_argvIndex(offset_i, argv)
                info.set_aConstraintUsage_omit(offset_i, True)
                offset_arg = argv - 1

    plan = Plan(
        access=access,
        pushed=tuple(pushed),
        limit_arg=limit_arg,
        offset_arg=offset_arg,
        missing=missing,
        table=table.name,
        rechecked=tuple(rechecked),
        limit_note=limit_note,
    )
    info.idxStr = plan.encode()
    info.estimatedCost, info.estimatedRows = _estimate(plan, bool(path_inputs(mapping.list)[1:]))
    return True


def unconstrained_plan(mapping: TableMapping) -> Plan:
    """The plan for reading a whole table: what ``best_index`` picks with no constraints."""
    access, missing = _access(mapping, set())
    return Plan(access=access, missing=missing)


def _access(mapping: TableMapping, eq_columns: set[str]) -> tuple[str, tuple[str, ...]]:
    """Pick fetch / list / fanout from the equality constraints available."""
    fetch_needs = path_inputs(mapping.fetch)
    if fetch_needs and all(
        name in eq_columns or any(c in eq_columns for c in mapping.fetch_by.get(name, ()))
        for name in fetch_needs
    ):
        return "fetch", ()
    list_needs = path_inputs(mapping.list)
    missing = tuple(n for n in list_needs if n not in eq_columns)
    if not missing:
        return "list", ()
    if mapping.fanout and set(missing) == {mapping.fanout["into"]}:
        return "fanout", ()
    return "impossible", missing


def _estimate(plan: Plan, list_has_parent: bool) -> tuple[float, int]:
    """Cost and rows: fewer requests and more pushed constraints cost less.

    A list under a parent (one conference's participants) is far smaller than
    a top-level list, so a join pushes the parent key into the inner table.
    """
    narrowing = 1 + len(plan.pushed) + (1 if plan.limit_arg is not None else 0)
    if plan.access == "fetch":
        return COST_FETCH, 1
    if plan.access == "list":
        if list_has_parent:
            return COST_CHILD_LIST / narrowing, 20
        return COST_LIST / narrowing, 1000 // narrowing
    if plan.access == "fanout":
        return COST_FANOUT / narrowing, 100_000 // narrowing
    return COST_IMPOSSIBLE, 1_000_000_000
